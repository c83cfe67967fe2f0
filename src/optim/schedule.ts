// Learning-rate schedules: lr(t) = base lr * factor(t), advanced once per step() (per epoch or
// per iteration, as the caller chooses), with a state dict for resuming.
import type { Optimizer } from './optimizer.js';

export abstract class LRScheduler {
  readonly baseLr: number;
  /** Number of step() calls so far. */
  lastEpoch = 0;

  constructor(readonly optimizer: Optimizer) {
    this.baseLr = optimizer.lr;
  }

  protected abstract factor(epoch: number): number;

  step(): void {
    this.lastEpoch++;
    this.optimizer.lr = this.baseLr * this.factor(this.lastEpoch);
  }

  get lr(): number {
    return this.optimizer.lr;
  }

  stateDict(): { lastEpoch: number; baseLr: number } {
    return { lastEpoch: this.lastEpoch, baseLr: this.baseLr };
  }

  loadStateDict(s: { lastEpoch: number }): void {
    this.lastEpoch = s.lastEpoch;
    this.optimizer.lr = this.baseLr * this.factor(this.lastEpoch);
  }
}

/** Multiplies the rate by gamma every stepSize epochs (StackGAN halves it every 100 epochs). */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    readonly stepSize: number,
    readonly gamma = 0.1,
  ) {
    super(optimizer);
    if (!Number.isInteger(stepSize) || stepSize < 1)
      throw new TypeError(`stepSize must be a positive integer, got ${stepSize}`);
  }
  protected factor(epoch: number): number {
    return this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

export class ExponentialLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    readonly gamma: number,
  ) {
    super(optimizer);
  }
  protected factor(epoch: number): number {
    return this.gamma ** epoch;
  }
}

/** Cosine from the base rate down to etaMin over tMax epochs. */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    readonly tMax: number,
    readonly etaMin = 0,
  ) {
    super(optimizer);
  }
  protected factor(epoch: number): number {
    const t = Math.min(epoch, this.tMax);
    const lr = this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
    return lr / this.baseLr;
  }
}

/** Linear change of the factor from start to end over totalIters (warm-up or linear decay). */
export class LinearLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    readonly startFactor = 1 / 3,
    readonly endFactor = 1,
    readonly totalIters = 5,
  ) {
    super(optimizer);
    optimizer.lr = this.baseLr * startFactor;
  }
  protected factor(epoch: number): number {
    const t = Math.min(epoch, this.totalIters) / this.totalIters;
    return this.startFactor + (this.endFactor - this.startFactor) * t;
  }
}

/** Any factor as a function of the epoch. */
export class LambdaLR extends LRScheduler {
  constructor(
    optimizer: Optimizer,
    readonly fn: (epoch: number) => number,
  ) {
    super(optimizer);
    optimizer.lr = this.baseLr * fn(0);
  }
  protected factor(epoch: number): number {
    return this.fn(epoch);
  }
}
