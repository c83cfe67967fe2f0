// io: safetensors checkpoints (tensors, modules, optimizer state), images, image grids and TensorBoard event files.
export {
  SafetensorsError,
  MAX_HEADER_SIZE,
  encodeSafetensors,
  decodeSafetensors,
  saveSafetensors,
  loadSafetensors,
  readSafetensorsHeader,
  type SafetensorsHeader,
  saveOptimizerState,
  loadOptimizerState,
  saveModule,
  loadModule,
  tensorsDigest,
  checkTensorsDigest,
  TENSORS_DIGEST_KEY,
  type TensorDict,
  type DecodeOptions,
  type Decoded,
} from './safetensors.js';
export {
  imageToTensor,
  tensorToImage,
  saveImage,
  formatOf,
  type ImageFormat,
  type ImageToTensorOptions,
} from './image.js';
export { makeGrid, saveGrid, type GridOptions } from './grid.js';
export { attentionOverlays, saveAttentionFigure, type AttentionRow } from './attention-figure.js';
export { SummaryWriter, readEvents, crc32c, maskedCrc32c, type ParsedEvent } from './tensorboard.js';
export {
  lineChartSvg,
  savePlot,
  niceTicks,
  formatTicks,
  type LineChartOptions,
  type PlotSeries,
  type Ticks,
} from './plot.js';
