// The Tensor: one native handle, typed accessors, and the differentiable ops as methods.
import { deviceCode, deviceName, type Device } from './device.js';
import { dtypeCode, dtypeName, viewOf, type DType, type TypedArray } from './dtype.js';
import { native, type Handle } from './native.js';
import { memoryFormatCode, type MemoryFormat } from './memory-format.js';
import type { Generator } from './random.js';
import { markScoped } from './scope.js';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | number;

/** Loss reductions, in libtorch's numbering. */
export const REDUCTION = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof REDUCTION;

function normDim(dim: number, rank: number): number {
  return dim < 0 ? dim + rank : dim;
}

export class Tensor implements Disposable {
  #h: Handle;
  #disposed = false;
  #shape: number[] | undefined;

  /** Wraps a native handle; user code creates tensors with tensor(), zeros(), randn(), ... */
  constructor(handle: Handle) {
    this.#h = handle;
    markScoped(this);
  }

  /** @internal The native handle (throws after dispose()). */
  get handle(): Handle {
    if (this.#disposed) throw new Error('Tensor was used after dispose()');
    return this.#h;
  }

  /**
   * @internal Takes over another tensor's native handle, freeing this one's; `other` ends up
   * disposed. Modules use it to move parameters between devices while references stay valid.
   */
  _adopt(other: Tensor): void {
    const h = other.handle;
    native.dispose(this.handle);
    this.#h = h;
    this.#shape = undefined;
    other.#disposed = true;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Frees the native tensor now (its memory goes once no other handle or graph uses it). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    native.dispose(this.#h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- metadata -------------------------------------------------------------------------------
  get shape(): number[] {
    this.#shape ??= native.shape(this.handle);
    return this.#shape.slice();
  }
  get rank(): number {
    this.#shape ??= native.shape(this.handle);
    return this.#shape.length;
  }
  size(dim: number): number {
    this.#shape ??= native.shape(this.handle);
    const d = normDim(dim, this.#shape.length);
    const s = this.#shape[d];
    if (s === undefined) throw new RangeError(`dimension ${dim} is out of range for a ${this.#shape.length}-d tensor`);
    return s;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return dtypeName(native.dtype(this.handle));
  }
  get device(): Device {
    return deviceName(native.device(this.handle));
  }
  toString(): string {
    return this.#disposed
      ? 'Tensor(disposed)'
      : `Tensor(shape=[${this.shape.join(', ')}], ${this.dtype}, ${this.device})`;
  }

  // ---- data out -------------------------------------------------------------------------------
  /** The single value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.handle));
  }
  /** A copy of the elements in row-major order (float16/bfloat16 as raw 16-bit words). */
  toTypedArray(): TypedArray {
    return viewOf(this.dtype, native.toBuffer(this.handle));
  }
  /** The elements as float32 values, whatever the dtype. */
  toFloat32Array(): Float32Array {
    const t = native.to(this.handle, dtypeCode('float32'), null);
    try {
      return new Float32Array(native.toBuffer(t));
    } finally {
      native.dispose(t);
    }
  }
  /** Nested arrays of numbers (booleans for bool tensors), like tensor.tolist() in PyTorch. */
  toArray(): unknown {
    const flat = this.toTypedArray();
    const dt = this.dtype;
    const half = dt === 'float16' || dt === 'bfloat16';
    const values: (number | boolean)[] = half
      ? Array.from(this.toFloat32Array())
      : Array.from(flat as ArrayLike<number | bigint>, (v) => (dt === 'bool' ? v !== 0 : Number(v)));
    const shape = this.shape;
    if (shape.length === 0) return values[0];
    let i = 0;
    const build = (d: number): unknown[] => {
      const n = shape[d] ?? 0;
      const out: unknown[] = [];
      for (let k = 0; k < n; k++) out.push(d === shape.length - 1 ? values[i++] : build(d + 1));
      return out;
    };
    return build(0);
  }

  // ---- conversion -----------------------------------------------------------------------------
  /** A tensor on another device and/or with another dtype (differentiable). */
  to(target: Device | DType | { device?: Device; dtype?: DType }): Tensor {
    let device: Device | undefined;
    let dtype: DType | undefined;
    if (typeof target === 'string') {
      if (target === 'cpu' || target.startsWith('cuda')) device = target as Device;
      else dtype = target as DType;
    } else {
      ({ device, dtype } = target);
    }
    return new Tensor(
      native.to(
        this.handle,
        dtype === undefined ? null : dtypeCode(dtype),
        device === undefined ? null : deviceCode(device),
      ),
    );
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }
  /** A tensor sharing storage but cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }
  /** The tensor laid out densely in a memory format (row-major by default); shares storage when it already is. */
  contiguous(format: MemoryFormat = 'contiguous'): Tensor {
    return new Tensor(native.contiguous(this.handle, memoryFormatCode(format)));
  }
  /** Whether the tensor is dense in that memory format (channels-last: 4-d tensors only). */
  isContiguousIn(format: MemoryFormat): boolean {
    return native.isContiguous(this.handle, memoryFormatCode(format));
  }
  /** A second handle to the same tensor (disposing one leaves the other valid). */
  alias(): Tensor {
    return new Tensor(native.alias(this.handle));
  }
  get isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }

  // ---- autograd -------------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }
  /** Marks this tensor as a leaf that collects gradients; returns this. */
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new handle each read; null when there is none). */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const create = opts.createGraph ?? false;
    native.backward(this.handle, gradient?.handle ?? null, opts.retainGraph ?? create, create);
  }

