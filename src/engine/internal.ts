// For the layers above the engine (nn, optim, io): the public API plus the raw binding.
export * from './index.js';
export { native } from './native.js';
export { dtypeCode, dtypeName, viewOf } from './dtype.js';
export { deviceCode, deviceName } from './device.js';
