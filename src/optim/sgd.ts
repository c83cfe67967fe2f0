// Stochastic gradient descent with momentum (and Nesterov momentum), as torch.optim.SGD.
import { native, zerosLike, type Tensor } from '../engine/internal.js';
import { Optimizer, checkPositive, checkUnit } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  weightDecay: number;
  readonly nesterov: boolean;
  /** Per parameter: has its momentum buffer received a first gradient (PyTorch starts it there). */
  readonly started: boolean[];

  constructor(params: Iterable<Tensor>, o: SgdOptions) {
    super(params, o.lr);
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = o.nesterov ?? false;
    this.started = this.params.map(() => false);
    checkUnit('momentum', this.momentum);
    checkPositive('dampening', this.dampening);
    checkPositive('weightDecay', this.weightDecay);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new TypeError('Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected hyper(): Record<string, number> {
    const started = Object.fromEntries(this.started.map((s, i) => [`started.${i}`, Number(s)]));
    return { momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, ...started };
  }
  protected setHyper(h: Record<string, number>): void {
    this.started.forEach((_, i) => (this.started[i] = h[`started.${i}`] === 1));
    this.momentum = h.momentum ?? this.momentum;
    this.dampening = h.dampening ?? this.dampening;
    this.weightDecay = h.weightDecay ?? this.weightDecay;
  }

  step(): void {
    const buf = this.momentum > 0 ? this.stateList('momentum_buffer', zerosLike) : [];
    const updated = native.sgdStep(
      this.params.map((p) => p.handle),
      buf.map((t) => t.handle),
      this.started.map(Number),
      this.lr,
      this.momentum,
      this.dampening,
      this.weightDecay,
      this.nesterov,
    );
    updated.forEach((u, i) => (this.started[i] ||= u));
    this.stepCount++;
  }
}
