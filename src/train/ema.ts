// An exponential moving average of a generator's weights (Karras et al. 2018; Yazıcı et al. 2019):
// samples from the average are smoother and usually better than from the last iterate. Buffers
// (batch-norm statistics, spectral-norm vectors) are copied, not averaged: train.standingStats
// recomputes the statistics for the averaged weights before each checkpoint.
import { noGrad } from '../engine/index.js';
import type { Module } from '../nn/index.js';

export class ExponentialMovingAverage<M extends Module> {
  readonly shadow: M;

  /**
   * `warmup`: the decay at step t (updates before this one) is min(decay, (1 + t) / (10 + t)), as
   * TensorFlow's ExponentialMovingAverage with num_updates: without it the average after t steps
   * still holds decay^t of G's initial weights (11 % after 2,200 steps at 0.999), so a short run's
   * samples come out grey.
   */
  constructor(
    readonly source: M,
    build: () => M,
    readonly decay: number,
    readonly warmup = false,
  ) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
    this.shadow = build();
    this.shadow.loadStateDict(source.stateDict());
    this.shadow.requiresGrad_(false).eval();
  }

  /** A recipe's average from its optim config (emaSchema), or null when `ema` is 0. */
  static fromConfig<M extends Module>(
    source: M,
    build: () => M,
    o: { ema: number; emaWarmup: boolean },
  ): ExponentialMovingAverage<M> | null {
    return o.ema > 0 ? new ExponentialMovingAverage(source, build, o.ema, o.emaWarmup) : null;
  }

  /** The decay of the update at `step` (the updates before it). */
  decayAt(step: number): number {
    return this.warmup ? Math.min(this.decay, (1 + step) / (10 + step)) : this.decay;
  }

  /** shadow ← d · shadow + (1 − d) · source, d = decayAt(step). */
  update(step: number): void {
    const d = this.decayAt(step);
    noGrad(() => {
      const src = this.source.namedParameters();
      const dst = new Map(this.shadow.namedParameters());
      for (const [k, p] of src) dst.get(k)!.lerp_(p, 1 - d);
      const bsrc = new Map(this.source.namedBuffers());
      for (const [k, b] of this.shadow.namedBuffers()) b.copy_(bsrc.get(k)!);
    });
  }
}
