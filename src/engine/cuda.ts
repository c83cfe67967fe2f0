// Backend settings: CUDA availability, synchronisation, memory statistics, cuDNN/TF32 switches; CPU
// threads and the CPU allocator.
import { deviceCode, type Device } from './device.js';
import { native } from './native.js';

/** A CUDA device's index, from the index itself or its name ('cuda', 'cuda:N'). */
function cudaIndex(device: number | Device): number {
  if (typeof device === 'number') return device;
  const i = deviceCode(device);
  if (i < 0) throw new TypeError(`'${device}' is not a CUDA device`);
  return i;
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for all queued GPU work (for timing). */
  synchronize: (): void => native.cudaSynchronize(),
  /** Bytes allocated and reserved by libtorch's caching allocator on one device. */
  memoryStats: (device: number | Device = 0) => native.cudaMemoryStats(cudaIndex(device)),
  resetPeakMemoryStats: (device: number | Device = 0): void => native.cudaResetPeak(cudaIndex(device)),
  emptyCache: (): void => native.cudaEmptyCache(),
  setCudnnBenchmark: (on: boolean): void => native.setCudnnBenchmark(on),
  setAllowTF32: (on: boolean): void => native.setAllowTF32(on),
};

/** The libtorch the addon was built against, and its thread count. */
export function backendInfo() {
  return native.version();
}

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

let retained: boolean | undefined;

/**
 * Keeps freed CPU memory in the process for reuse instead of returning it to the system (glibc
 * only): CPU training and evaluation allocate the same large activations every step, and
 * page-faulting them in afresh cost up to a third of a step (measured: AttnGAN's system time 28.8 s
 * → 4.7 s for the same 4 steps). The process keeps its peak memory resident, so the trainer, `eval`
 * and `sample` call it, the long-running server does not. CREATIVEAI_MALLOC=system turns it off.
 * Returns whether it is in effect; calling it again changes nothing.
 */
export function retainFreedCpuMemory(): boolean {
  if (process.env.CREATIVEAI_MALLOC === 'system') return false;
  retained ??= native.retainFreedCpuMemory();
  return retained;
}
