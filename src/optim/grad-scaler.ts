// Dynamic loss scaling for float16 training (Micikevicius et al. 2018, as torch.cuda.amp.GradScaler):
// the loss is multiplied by a large factor so that small gradients survive float16; gradients are
// divided by it again before the update. A step whose gradients overflowed (inf/NaN) is skipped
// and the scale halved; after `growthInterval` clean iterations the scale doubles.
// bfloat16 has float32's exponent range and needs none of this.
import { native, type Tensor } from '../engine/internal.js';
import type { Optimizer } from './optimizer.js';
import { checkPositive } from './optimizer.js';

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

export interface GradScalerState {
  scale: number;
  growthTracker: number;
  /** Absent in states saved before it was recorded. */
  overflows?: number;
}

export class GradScaler {
  /** The factor losses are multiplied by now. */
  scale: number;
  /** Clean iterations since the scale last changed. */
  growthTracker = 0;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  /** Gradients unscaled since the last update(), and whether any of them overflowed. */
  #unscaledSinceUpdate = 0;
  #overflowSinceUpdate = false;
  /** unscale() calls that found inf/NaN since construction (for logging). */
  overflows = 0;

  constructor(o: GradScalerOptions = {}) {
    this.scale = o.initScale ?? 2 ** 16;
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    checkPositive('initScale', this.scale, true);
    if (!(this.growthFactor > 1)) throw new TypeError(`growthFactor must be > 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1))
      throw new TypeError(`backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1)
      throw new TypeError(`growthInterval must be a positive integer, got ${this.growthInterval}`);
  }

  /** loss × scale, to back-propagate instead of the loss (a new tensor). */
  scaleLoss(loss: Tensor): Tensor {
    return loss.mul(this.scale);
  }

  /**
   * Divides the optimizer's current gradients by the scale, so that norms can be logged or clipped
   * before the update, and returns whether any of them is inf or NaN. Call it once per backward.
   */
  unscale(opt: Optimizer): boolean {
    const grads: Tensor[] = [];
    for (const p of opt.params) {
      const g = p.grad;
      if (g !== null) grads.push(g);
    }
    let found = false;
    try {
      if (grads.length > 0)
        found = native.ampUnscale(
          grads.map((g) => g.handle),
          1 / this.scale,
        );
    } finally {
      for (const g of grads) g.dispose();
    }
    this.#unscaledSinceUpdate++;
    if (found) {
      this.#overflowSinceUpdate = true;
      this.overflows++;
    }
    return found;
  }

  /** unscale() then the optimizer's step, unless the gradients overflowed; returns whether it stepped. */
  step(opt: Optimizer): boolean {
    if (this.unscale(opt)) return false;
    opt.step();
    return true;
  }

  /** Ends the iteration: backs off after an overflow in any update, grows after a clean run. */
  update(): void {
    if (this.#unscaledSinceUpdate === 0) return;
    const overflow = this.#overflowSinceUpdate;
    this.#unscaledSinceUpdate = 0;
    this.#overflowSinceUpdate = false;
    if (overflow) {
      this.scale *= this.backoffFactor;
      this.growthTracker = 0;
    } else if (++this.growthTracker >= this.growthInterval) {
      this.scale *= this.growthFactor;
      this.growthTracker = 0;
    }
  }

  stateDict(): GradScalerState {
    return { scale: this.scale, growthTracker: this.growthTracker, overflows: this.overflows };
  }

  loadStateDict(s: GradScalerState): void {
    checkPositive('scale', s.scale, true);
    this.scale = s.scale;
    this.growthTracker = s.growthTracker;
    this.overflows = s.overflows ?? 0;
    this.#unscaledSinceUpdate = 0;
    this.#overflowSinceUpdate = false;
  }
}
