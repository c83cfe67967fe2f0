// data: dataset adapters, the preprocessed cache and the training input pipeline.
export * from './types.js';
export { CACHE_FORMAT, type CacheRecord, type Manifest, type SplitName } from './cache/format.js';
export { prepareCache, bboxCrop, type PrepareOptions, type PrepareResult } from './cache/prepare.js';
export { CacheReader } from './cache/reader.js';
export { DataLoader, type Batch, type LoaderOptions } from './loader.js';
export { assignSplit, defaultSplit } from './split.js';
export { randomCaptions } from './random-captions.js';