  // ---- in-place updates (never recorded by autograd) ------------------------------------------
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  fill_(v: Scalar): this {
    native.fill_(this.handle, v);
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  clamp_(min: number, max: number): this {
    native.clamp_(this.handle, min, max);
    return this;
  }
  /** this += alpha * x */
  addScaled_(x: Tensor, alpha: number): this {
    native.addScaled_(this.handle, x.handle, alpha);
    return this;
  }
  mul_(v: number): this {
    native.mulScalar_(this.handle, v);
    return this;
  }
  /** Fills with U(a, b) draws. */
  uniform_(a = 0, b = 1, generator?: Generator): this {
    return this.fillOnGenerator(generator, (h) => native.uniform_(h, a, b, generator?.handle ?? null));
  }
  /** Fills with N(mean, std) draws. */
  normal_(mean = 0, std = 1, generator?: Generator): this {
    return this.fillOnGenerator(generator, (h) => native.normal_(h, mean, std, generator?.handle ?? null));
  }
  /** Fills where the generator lives when that is another device (libtorch refuses the mix). */
  private fillOnGenerator(generator: Generator | undefined, fill: (h: Handle) => void): this {
    if (generator === undefined || deviceCode(generator.device) === deviceCode(this.device)) {
      fill(this.handle);
      return this;
    }
    const here = this.to(generator.device);
    fill(here.handle);
    native.copy_(this.handle, here.handle);
    here.dispose();
    return this;
  }
  /** this += weight * (end - this): an exponential moving average step. */
  lerp_(end: Tensor, weight: number): this {
    native.lerp_(this.handle, end.handle, weight);
    return this;
  }

  // ---- elementwise ----------------------------------------------------------------------------
  neg(): Tensor {
    return new Tensor(native.neg(this.handle));
  }
  exp(): Tensor {
    return new Tensor(native.exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(native.log(this.handle));
  }
  log1p(): Tensor {
    return new Tensor(native.log1p(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(native.sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return new Tensor(native.rsqrt(this.handle));
  }
  abs(): Tensor {
    return new Tensor(native.abs(this.handle));
  }
  sign(): Tensor {
    return new Tensor(native.sign(this.handle));
  }
  sin(): Tensor {
    return new Tensor(native.sin(this.handle));
  }
  cos(): Tensor {
    return new Tensor(native.cos(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(native.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return new Tensor(native.sigmoid(this.handle));
  }
  relu(): Tensor {
    return new Tensor(native.relu(this.handle));
  }
  gelu(): Tensor {
    return new Tensor(native.gelu(this.handle));
  }
  erf(): Tensor {
    return new Tensor(native.erf(this.handle));
  }
  erfinv(): Tensor {
    return new Tensor(native.erfinv(this.handle));
  }
  floor(): Tensor {
    return new Tensor(native.floor(this.handle));
  }
  ceil(): Tensor {
    return new Tensor(native.ceil(this.handle));
  }
  round(): Tensor {
    return new Tensor(native.round(this.handle));
  }
  reciprocal(): Tensor {
    return new Tensor(native.reciprocal(this.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(native.logicalNot(this.handle));
  }
  leakyRelu(slope = 0.01): Tensor {
    return new Tensor(native.leakyRelu(this.handle, slope));
  }
  elu(alpha = 1): Tensor {
    return new Tensor(native.elu(this.handle, alpha));
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return new Tensor(native.softplus(this.handle, beta, threshold));
  }
  hardtanh(min = -1, max = 1): Tensor {
    return new Tensor(native.hardtanh(this.handle, min, max));
  }
  square(): Tensor {
    return new Tensor(native.mul(this.handle, this.handle));
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(native.clamp(this.handle, min, max));
  }

  // ---- binary (broadcasting; a number is a scalar operand) ------------------------------------
  add(o: TensorOrScalar, alpha?: number): Tensor {
    if (typeof o === 'number') return new Tensor(native.addS(this.handle, o));
    if (alpha !== undefined) return new Tensor(native.addScaled(this.handle, o.handle, alpha));
    return new Tensor(native.add(this.handle, o.handle));
  }
  sub(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.subS(this.handle, o) : native.sub(this.handle, o.handle));
  }
  /** o - this */
  rsub(o: number): Tensor {
    return new Tensor(native.rsubS(this.handle, o));
  }
  mul(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.mulS(this.handle, o) : native.mul(this.handle, o.handle));
  }
  div(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.divS(this.handle, o) : native.div(this.handle, o.handle));
  }
  pow(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.powScalar(this.handle, o) : native.pow(this.handle, o.handle));
  }
  maximum(o: Tensor): Tensor {
    return new Tensor(native.maximum(this.handle, o.handle));
  }
  minimum(o: Tensor): Tensor {
    return new Tensor(native.minimum(this.handle, o.handle));
  }
  eq(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.eqS(this.handle, o) : native.eq(this.handle, o.handle));
  }
  ne(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.neS(this.handle, o) : native.ne(this.handle, o.handle));
  }
  lt(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.ltS(this.handle, o) : native.lt(this.handle, o.handle));
  }
  le(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.leS(this.handle, o) : native.le(this.handle, o.handle));
  }
  gt(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.gtS(this.handle, o) : native.gt(this.handle, o.handle));
  }
  ge(o: TensorOrScalar): Tensor {
    return new Tensor(typeof o === 'number' ? native.geS(this.handle, o) : native.ge(this.handle, o.handle));
  }
  logicalAnd(o: Tensor): Tensor {
    return new Tensor(native.logicalAnd(this.handle, o.handle));
  }
  logicalOr(o: Tensor): Tensor {
    return new Tensor(native.logicalOr(this.handle, o.handle));
  }
  matmul(o: Tensor): Tensor {
    return new Tensor(native.matmul(this.handle, o.handle));
  }
  bmm(o: Tensor): Tensor {
    return new Tensor(native.bmm(this.handle, o.handle));
  }
  outer(o: Tensor): Tensor {
    return new Tensor(native.outer(this.handle, o.handle));
  }
  /** Elements of a where this (bool) is true, else of b. */
  where(a: Tensor, b: Tensor): Tensor {
    return new Tensor(native.where(this.handle, a.handle, b.handle));
  }
  maskedFill(mask: Tensor, value: Scalar): Tensor {
    return new Tensor(native.maskedFill(this.handle, mask.handle, value));
  }

  // ---- reductions (dim omitted: over all elements) --------------------------------------------
  sum(dim?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.sum(this.handle, dims(dim), keepdim));
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.mean(this.handle, dims(dim), keepdim));
  }
  prod(): Tensor {
    return new Tensor(native.prod(this.handle));
  }
  /** Maximum over all elements. */
  max(): Tensor {
    return new Tensor(native.maxAll(this.handle));
  }
  min(): Tensor {
    return new Tensor(native.minAll(this.handle));
  }
  /** Maximum along a dimension: values and their indices. */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim ?? null, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmin(this.handle, dim ?? null, keepdim));
  }
  /** Variance; unbiased (n - 1) unless correction is 0. */
  var(dim?: number | number[], opts: { correction?: 0 | 1; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.var(this.handle, dims(dim), opts.correction ?? 1, opts.keepdim ?? false));
  }
  std(dim?: number | number[], opts: { correction?: 0 | 1; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.std(this.handle, dims(dim), opts.correction ?? 1, opts.keepdim ?? false));
  }
  /** Vector p-norm over dims (all elements when omitted). */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.norm(this.handle, p, dims(dim), keepdim));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return new Tensor(native.logsumexp(this.handle, dims(dim), keepdim));
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.logSoftmax(this.handle, dim));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.cumsum(this.handle, dim));
  }

  // ---- shape ----------------------------------------------------------------------------------
  reshape(...shape: number[]): Tensor {
    return new Tensor(native.reshape(this.handle, shape));
  }
  view(...shape: number[]): Tensor {
    return new Tensor(native.view(this.handle, shape));
  }
  permute(...order: number[]): Tensor {
    return new Tensor(native.permute(this.handle, order));
  }
  transpose(a: number, b: number): Tensor {
    return new Tensor(native.transpose(this.handle, a, b));
  }
  /** Transpose of a 2-d tensor. */
  t(): Tensor {
    return this.transpose(0, 1);
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(dim === undefined ? native.squeezeAll(this.handle) : native.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  /** Broadcasts to a larger shape without copying (-1 keeps a dimension). */
  expand(...shape: number[]): Tensor {
    return new Tensor(native.expand(this.handle, shape));
  }
  repeat(...reps: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, reps));
  }
  flatten(start = 0, end = -1): Tensor {
    return new Tensor(native.flatten(this.handle, start, end));
  }
  flip(...dimsToFlip: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dimsToFlip));
  }
  /** Splits into pieces of `size` along dim (the last may be smaller), or into the given sizes. */
  split(size: number | number[], dim = 0): Tensor[] {
    let sizes: number[];
    if (typeof size === 'number') {
      if (!Number.isInteger(size) || size < 1)
        throw new RangeError(`split size must be a positive integer, got ${size}`);
      const n = this.size(dim);
      sizes = [];
      for (let s = 0; s < n; s += size) sizes.push(Math.min(size, n - s));
    } else {
      sizes = size;
    }
    return native.split(this.handle, sizes, dim).map((h) => new Tensor(h));
  }
  chunk(n: number, dim = 0): Tensor[] {
    return native.chunk(this.handle, n, dim).map((h) => new Tensor(h));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.handle, dim, start, length));
  }
  /** The slice at `index` along dim, with that dimension removed. */
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  tril(k = 0): Tensor {
    return new Tensor(native.tril(this.handle, k));
  }
  triu(k = 0): Tensor {
    return new Tensor(native.triu(this.handle, k));
  }
  diag(k = 0): Tensor {
    return new Tensor(native.diag(this.handle, k));
  }
  /** Reduced QR decomposition of a matrix (or a batch of them). */
  qr(): { q: Tensor; r: Tensor } {
    const [q, r] = native.qr(this.handle);
    return { q: new Tensor(q), r: new Tensor(r) };
  }
  /**
   * Eigen-decomposition of a symmetric matrix (or a batch), reading its lower triangle: eigenvalues
   * in ascending order and orthonormal eigenvectors as the columns of `vectors` (LAPACK's syevd).
   */
  eigh(): { values: Tensor; vectors: Tensor } {
    const [values, vectors] = native.eigh(this.handle);
    return { values: new Tensor(values), vectors: new Tensor(vectors) };
  }
}

function dims(dim: number | number[] | undefined): number[] {
  if (dim === undefined) return [];
  return typeof dim === 'number' ? [dim] : dim;
}
