// Module: a box in the architecture figure. Holds named parameters, buffers and sub-modules so
// that state dicts get stable hierarchical names (G.stage1.up0.conv.weight).
import { keep, noGrad, type Device, type DType, type MemoryFormat, type Tensor } from '../engine/index.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  missing: string[];
  unexpected: string[];
}

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  /** Registers a trainable tensor under `name` (kept out of tidy scopes, gradients on). */
  param(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    keep(t);
    if (!t.requiresGrad) t.requiresGrad_(true);
    this.#params.set(name, t);
    return t;
  }

  /** Registers state that is saved but not trained (running statistics, power-iteration vectors). */
  buffer(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    keep(t);
    this.#buffers.set(name, t);
    return t;
  }

  /** Registers a sub-module under `name`. */
  module<M extends Module>(name: string, m: M): M {
    this.#checkName(name);
    this.#children.set(name, m);
    return m;
  }

  /** Removes a registered parameter (spectral normalisation re-registers it under another name). */
  unregisterParam(name: string): Tensor | undefined {
    const t = this.#params.get(name);
    this.#params.delete(name);
    return t;
  }

  #checkName(name: string): void {
    if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)$/.test(name))
      throw new TypeError(`Invalid parameter or module name '${name}'`);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name))
      throw new TypeError(`'${name}' is already registered on ${this.constructor.name}`);
  }

  children(): [string, Module][] {
    return [...this.#children];
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.#params) out.push([prefix + n, p]);
    for (const [n, m] of this.#children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.#buffers) out.push([prefix + n, b]);
    for (const [n, m] of this.#children) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** Parameters and buffers by name. The tensors are the module's own: clone to snapshot. */
  stateDict(): StateDict {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values in by name. Shapes must match. With strict (default), missing or unexpected
   * names are an error; otherwise they are reported back. With `fresh`, a larger module takes a
   * smaller one's state (growing): exactly the names `fresh` picks must be missing, nothing unexpected.
   */
  loadStateDict(
    sd: StateDict | Record<string, Tensor>,
    opts: { strict?: boolean; fresh?: (name: string) => boolean } = {},
  ): LoadResult {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !src.has(k));
    const unexpected = [...src.keys()].filter((k) => !own.has(k));
    const { fresh } = opts;
    if (fresh !== undefined) {
      const wrong = missing.filter((k) => !fresh(k));
      const loaded = [...own.keys()].filter((k) => fresh(k) && src.has(k));
      if (wrong.length > 0 || unexpected.length > 0 || loaded.length > 0)
        throw new Error(
          `State dict does not fit ${this.constructor.name} as its smaller part: missing [${wrong.join(', ')}], ` +
            `unexpected [${unexpected.join(', ')}], present for new parts [${loaded.join(', ')}]`,
        );
    } else if ((opts.strict ?? true) && (missing.length > 0 || unexpected.length > 0))
      throw new Error(
        `State dict does not match ${this.constructor.name}: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`,
      );
    noGrad(() => {
      for (const [k, t] of own) {
        const v = src.get(k);
        if (v === undefined) continue;
        const a = t.shape.join(',');
        const b = v.shape.join(',');
        if (a !== b) throw new Error(`State dict entry '${k}' has shape [${b}], expected [${a}]`);
        t.copy_(v);
      }
    });
    return { missing, unexpected };
  }

  /** Switches training behaviour (dropout, batch statistics) for this module and its children. */
  train(on = true): this {
    this.training = on;
    for (const m of this.#children.values()) m.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Runs fn in eval mode (sampling, evaluation during training) and restores the previous mode. */
  inEvalMode<T>(fn: () => T): T {
    const was = this.training;
    this.eval();
    try {
      return fn();
    } finally {
      this.train(was);
    }
  }

  /**
   * Moves (or casts) every parameter and buffer in place; references to them stay valid.
   * `{ memoryFormat: 'channelsLast' }` lays out every 4-d parameter and buffer (convolution
   * weights) channels-last instead, so that convolutions on channels-last inputs reorder nothing.
   */
  to(target: Device | DType | { memoryFormat: MemoryFormat }): this {
    if (typeof target === 'object') {
      const format = target.memoryFormat;
      noGrad(() => {
        for (const p of this.parameters()) {
          if (p.shape.length !== 4 || p.isContiguousIn(format)) continue;
          const laid = p.contiguous(format);
          const wanted = p.requiresGrad;
          p._adopt(laid.detach());
          laid.dispose();
          p.requiresGrad_(wanted);
        }
        for (const [, b] of this.namedBuffers()) if (b.shape.length === 4) b._adopt(b.contiguous(format));
      });
      return this;
    }
    noGrad(() => {
      for (const p of this.parameters()) {
        const moved = p.to(target);
        const leaf = moved.detach();
        moved.dispose();
        const wanted = p.requiresGrad;
        p._adopt(leaf);
        p.requiresGrad_(wanted);
      }
      for (const [, b] of this.namedBuffers()) {
        const floating = b.dtype.startsWith('float') || b.dtype === 'bfloat16';
        if (!(target === 'cpu' || target.startsWith('cuda')) && !floating) continue; // casts keep int buffers
        b._adopt(b.to(target));
      }
    });
    return this;
  }

  /** Clears parameter gradients. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Turns gradient tracking off (or on) for every parameter, e.g. to freeze Stage I. */
  requiresGrad_(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    // Through the children's own dispose(), so that layers holding derived tensors (the
    // spectrally normalised weight) free those too.
    for (const p of this.#params.values()) p.dispose();
    for (const b of this.#buffers.values()) b.dispose();
    for (const m of this.#children.values()) m.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
