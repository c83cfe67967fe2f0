// The fastest arithmetic and memory layout this machine's libtorch offers, for 'auto' settings
// (training's train.precision / train.memoryFormat, and inference). Measured on the CPU with
// `npm run bench:engine` and `npm run bench:models` (docs/results.md): with native bfloat16
// (AVX512-BF16 or AMX) bf16 autocast runs 1.5-1.7x float32 on libtorch 2.x; without it libtorch
// emulates bfloat16 and fp32 is faster. libtorch 1.13 gets fp32 in the default layout: its CPU
// bfloat16 path lacks fast kernels for some layers (docs/training.md).
import { cpuFeatures, type CpuFeatures } from './cpu.js';
import { backendInfo } from './cuda.js';
import type { Device } from './device.js';
import type { MemoryFormat } from './memory-format.js';

export type FastPrecision = 'fp32' | 'bf16';

export interface FastMode {
  precision: FastPrecision;
  memoryFormat: MemoryFormat;
  /** Why, in a sentence, for logs and run records. */
  reason: string;
}

export interface MachineFacts {
  cpu: CpuFeatures;
  /** libtorch's major version: 1.13's CPU bfloat16 and channels-last kernels are the slow ones. */
  torchMajor: number;
}

export function machineFacts(): MachineFacts {
  return { cpu: cpuFeatures(), torchMajor: backendInfo().major };
}

/** What 'auto' picks on a device. CUDA keeps float32 and the default layout (not measured here). */
export function fastestMode(device: Device, facts: MachineFacts = machineFacts()): FastMode {
  if (device !== 'cpu')
    return { precision: 'fp32', memoryFormat: 'contiguous', reason: 'CUDA: auto keeps fp32 (set bf16/tf32 to change)' };
  if (facts.torchMajor < 2)
    return {
      precision: 'fp32',
      memoryFormat: 'contiguous',
      reason:
        'libtorch 1.x: fp32 in the default layout (its CPU bfloat16 kernels are partial: the tag GAN ran 14x slower in bf16)',
    };
  const flags = facts.cpu.flags.filter((f) => f.includes('bf16')).join(', ');
  return facts.cpu.bf16
    ? {
        precision: 'bf16',
        memoryFormat: 'channelsLast',
        reason: `the CPU computes bfloat16 natively (${flags}): bf16 autocast, channels-last`,
      }
    : {
        precision: 'fp32',
        memoryFormat: 'channelsLast',
        reason: 'the CPU has no native bfloat16 (no avx512_bf16 or amx_bf16): fp32, channels-last',
      };
}
