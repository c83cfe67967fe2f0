// io: safetensors checkpoints (tensors, modules, optimizer state), images and image grids.
export {
  SafetensorsError,
  MAX_HEADER_SIZE,
  encodeSafetensors,
  decodeSafetensors,
  saveSafetensors,
  loadSafetensors,
  saveOptimizerState,
  loadOptimizerState,
  saveModule,
  loadModule,
  writeFileAtomicSync,
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
