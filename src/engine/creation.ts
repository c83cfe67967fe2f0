// Creating tensors: from JavaScript data, constants and ranges.
import { deviceCode, type Device } from './device.js';
import { dtypeCode, dtypeOfArray, isFloating, type DType } from './dtype.js';
import { native } from './native.js';
import { Tensor, type Scalar } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
}

type Nested = number | boolean | Nested[];

function checkShape(shape: readonly number[], what = 'shape'): number[] {
  if (!Array.isArray(shape))
    throw new TypeError(`Expected ${what} to be an array of integers but received ${typeof shape}`);
  for (const s of shape)
    if (!Number.isInteger(s) || s < 0)
      throw new TypeError(`Expected ${what} to hold non-negative integers but received [${shape.join(', ')}]`);
  return shape as number[];
}

function flatten(data: Nested, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) shape.push(data.length);
    else if (shape[depth] !== data.length)
      throw new TypeError(`Ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${data.length}`);
    for (const x of data) flatten(x, shape, out, depth + 1);
    return;
  }
  if (depth !== shape.length && out.length > 0)
    throw new TypeError(`Ragged nested array: a number at depth ${depth} where arrays were expected`);
  if (typeof data === 'boolean') out.push(data ? 1 : 0);
  else if (typeof data === 'number') out.push(data);
  else throw new TypeError(`Expected numbers or booleans in tensor data but received ${typeof data}`);
}

function hasBoolean(data: Nested): boolean {
  return Array.isArray(data) ? data.length > 0 && hasBoolean(data[0] as Nested) : typeof data === 'boolean';
}

/**
 * A tensor from nested arrays or a typed array (always copied).
 * @example tensor([[1, 2], [3, 4]]); tensor(new Float32Array(6), { shape: [2, 3] })
 */
export function tensor(data: Nested | ArrayBufferView, opts: TensorOptions & { shape?: number[] } = {}): Tensor {
  const device = deviceCode(opts.device ?? 'cpu');
  if (ArrayBuffer.isView(data)) {
    // A Uint16Array with a half dtype holds raw float16/bfloat16 bit patterns.
    const own =
      data instanceof Uint16Array && (opts.dtype === 'float16' || opts.dtype === 'bfloat16')
        ? opts.dtype
        : dtypeOfArray(data);
    const n = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const shape = checkShape(opts.shape ?? [n]);
    const h = native.fromBuffer(data, shape, dtypeCode(own), -1);
    const t = new Tensor(h);
    if ((opts.dtype === undefined || opts.dtype === own) && device === -1) return t;
    try {
      return t.to({ dtype: opts.dtype ?? own, device: opts.device ?? 'cpu' });
    } finally {
      t.dispose();
    }
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flatten(data, shape, flat, 0);
  if (opts.shape !== undefined) {
    checkShape(opts.shape);
    if (opts.shape.reduce((a, b) => a * b, 1) !== flat.length)
      throw new TypeError(`shape [${opts.shape.join(', ')}] does not fit ${flat.length} values`);
  }
  const dtype = opts.dtype ?? (hasBoolean(data) ? 'bool' : 'float32');
  // float64 holds every JavaScript number exactly (and integers up to 2^53); cast from there.
  const src = native.fromBuffer(new Float64Array(flat), opts.shape ?? shape, dtypeCode('float64'), -1);
  try {
    return new Tensor(native.to(src, dtypeCode(dtype), device));
  } finally {
    native.dispose(src);
  }
}

/** A 0-d tensor holding one value. */
export function scalar(v: Scalar, opts: TensorOptions = {}): Tensor {
  return full([], v, opts);
}

function code(opts: TensorOptions): [number, number] {
  return [dtypeCode(opts.dtype ?? 'float32'), deviceCode(opts.device ?? 'cpu')];
}

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.zeros(checkShape(shape), ...code(opts)));
}
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.ones(checkShape(shape), ...code(opts)));
}
export function empty(shape: number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.empty(checkShape(shape), ...code(opts)));
}
export function full(shape: number[], value: Scalar, opts: TensorOptions = {}): Tensor {
  const dtype = opts.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  return new Tensor(native.full(checkShape(shape), value, dtypeCode(dtype), deviceCode(opts.device ?? 'cpu')));
}
// The *Like functions keep t's memory layout too (a channels-last weight gets channels-last
// optimizer state), as PyTorch's do.
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(native.fullLike(t.handle, 0));
}
export function onesLike(t: Tensor): Tensor {
  return new Tensor(native.fullLike(t.handle, 1));
}
export function fullLike(t: Tensor, value: Scalar): Tensor {
  return new Tensor(native.fullLike(t.handle, value));
}
/** [start, end) in steps; int64 when all arguments are integers, as in PyTorch. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new RangeError('arange step must not be zero');
  const ints = [start, end, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (ints ? 'int64' : 'float32');
  return new Tensor(native.arange(start, end, step, dtypeCode(dtype), deviceCode(opts.device ?? 'cpu')));
}
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`linspace steps must be a non-negative integer`);
  return new Tensor(native.linspace(start, end, steps, ...code(opts)));
}
export function eye(n: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.eye(n, ...code(opts)));
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('cat() needs at least one tensor');
  return new Tensor(
    native.cat(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack() needs at least one tensor');
  return new Tensor(
    native.stack(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
/** Elementwise choice: a where cond is true, else b. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return cond.where(a, b);
}

export { isFloating };
