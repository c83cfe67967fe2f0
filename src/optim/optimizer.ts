// Optimizer base: a parameter list, per-parameter state tensors by name, and a state dict that
// a checkpoint can store (safetensors for the tensors, JSON for the numbers).
import { keep, native, type Tensor } from '../engine/internal.js';

export interface OptimizerState {
  /** Hyper-parameters and the step counter. */
  scalars: Record<string, number>;
  /** State tensors, named `<state>.<parameter index>` (e.g. exp_avg.3). */
  tensors: Map<string, Tensor>;
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Current learning rate (schedulers change it). */
  lr: number;
  /** Number of step() calls so far. */
  stepCount = 0;
  readonly #state = new Map<string, Tensor[]>();

  protected constructor(params: Iterable<Tensor>, lr: number) {
    this.params = [...params];
    if (this.params.length === 0) throw new TypeError('Optimizer got an empty parameter list');
    for (const p of this.params)
      if (!p.requiresGrad) throw new TypeError(`Optimizer got a tensor that does not require grad: ${p.toString()}`);
    checkPositive('lr', lr, true);
    this.lr = lr;
  }

  /** Hyper-parameters to store beside the state (subclasses list theirs). */
  protected abstract hyper(): Record<string, number>;
  protected abstract setHyper(h: Record<string, number>): void;

  /** Applies one update from the accumulated gradients. */
  abstract step(): void;

  /** A per-parameter state list, created on first use by `init` (zeros like the parameter). */
  protected stateList(name: string, init: (p: Tensor) => Tensor): Tensor[] {
    let list = this.#state.get(name);
    if (list === undefined) {
      list = this.params.map((p) => keep(init(p)));
      this.#state.set(name, list);
    }
    return list;
  }

  /** Clears the gradients of every parameter (set to none, as PyTorch does by default). */
  zeroGrad(): void {
    native.zeroGrads(this.params.map((p) => p.handle));
  }

  /** zeroGrad, loss.backward(), step: one optimisation step of one loss. */
  backwardStep(loss: Tensor): void {
    this.zeroGrad();
    loss.backward();
    this.step();
  }

  /** Rescales gradients so that their global norm is at most maxNorm; returns the norm before. */
  clipGradNorm(maxNorm: number, normType = 2): number {
    return native.clipGradNorm(
      this.params.map((p) => p.handle),
      maxNorm,
      normType,
    );
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    for (const [name, list] of this.#state) list.forEach((t, i) => tensors.set(`${name}.${i}`, t));
    return { scalars: { ...this.hyper(), lr: this.lr, step: this.stepCount }, tensors };
  }

  /**
   * Restores state saved by stateDict() (the tensors are copied to each parameter's device). With
   * `keepSettings`, the rate and hyper-parameters stay this optimizer's and only the state tensors and
   * step count come from `sd`: a resumed run whose config changed a rate trains at the new one.
   */
  loadStateDict(sd: OptimizerState, o: { keepSettings?: boolean } = {}): void {
    const byName = new Map<string, Tensor[]>();
    for (const [key, t] of sd.tensors) {
      const m = /^(.+)\.(\d+)$/.exec(key);
      if (!m) throw new Error(`Unexpected optimizer state entry '${key}'`);
      const [, name, idx] = m as unknown as [string, string, string];
      const i = Number(idx);
      const p = this.params[i];
      if (p === undefined)
        throw new Error(`Optimizer state '${key}' refers to parameter ${i}, but there are ${this.params.length}`);
      if (!byName.has(name)) byName.set(name, new Array<Tensor>(this.params.length));
      byName.get(name)![i] = keep(likeParameter(t.to({ device: p.device }), p));
    }
    for (const [name, list] of byName) {
      if (list.some((t) => t === undefined))
        throw new Error(`Optimizer state '${name}' does not cover every parameter`);
      for (const t of this.#state.get(name) ?? []) t.dispose();
      this.#state.set(name, list);
    }
    const { lr, step, ...hyper } = sd.scalars;
    if (step !== undefined) this.stepCount = step;
    if (o.keepSettings) return;
    if (lr !== undefined) this.lr = lr;
    this.setHyper(hyper);
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    for (const list of this.#state.values()) for (const t of list) t.dispose();
    this.#state.clear();
  }
}

/**
 * A state tensor laid out as its parameter is: checkpoints store row-major bytes, and a parameter
 * may be channels-last (Module.to({ memoryFormat })), where the update kernels want both alike.
 */
function likeParameter(t: Tensor, p: Tensor): Tensor {
  if (t.shape.length !== 4 || p.shape.length !== 4 || p.isContiguous || !p.isContiguousIn('channelsLast')) return t;
  const laid = t.contiguous('channelsLast');
  t.dispose();
  return laid;
}

export function checkPositive(name: string, v: number, strict = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (strict && v === 0))
    throw new TypeError(
      `Expected ${name} to be a ${strict ? 'positive' : 'non-negative'} number but received ${String(v)}`,
    );
}

export function checkUnit(name: string, v: number): void {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new TypeError(`Expected ${name} in [0, 1) but received ${String(v)}`);
}
