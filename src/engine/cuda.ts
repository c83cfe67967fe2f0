// CUDA: availability, synchronisation, memory statistics and cuDNN/TF32 switches.
import { native } from './native.js';

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for all queued GPU work (for timing). */
  synchronize: (): void => native.cudaSynchronize(),
  /** Bytes allocated and reserved by libtorch's caching allocator on one device. */
  memoryStats: (index = 0) => native.cudaMemoryStats(index),
  resetPeakMemoryStats: (index = 0): void => native.cudaResetPeak(index),
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
