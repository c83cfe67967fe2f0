// CUDA: availability, synchronisation, memory statistics and cuDNN/TF32 switches.
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
