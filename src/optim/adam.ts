// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019, decoupled weight decay).
// One native call updates every parameter: libtorch's fused kernel where available (CPU and CUDA
// from 2.4), else multi-tensor (foreach) ops.
import { native, zeros, zerosLike, type Tensor } from '../engine/internal.js';
import { Optimizer, checkPositive, checkUnit } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /**
   * Use libtorch's fused kernel where it has one (default true); false runs the multi-tensor
   * (foreach) update that libtorch 1.13 always runs.
   */
  fused?: boolean;
}

export class Adam extends Optimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  protected readonly decoupled: boolean = false;
  /** Whether the last step ran libtorch's fused kernel. */
  fused = false;
  readonly allowFused: boolean;

  constructor(params: Iterable<Tensor>, o: AdamOptions = {}) {
    super(params, o.lr ?? 1e-3);
    [this.beta1, this.beta2] = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? this.defaultWeightDecay();
    this.allowFused = o.fused ?? true;
    checkUnit('betas[0]', this.beta1);
    checkUnit('betas[1]', this.beta2);
    checkPositive('eps', this.eps);
    checkPositive('weightDecay', this.weightDecay);
  }

  protected defaultWeightDecay(): number {
    return 0;
  }

  protected hyper(): Record<string, number> {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }
  protected setHyper(h: Record<string, number>): void {
    this.beta1 = h.beta1 ?? this.beta1;
    this.beta2 = h.beta2 ?? this.beta2;
    this.eps = h.eps ?? this.eps;
    this.weightDecay = h.weightDecay ?? this.weightDecay;
  }

  step(): void {
    const m = this.stateList('exp_avg', zerosLike);
    const v = this.stateList('exp_avg_sq', zerosLike);
    const steps = this.stateList('step', (p) => zeros([], { device: p.device }));
    this.fused = native.adamStep(
      this.params.map((p) => p.handle),
      m.map((t) => t.handle),
      v.map((t) => t.handle),
      steps.map((t) => t.handle),
      this.lr,
      this.beta1,
      this.beta2,
      this.weightDecay,
      this.eps,
      this.decoupled,
      this.allowFused,
    );
    this.stepCount++;
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  protected override defaultWeightDecay(): number {
    return 0.01;
  }
}
