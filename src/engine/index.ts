// The tensor engine: one import for tensors, autograd, random numbers and memory scopes.
export { Tensor, REDUCTION, type Reduction, type Scalar, type TensorOrScalar } from './tensor.js';
export * from './creation.js';
export * from './random.js';
export { grad, type GradOptions } from './autograd.js';
export { autocast, autocastDtype, type AutocastDType } from './autocast.js';
export { tidy, keep, noGrad, enableGrad, isGradEnabled, liveTensors } from './scope.js';
export { cuda, backendInfo, retainFreedCpuMemory, setNumThreads } from './cuda.js';
export * as F from './functional.js';
export { type DType, DTYPES, isFloating } from './dtype.js';
export { type Device } from './device.js';
export { pickDevice } from './pick-device.js';
export { type MemoryFormat, MEMORY_FORMATS } from './memory-format.js';
export { cpuFeatures, parseCpuFeatures, type CpuFeatures } from './cpu.js';
export { fastestMode, machineFacts, type FastMode, type FastPrecision, type MachineFacts } from './fast-mode.js';
