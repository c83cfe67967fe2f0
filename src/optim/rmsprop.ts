// RMSprop (Tieleman & Hinton 2012), as in torch.optim.RMSprop; the original WGAN's optimizer.
import { native, zerosLike, type Tensor } from '../engine/internal.js';
import { Optimizer, checkPositive, checkUnit } from './optimizer.js';

export interface RmspropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

export class RMSprop extends Optimizer {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  readonly centered: boolean;

  constructor(params: Iterable<Tensor>, o: RmspropOptions = {}) {
    super(params, o.lr ?? 1e-2);
    this.alpha = o.alpha ?? 0.99;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.momentum = o.momentum ?? 0;
    this.centered = o.centered ?? false;
    checkUnit('alpha', this.alpha);
    checkPositive('eps', this.eps);
    checkPositive('weightDecay', this.weightDecay);
    checkUnit('momentum', this.momentum);
  }

  protected hyper(): Record<string, number> {
    return { alpha: this.alpha, eps: this.eps, weightDecay: this.weightDecay, momentum: this.momentum };
  }
  protected setHyper(h: Record<string, number>): void {
    this.alpha = h.alpha ?? this.alpha;
    this.eps = h.eps ?? this.eps;
    this.weightDecay = h.weightDecay ?? this.weightDecay;
    this.momentum = h.momentum ?? this.momentum;
  }

  step(): void {
    const sq = this.stateList('square_avg', zerosLike);
    const mom = this.momentum > 0 ? this.stateList('momentum_buffer', zerosLike) : [];
    const ga = this.centered ? this.stateList('grad_avg', zerosLike) : [];
    native.rmspropStep(
      this.params.map((p) => p.handle),
      sq.map((t) => t.handle),
      mom.map((t) => t.handle),
      ga.map((t) => t.handle),
      this.lr,
      this.alpha,
      this.eps,
      this.weightDecay,
      this.momentum,
    );
    this.stepCount++;
  }
}
