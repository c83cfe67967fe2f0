// An exponential moving average of a generator's weights (Karras et al. 2018; Yazıcı et al. 2019):
// samples from the average are smoother and usually better than from the last iterate. Buffers
// (batch-norm statistics, spectral-norm vectors) are copied, not averaged: train.standingStats
// recomputes the statistics for the averaged weights before each checkpoint.
import { noGrad } from '../engine/index.js';
import type { Module } from '../nn/index.js';

export class ExponentialMovingAverage<M extends Module> {
  readonly shadow: M;

  constructor(
    readonly source: M,
    build: () => M,
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
    this.shadow = build();
    this.shadow.loadStateDict(source.stateDict());
    this.shadow.requiresGrad_(false).eval();
  }

  /** shadow ← decay · shadow + (1 − decay) · source. */
  update(): void {
    noGrad(() => {
      const src = this.source.namedParameters();
      const dst = new Map(this.shadow.namedParameters());
      for (const [k, p] of src) dst.get(k)!.lerp_(p, 1 - this.decay);
      const bsrc = new Map(this.source.namedBuffers());
      for (const [k, b] of this.shadow.namedBuffers()) b.copy_(bsrc.get(k)!);
    });
  }
}
