// Which device a command runs on: train, sample, eval and serve all take `--device` and resolve it
// here, so that asking for a device libtorch cannot use fails at start with the reason.
import { cuda } from './cuda.js';
import type { Device } from './device.js';

/** Resolves which device to use: the option, else CUDA when available. */
export function pickDevice(d?: string): Device {
  if (d === undefined || d === 'auto') return cuda.isAvailable() ? 'cuda:0' : 'cpu';
  if (d === 'cuda') d = 'cuda:0';
  if (d === 'cpu' || /^cuda:\d+$/.test(d)) {
    if (d.startsWith('cuda') && !cuda.isAvailable())
      throw new Error('--device cuda was asked for, but libtorch sees no CUDA device (or was built without CUDA)');
    return d as Device;
  }
  throw new Error(`--device must be cpu, cuda or cuda:N; got '${d}'`);
}
