// Automatic mixed precision (Micikevicius et al. 2018): inside an autocast scope libtorch runs
// convolutions and matrix products in float16 or bfloat16 and keeps precision-sensitive ops
// (reductions, softmax, losses) in float32. Parameters and their gradients stay float32.
// Backward and grad() always run with autocast off (the addon sees to it).
import { deviceCode, type Device } from './device.js';
import { dtypeCode, dtypeName, type DType } from './dtype.js';
import { native } from './native.js';

export type AutocastDType = 'float16' | 'bfloat16';

/**
 * Runs fn with autocast on for the device's type (all CUDA devices, or the CPU) and restores the
 * previous state afterwards, also when fn throws. Synchronous, like tidy().
 * @example const loss = autocast('cuda', 'bfloat16', () => D.forward(G.forward(z)));
 */
export function autocast<T>(device: Device, dtype: AutocastDType, fn: () => T): T {
  const code = deviceCode(device);
  const [wasOn, prevDtype] = native.autocastEnter(code, dtypeCode(dtype));
  let result: T;
  try {
    result = fn();
  } finally {
    native.autocastExit(code, wasOn, prevDtype);
  }
  if (result instanceof Promise)
    throw new TypeError('autocast() takes a synchronous function: the region would end before the promise settles');
  return result;
}

/** The dtype autocast currently uses on this device's type, or null when it is off. */
export function autocastDtype(device: Device): DType | null {
  const code = native.autocastState(deviceCode(device));
  return code === null ? null : dtypeName(code);
}
