// The run's arithmetic: float32 (strict), TF32 (float32 storage, tensor-core matmuls and
// convolutions with a 10-bit mantissa on Ampere and later GPUs), or mixed precision (autocast) in
// bfloat16 or float16. float16 also gets dynamic loss scaling; bfloat16 keeps float32's exponent
// range and needs none.
import {
  MEMORY_FORMATS,
  autocast,
  backendInfo,
  cuda,
  fastestMode,
  machineFacts,
  noGrad,
  ones,
  type AutocastDType,
  type Device,
  type MachineFacts,
  type MemoryFormat,
  type Tensor,
} from '../engine/index.js';
import { GradScaler, type GradScalerState, type Optimizer } from '../optim/index.js';

export const PRECISIONS = ['fp32', 'tf32', 'bf16', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];
/** A config's train.precision: a precision, or 'auto' for the fastest the device computes. */
export type PrecisionSetting = Precision | 'auto';
export type MemoryFormatSetting = MemoryFormat | 'auto';

export interface ComputeMode {
  precision: Precision;
  memoryFormat: MemoryFormat;
  /** Where each came from, for the log and run.json. */
  reason: string;
}

/** Resolves train.precision and train.memoryFormat ('auto': engine/fast-mode.ts) for a device. */
export function resolveComputeMode(
  precision: PrecisionSetting,
  memoryFormat: MemoryFormatSetting,
  device: Device,
  facts: MachineFacts = machineFacts(),
  /** The model's measured preference where 'auto' would pick channels-last (RecipeFactory.memoryFormat). */
  preferred: MemoryFormat = 'channelsLast',
): ComputeMode {
  if (precision !== 'auto' && !PRECISIONS.includes(precision))
    throw new TypeError(`precision must be auto or one of ${PRECISIONS.join(', ')}; got '${precision}'`);
  if (memoryFormat !== 'auto' && !MEMORY_FORMATS.includes(memoryFormat))
    throw new TypeError(`memoryFormat must be auto or one of ${MEMORY_FORMATS.join(', ')}; got '${memoryFormat}'`);
  const fast = fastestMode(device, facts);
  const why: string[] = [];
  if (precision === 'auto' || memoryFormat === 'auto') why.push(`auto: ${fast.reason}`);
  const auto = fast.memoryFormat === 'channelsLast' ? preferred : fast.memoryFormat;
  if (memoryFormat === 'auto' && auto !== fast.memoryFormat)
    why.push(`the default layout for this model (measured faster than channels-last)`);
  if (precision !== 'auto') why.push(`precision ${precision} set by the config`);
  if (memoryFormat !== 'auto') why.push(`memory format ${memoryFormat} set by the config`);
  return {
    precision: precision === 'auto' ? fast.precision : precision,
    memoryFormat: memoryFormat === 'auto' ? auto : memoryFormat,
    reason: why.join('; '),
  };
}

const AUTOCAST: Record<Precision, AutocastDType | null> = { fp32: null, tf32: null, bf16: 'bfloat16', fp16: 'float16' };

export class MixedPrecision {
  readonly kind: Precision;
  readonly device: Device;
  /** Loss scaling, for float16 only. */
  readonly scaler: GradScaler | null;

  constructor(kind: Precision, device: Device) {
    if (!PRECISIONS.includes(kind))
      throw new TypeError(`precision must be one of ${PRECISIONS.join(', ')}; got '${kind}'`);
    this.kind = kind;
    this.device = device;
    this.scaler = kind === 'fp16' ? new GradScaler() : null;
    // A process-wide switch of libtorch: set for every run, so that runs in one process (the
    // precision benchmark) do not inherit each other's.
    if (device !== 'cpu') cuda.setAllowTF32(kind !== 'fp32');
    const dtype = AUTOCAST[kind];
    if (dtype !== null) {
      // Some builds refuse a dtype only when an op runs (libtorch 1.13 has no float16 autocast on
      // the CPU): find out now, not in the middle of a run.
      try {
        noGrad(() =>
          autocast(device, dtype, () => {
            using a = ones([2, 2], { device });
            a.matmul(a).dispose();
          }),
        );
      } catch (e) {
        throw new Error(
          `precision ${kind} is not available on ${device} with libtorch ${backendInfo().torch}: ${(e as Error).message.split('\n')[0]}${device === 'cpu' ? ' (use bf16 on the CPU)' : ''}`,
          { cause: e },
        );
      }
    }
  }

  /** Runs a training iteration's forward passes under autocast (as is for fp32). */
  run<T>(fn: () => T): T {
    const dtype = AUTOCAST[this.kind];
    return dtype === null ? fn() : autocast(this.device, dtype, fn);
  }

  /**
   * Back-propagates the loss (scaled under float16, then the optimizers' gradients unscaled) and
   * returns whether any of those gradients overflowed: the caller then skips its steps.
   */
  backward(loss: Tensor, ...opts: Optimizer[]): boolean {
    if (this.scaler === null) {
      loss.backward();
      return false;
    }
    {
      using scaled = this.scaler.scaleLoss(loss);
      scaled.backward();
    }
    let overflow = false;
    for (const opt of opts) overflow = this.scaler.unscale(opt) || overflow;
    return overflow;
  }

  /** The factor losses are scaled by (1 without a scaler), e.g. for a gradient penalty's grad(). */
  get lossScale(): number {
    return this.scaler?.scale ?? 1;
  }

  /** Ends an iteration: adjusts the loss scale; returns scalars worth logging. */
  endIteration(): Record<string, number> {
    if (this.scaler === null) return {};
    this.scaler.update();
    return { 'amp/scale': this.scaler.scale, 'amp/overflows': this.scaler.overflows };
  }

  /** What a checkpoint stores to resume the loss scale exactly (null without a scaler). */
  stateDict(): GradScalerState | null {
    return this.scaler?.stateDict() ?? null;
  }

  loadStateDict(s: GradScalerState | null | undefined): void {
    if (this.scaler !== null && s) this.scaler.loadStateDict(s);
  }
}
