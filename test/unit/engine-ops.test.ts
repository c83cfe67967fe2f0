// Engine ops against values derived by hand or from the formulas in PyTorch's documentation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  F,
  arange,
  cat,
  eye,
  full,
  linspace,
  liveTensors,
  manualSeed,
  ones,
  randn,
  scalar,
  stack,
  tensor,
  tidy,
  where,
  zeros,
  type DType,
  type Tensor,
} from '../../src/engine/index.js';

const START = liveTensors();

// ---- helpers ------------------------------------------------------------------------------------
/** Runs a test body inside tidy() so that every tensor it creates is freed. */
const scoped = (fn: () => void) => () => {
  tidy(fn);
};

/** Elements in row-major order as plain numbers (full precision for float64 and int64). */
function vals(t: Tensor): number[] {
  const dt = t.dtype;
  if (dt === 'float64' || dt === 'int32' || dt === 'uint8' || dt === 'int16' || dt === 'int8' || dt === 'bool')
    return Array.from(t.toTypedArray() as unknown as ArrayLike<number>, Number);
  if (dt === 'int64') return Array.from(t.toTypedArray() as BigInt64Array, Number);
  return Array.from(t.toFloat32Array());
}

function close(actual: unknown, expected: unknown, tol = 1e-5, path = ''): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${String(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => close((actual as unknown[])[i], e, tol, `${path}[${i}]`));
    return;
  }
  const a = actual as number;
  const e = expected as number;
  if (Number.isNaN(e)) {
    assert.ok(Number.isNaN(a), `${path}: expected NaN, got ${a}`);
    return;
  }
  assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${path}: expected ${e}, got ${a} (tol ${tol})`);
}

function closeT(t: Tensor, expected: unknown, tol = 1e-5): void {
  close(t.toArray(), expected, tol);
}

/** erf to ~1e-15 (Maclaurin series below 3, continued fraction above). */
function erf(x: number): number {
  const t = Math.abs(x);
  let r: number;
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 200; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-18) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 80; n >= 1; n--) f = n / 2 / (t + f);
    r = 1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  }
  return x < 0 ? -r : r;
}

const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
const variance = (a: number[], correction = 0): number => {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - correction);
};

// ---- creation -----------------------------------------------------------------------------------
describe('creation', () => {
  test(
    'nested arrays give float32 tensors of the right shape',
    scoped(() => {
      const t = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.deepEqual(t.shape, [2, 3]);
      assert.equal(t.rank, 2);
      assert.equal(t.numel, 6);
      assert.equal(t.dtype, 'float32');
      assert.equal(t.device, 'cpu');
      assert.equal(t.size(-1), 3);
      assert.deepEqual(t.toArray(), [
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.deepEqual(tensor([[[7]]]).shape, [1, 1, 1]);
      assert.deepEqual(tensor([]).shape, [0]);
      assert.equal(tensor([true, false]).dtype, 'bool');
      assert.deepEqual(tensor([true, false]).toArray(), [true, false]);
      assert.deepEqual(tensor([1, 2, 3, 4], { shape: [2, 2] }).toArray(), [
        [1, 2],
        [3, 4],
      ]);
    }),
  );

  test('ragged arrays and bad shapes are rejected', () => {
    assert.throws(() => tensor([[1, 2], [3]]), /Ragged/);
    assert.throws(() => tensor([1, 2, 3], { shape: [2, 2] }), /does not fit/);
    assert.throws(() => zeros([2, -1]), /non-negative/);
  });

  test(
    'typed arrays keep their own dtype unless one is given',
    scoped(() => {
      const cases: [ArrayBufferView, DType][] = [
        [new Float32Array([1.5, 2]), 'float32'],
        [new Float64Array([1.5, 2]), 'float64'],
        [new Int32Array([1, -2]), 'int32'],
        [new BigInt64Array([1n, -2n]), 'int64'],
        [new Uint8Array([1, 255]), 'uint8'],
      ];
      for (const [data, dt] of cases) {
        const t = tensor(data);
        assert.equal(t.dtype, dt);
        assert.deepEqual(t.shape, [2]);
      }
      assert.deepEqual(vals(tensor(new Uint8Array([1, 255]))), [1, 255]);
      assert.deepEqual(vals(tensor(new BigInt64Array([1n, -2n]))), [1, -2]);
      const shaped = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
      assert.deepEqual(shaped.toArray(), [
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const cast = tensor(new Float32Array([1.7, -1.7]), { dtype: 'int32' });
      assert.equal(cast.dtype, 'int32');
      assert.deepEqual(cast.toArray(), [1, -1]);
      // Views into a larger buffer start at their byte offset.
      assert.deepEqual(tensor(new Float32Array([0, 1, 2, 3, 4, 5]).subarray(2, 5)).toArray(), [2, 3, 4]);
      assert.deepEqual(tensor(new Int32Array([7, 8, 9]).subarray(1), { shape: [2, 1] }).toArray(), [[8], [9]]);
      assert.throws(() => tensor(new Uint16Array([1])), /Unsupported typed array/);
      // The data is copied: changing the source afterwards does not change the tensor.
      const src = new Float32Array([1, 2]);
      const t = tensor(src);
      src[0] = 9;
      assert.deepEqual(t.toArray(), [1, 2]);
    }),
  );

  test(
    'every dtype round-trips its values',
    scoped(() => {
      const expected: Record<string, unknown[]> = {
        float32: [0, 1, 2.5, -3],
        float64: [0, 1, 2.5, -3],
        float16: [0, 1, 2.5, -3],
        bfloat16: [0, 1, 2.5, -3],
        int64: [0, 1, 2, -3],
        int32: [0, 1, 2, -3],
        uint8: [0, 1, 2, 253],
        bool: [false, true, true, true],
      };
      for (const [dt, want] of Object.entries(expected)) {
        const t = tensor([0, 1, 2.5, -3], { dtype: dt as DType });
        assert.equal(t.dtype, dt);
        assert.deepEqual(t.toArray(), want, dt);
      }
      // Rounding of the 16-bit float types, and their raw words.
      assert.deepEqual(tensor([1 / 3], { dtype: 'float16' }).toArray(), [0.333251953125]);
      assert.deepEqual(tensor([1 / 3], { dtype: 'bfloat16' }).toArray(), [0.333984375]);
      assert.deepEqual(
        Array.from(tensor([1, -2], { dtype: 'float16' }).toTypedArray() as Uint16Array),
        [0x3c00, 0xc000],
      );
      assert.deepEqual(
        Array.from(tensor([1, -2], { dtype: 'bfloat16' }).toTypedArray() as Uint16Array),
        [0x3f80, 0xc000],
      );
      assert.ok(tensor([1], { dtype: 'int64' }).toTypedArray() instanceof BigInt64Array);
    }),
  );

  test(
    'item, scalar and large integers',
    scoped(() => {
      assert.equal(scalar(3.5).item(), 3.5);
      assert.deepEqual(scalar(3.5).shape, []);
      assert.equal(tensor([[42]]).item(), 42);
      assert.equal(tensor([2 ** 40 + 1], { dtype: 'int64' }).item(), 2 ** 40 + 1);
      assert.equal(tensor([0.1], { dtype: 'float64' }).item(), 0.1);
      assert.throws(() => tensor([1, 2]).item(), /one element/);
    }),
  );

  test(
    'to(dtype) converts like PyTorch (truncation toward zero for integers)',
    scoped(() => {
      const f = tensor([-2.7, -0.5, 0.5, 2.7]);
      assert.deepEqual(f.to('int64').toArray(), [-2, 0, 0, 2]);
      assert.equal(f.to('int64').dtype, 'int64');
      assert.deepEqual(f.to('bool').toArray(), [true, true, true, true]);
      assert.equal(f.to('float64').dtype, 'float64');
      close(vals(f.to('float64')), [-2.7, -0.5, 0.5, 2.7], 1e-6);
      assert.deepEqual(tensor([1, 0, 3], { dtype: 'int64' }).float().toArray(), [1, 0, 3]);
      assert.equal(tensor([1.5]).long().dtype, 'int64');
      assert.equal(tensor([1], { dtype: 'float64' }).to({ dtype: 'float16' }).dtype, 'float16');
    }),
  );

  test(
    'constant and range constructors',
    scoped(() => {
      assert.deepEqual(zeros([2, 2]).toArray(), [
        [0, 0],
        [0, 0],
      ]);
      assert.deepEqual(ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
      assert.equal(ones([3], { dtype: 'int32' }).dtype, 'int32');
      assert.deepEqual(full([2], 7).toArray(), [7, 7]);
      assert.equal(full([2], true).dtype, 'bool');
      const r = arange(5);
      assert.equal(r.dtype, 'int64');
      assert.deepEqual(r.toArray(), [0, 1, 2, 3, 4]);
      assert.deepEqual(arange(1, 7, 2).toArray(), [1, 3, 5]);
      const fr = arange(0, 1, 0.25);
      assert.equal(fr.dtype, 'float32');
      assert.deepEqual(fr.toArray(), [0, 0.25, 0.5, 0.75]);
      assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
      assert.deepEqual(eye(3).toArray(), [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]);
    }),
  );
});

// ---- elementwise ------------------------------------------------------------------------------
describe('arithmetic', () => {
  test(
    'binary ops broadcast',
    scoped(() => {
      const a = tensor([[1], [2]]); // [2, 1]
      const b = tensor([10, 20, 30]); // [3]
      assert.deepEqual(a.add(b).toArray(), [
        [11, 21, 31],
        [12, 22, 32],
      ]);
      assert.deepEqual(b.sub(a).toArray(), [
        [9, 19, 29],
        [8, 18, 28],
      ]);
      assert.deepEqual(a.mul(b).toArray(), [
        [10, 20, 30],
        [20, 40, 60],
      ]);
      closeT(b.div(a), [
        [10, 20, 30],
        [5, 10, 15],
      ]);
      assert.deepEqual(a.add(b, 2).toArray(), [
        [21, 41, 61],
        [22, 42, 62],
      ]);
      assert.deepEqual(
        tensor([2, 3])
          .pow(tensor([3, 2]))
          .toArray(),
        [8, 9],
      );
      assert.deepEqual(
        tensor([1, 5])
          .maximum(tensor([3, 2]))
          .toArray(),
        [3, 5],
      );
      assert.deepEqual(
        tensor([1, 5])
          .minimum(tensor([3, 2]))
          .toArray(),
        [1, 2],
      );
      assert.deepEqual(a.add(b).shape, [2, 3]);
      assert.throws(() => tensor([1, 2]).add(tensor([1, 2, 3])));
    }),
  );

  test(
    'scalar operands keep integer tensors integral and float tensors floating',
    scoped(() => {
      const i = tensor([1, 2, 3], { dtype: 'int64' });
      assert.equal(i.add(1).dtype, 'int64');
      assert.deepEqual(i.add(1).toArray(), [2, 3, 4]);
      assert.equal(i.mul(3).dtype, 'int64');
      assert.equal(i.sub(1).dtype, 'int64');
      // A fractional scalar promotes to the default float type, as in PyTorch.
      assert.equal(i.add(0.5).dtype, 'float32');
      assert.deepEqual(i.add(0.5).toArray(), [1.5, 2.5, 3.5]);
      // Division is true division.
      assert.equal(i.div(2).dtype, 'float32');
      assert.deepEqual(i.div(2).toArray(), [0.5, 1, 1.5]);
      const f = tensor([1.5, 2.5]);
      assert.equal(f.add(1).dtype, 'float32');
      assert.deepEqual(f.add(1).toArray(), [2.5, 3.5]);
      const d = tensor([1.5], { dtype: 'float64' });
      assert.equal(d.add(1).dtype, 'float64');
      assert.equal(d.mul(0.1).dtype, 'float64');
      assert.equal(tensor([1], { dtype: 'float16' }).add(1).dtype, 'float16');
      // Tensor-tensor promotion.
      assert.equal(d.add(f.narrow(0, 0, 1)).dtype, 'float64');
      assert.equal(i.add(f.narrow(0, 0, 1)).dtype, 'float32');
      assert.deepEqual(f.sub(1).toArray(), [0.5, 1.5]);
      assert.deepEqual(f.rsub(1).toArray(), [-0.5, -1.5]);
      assert.deepEqual(f.mul(2).toArray(), [3, 5]);
      assert.deepEqual(f.div(0.5).toArray(), [3, 5]);
      assert.deepEqual(f.neg().toArray(), [-1.5, -2.5]);
      assert.deepEqual(f.pow(2).toArray(), [2.25, 6.25]);
      assert.deepEqual(f.square().toArray(), [2.25, 6.25]);
      assert.equal(i.pow(2).dtype, 'int64');
    }),
  );

  test(
    'comparisons give bool tensors',
    scoped(() => {
      const a = tensor([1, 2, 3]);
      const b = tensor([3, 2, 1]);
      const cases: [Tensor, boolean[]][] = [
        [a.eq(b), [false, true, false]],
        [a.ne(b), [true, false, true]],
        [a.lt(b), [true, false, false]],
        [a.le(b), [true, true, false]],
        [a.gt(b), [false, false, true]],
        [a.ge(b), [false, true, true]],
        [a.eq(2), [false, true, false]],
        [a.ne(2), [true, false, true]],
        [a.lt(2), [true, false, false]],
        [a.le(2), [true, true, false]],
        [a.gt(2), [false, false, true]],
        [a.ge(2), [false, true, true]],
        [a.gt(1.5), [false, true, true]],
      ];
      for (const [t, want] of cases) {
        assert.equal(t.dtype, 'bool');
        assert.deepEqual(t.toArray(), want);
      }
      const p = tensor([true, true, false, false]);
      const q = tensor([true, false, true, false]);
      assert.deepEqual(p.logicalAnd(q).toArray(), [true, false, false, false]);
      assert.deepEqual(p.logicalOr(q).toArray(), [true, true, true, false]);
      assert.deepEqual(p.logicalNot().toArray(), [false, false, true, true]);
    }),
  );

  test(
    'where, maskedFill and clamp',
    scoped(() => {
      const c = tensor([true, false, true]);
      assert.deepEqual(where(c, tensor([1, 2, 3]), tensor([10, 20, 30])).toArray(), [1, 20, 3]);
      // Broadcast condition: [2, 1] against [3].
      assert.deepEqual(
        tensor([[true], [false]])
          .where(tensor([1, 2, 3]), tensor([0, 0, 0]))
          .toArray(),
        [
          [1, 2, 3],
          [0, 0, 0],
        ],
      );
      assert.deepEqual(tensor([1, 2, 3]).maskedFill(c, -1).toArray(), [-1, 2, -1]);
      const x = tensor([-2, -0.5, 0.5, 2]);
      assert.deepEqual(x.clamp(-1, 1).toArray(), [-1, -0.5, 0.5, 1]);
      assert.deepEqual(x.clamp(0).toArray(), [0, 0, 0.5, 2]);
      assert.deepEqual(x.clamp(null, 0).toArray(), [-2, -0.5, 0, 0]);
      assert.deepEqual(x.hardtanh().toArray(), [-1, -0.5, 0.5, 1]);
      const y = x.clone();
      y.clamp_(-1, 0);
      assert.deepEqual(y.toArray(), [-1, -0.5, 0, 0]);
      assert.deepEqual(x.toArray(), [-2, -0.5, 0.5, 2]);
    }),
  );

  test(
    'unary functions match their formulas',
    scoped(() => {
      const xs = [-3, -1.5, -0.3, 0.2, 0.7, 2.5];
      const x = tensor(xs, { dtype: 'float64' });
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const cases: [string, Tensor, (v: number) => number][] = [
        ['exp', x.exp(), Math.exp],
        ['abs', x.abs(), Math.abs],
        ['tanh', x.tanh(), Math.tanh],
        ['sigmoid', x.sigmoid(), sig],
        ['relu', x.relu(), (v) => Math.max(v, 0)],
        ['leakyRelu default', x.leakyRelu(), (v) => (v > 0 ? v : 0.01 * v)],
        ['leakyRelu 0.2', x.leakyRelu(0.2), (v) => (v > 0 ? v : 0.2 * v)],
        ['elu', x.elu(), (v) => (v > 0 ? v : Math.exp(v) - 1)],
        ['elu 1.5', x.elu(1.5), (v) => (v > 0 ? v : 1.5 * (Math.exp(v) - 1))],
        ['gelu', x.gelu(), (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))],
        ['softplus', x.softplus(), (v) => Math.log1p(Math.exp(v))],
        ['softplus beta 2', x.softplus(2), (v) => Math.log1p(Math.exp(2 * v)) / 2],
        ['sin', x.sin(), Math.sin],
        ['cos', x.cos(), Math.cos],
        ['erf', x.erf(), erf],
        ['sign', x.sign(), Math.sign],
        ['floor', x.floor(), Math.floor],
        ['ceil', x.ceil(), Math.ceil],
        ['reciprocal', x.reciprocal(), (v) => 1 / v],
        ['pow 3', x.pow(3), (v) => v ** 3],
        ['neg', x.neg(), (v) => -v],
      ];
      for (const [name, t, f] of cases) {
        assert.equal(t.dtype, 'float64', name);
        close(vals(t), xs.map(f), 1e-12, name);
      }
      const pos = [0.25, 1, 4, 9];
      const p = tensor(pos, { dtype: 'float64' });
      close(vals(p.log()), pos.map(Math.log), 1e-12, 'log');
      close(vals(p.log1p()), pos.map(Math.log1p), 1e-12, 'log1p');
      close(vals(p.sqrt()), [0.5, 1, 2, 3], 1e-12, 'sqrt');
      close(vals(p.rsqrt()), [2, 1, 0.5, 1 / 3], 1e-12, 'rsqrt');
      close(vals(p.pow(0.5)), [0.5, 1, 2, 3], 1e-12, 'pow 0.5');
      close(
        vals(tensor([-0.5, 0, 0.5], { dtype: 'float64' }).erfinv()),
        [-0.4769362762044699, 0, 0.4769362762044699],
        1e-12,
      );
      // round: half to even, as torch.round.
      assert.deepEqual(tensor([0.5, 1.5, 2.5, -0.5]).round().toArray(), [0, 2, 2, -0]);
      // softplus reverts to the identity above the threshold: beta * x > threshold.
      assert.equal(tensor([15], { dtype: 'float64' }).softplus(2, 20).item(), 15);
      close(tensor([15], { dtype: 'float64' }).softplus(2, 40).item(), Math.log1p(Math.exp(30)) / 2, 1e-14);
      // Domain errors give NaN.
      assert.ok(Number.isNaN(tensor([-1]).sqrt().item()));
      assert.equal(tensor([0]).log().item(), -Infinity);
    }),
  );
});

// ---- linear algebra ---------------------------------------------------------------------------
describe('matmul, bmm, linear', () => {
  test(
    'matmul of matrices, vectors and batches',
    scoped(() => {
      const a = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const b = tensor([
        [7, 8],
        [9, 10],
        [11, 12],
      ]);
      assert.deepEqual(a.matmul(b).toArray(), [
        [58, 64],
        [139, 154],
      ]);
      assert.deepEqual(a.matmul(tensor([1, 0, -1])).toArray(), [-2, -2]);
      assert.deepEqual(tensor([1, 1]).matmul(a).toArray(), [5, 7, 9]);
      // Batched [2, 2, 3] @ [3, 1] broadcasts the matrix.
      const batch = stack([a, a.mul(2)]);
      assert.deepEqual(batch.matmul(tensor([[1], [1], [1]])).toArray(), [
        [[6], [15]],
        [[12], [30]],
      ]);
      assert.deepEqual(
        tensor([1, 2])
          .outer(tensor([3, 4, 5]))
          .toArray(),
        [
          [3, 4, 5],
          [6, 8, 10],
        ],
      );
      assert.throws(() => a.matmul(a));
    }),
  );

  test(
    'bmm and linear',
    scoped(() => {
      const x = tensor([[[1, 2]], [[3, 4]]]); // [2, 1, 2]
      const y = tensor([
        [
          [1, 0],
          [0, 1],
        ],
        [
          [2, 0],
          [0, 3],
        ],
      ]); // [2, 2, 2]
      assert.deepEqual(x.bmm(y).toArray(), [[[1, 2]], [[6, 12]]]);
      const w = tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]); // [out 3, in 2]
      const bias = tensor([0.5, -0.5, 1]);
      const inp = tensor([
        [1, 1],
        [2, -1],
      ]);
      assert.deepEqual(F.linear(inp, w, bias).toArray(), [
        [3.5, 6.5, 12],
        [0.5, 1.5, 5],
      ]);
      assert.deepEqual(F.linear(inp, w).toArray(), [
        [3, 7, 11],
        [0, 2, 4],
      ]);
      // Extra leading dimensions are kept.
      assert.deepEqual(F.linear(inp.reshape(2, 1, 2), w, bias).shape, [2, 1, 3]);
    }),
  );
});

// ---- reductions -------------------------------------------------------------------------------
describe('reductions', () => {
  test(
    'sum, mean, prod, max, min, argmax over all elements and over dims',
    scoped(() => {
      const x = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.equal(x.sum().item(), 21);
      assert.deepEqual(x.sum().shape, []);
      assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
      assert.deepEqual(x.sum(1, true).toArray(), [[6], [15]]);
      assert.deepEqual(x.sum(-1).toArray(), [6, 15]);
      assert.equal(x.sum([0, 1]).item(), 21);
      assert.equal(x.mean().item(), 3.5);
      assert.deepEqual(x.mean(0).toArray(), [2.5, 3.5, 4.5]);
      assert.deepEqual(x.mean(1, true).shape, [2, 1]);
      assert.equal(x.prod().item(), 720);
      assert.equal(x.max().item(), 6);
      assert.equal(x.min().item(), 1);
      const m = x.maxDim(1);
      assert.deepEqual(m.values.toArray(), [3, 6]);
      assert.deepEqual(m.indices.toArray(), [2, 2]);
      assert.equal(m.indices.dtype, 'int64');
      const mk = x.minDim(0, true);
      assert.deepEqual(mk.values.toArray(), [[1, 2, 3]]);
      assert.deepEqual(mk.indices.toArray(), [[0, 0, 0]]);
      const y = tensor([
        [3, 9, 1],
        [7, 2, 8],
      ]);
      assert.equal(y.argmax().item(), 1);
      assert.deepEqual(y.argmax(0).toArray(), [1, 0, 1]);
      assert.deepEqual(y.argmax(1, true).toArray(), [[1], [2]]);
      assert.deepEqual(y.argmin(1).toArray(), [2, 1]);
      assert.deepEqual(y.cumsum(1).toArray(), [
        [3, 12, 13],
        [7, 9, 17],
      ]);
      const s = y.sort(1, true);
      assert.deepEqual(s.values.toArray(), [
        [9, 3, 1],
        [8, 7, 2],
      ]);
      assert.deepEqual(s.indices.toArray(), [
        [1, 0, 2],
        [2, 0, 1],
      ]);
      const k = y.topk(2, 1);
      assert.deepEqual(k.values.toArray(), [
        [9, 3],
        [8, 7],
      ]);
    }),
  );

  test(
    'var, std, norm and logsumexp',
    scoped(() => {
      const x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { dtype: 'float64' },
      );
      close(x.var().item(), 3.5, 1e-12); // unbiased: sum((v-3.5)^2)/5 = 17.5/5
      close(x.var(undefined, { correction: 0 }).item(), 17.5 / 6, 1e-12);
      closeT(x.var(1), [1, 1], 1e-12);
      closeT(x.var(1, { correction: 0 }), [2 / 3, 2 / 3], 1e-12);
      closeT(x.var(0, { keepdim: true }), [[4.5, 4.5, 4.5]], 1e-12);
      close(x.std().item(), Math.sqrt(3.5), 1e-12);
      closeT(x.std(1, { correction: 0 }), [Math.sqrt(2 / 3), Math.sqrt(2 / 3)], 1e-12);
      close(x.norm().item(), Math.sqrt(91), 1e-12);
      closeT(x.norm(1, 1), [6, 15], 1e-12);
      closeT(x.norm(2, 0, true), [[Math.sqrt(17), Math.sqrt(29), Math.sqrt(45)]], 1e-12);
      close(x.norm(Infinity).item(), 6, 1e-12);
      close(x.norm(3).item(), Math.cbrt(441), 1e-12);
      const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
      closeT(x.logsumexp(1), [lse([1, 2, 3]), lse([4, 5, 6])], 1e-12);
      closeT(x.logsumexp(0, true), [[lse([1, 4]), lse([2, 5]), lse([3, 6])]], 1e-12);
      close(x.logsumexp([0, 1]).item(), lse([1, 2, 3, 4, 5, 6]), 1e-12);
      // Stable for large values (naive exp overflows).
      close(tensor([1000, 1000], { dtype: 'float64' }).logsumexp(0).item(), 1000 + Math.LN2, 1e-12);
    }),
  );

  test(
    'softmax and logSoftmax',
    scoped(() => {
      const x = tensor(
        [
          [1, 2, 3],
          [0, 0, 0],
        ],
        { dtype: 'float64' },
      );
      const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
      const z = e[0]! + e[1]! + e[2]!;
      const want = [e.map((v) => v / z), [1 / 3, 1 / 3, 1 / 3]];
      closeT(x.softmax(1), want, 1e-12);
      closeT(x.logSoftmax(1), [e.map((v) => Math.log(v / z)), [-Math.log(3), -Math.log(3), -Math.log(3)]], 1e-12);
      closeT(x.softmax(0).sum(0), [1, 1, 1], 1e-12);
      closeT(tensor([1000, 0]).softmax(0), [1, 0]);
    }),
  );
});

// ---- shape ------------------------------------------------------------------------------------
describe('shape ops', () => {
  test(
    'reshape, view, permute, transpose, squeeze, unsqueeze, flatten',
    scoped(() => {
      const x = arange(6);
      assert.deepEqual(x.reshape(2, 3).toArray(), [
        [0, 1, 2],
        [3, 4, 5],
      ]);
      assert.deepEqual(x.reshape(3, -1).shape, [3, 2]);
      assert.deepEqual(x.view(2, 3).shape, [2, 3]);
      const m = x.reshape(2, 3);
      assert.deepEqual(m.t().toArray(), [
        [0, 3],
        [1, 4],
        [2, 5],
      ]);
      assert.equal(m.t().isContiguous, false);
      assert.throws(() => m.t().view(6));
      assert.deepEqual(m.t().reshape(6).toArray(), [0, 3, 1, 4, 2, 5]);
      const y = arange(24).reshape(2, 3, 4);
      const p = y.permute(2, 0, 1);
      assert.deepEqual(p.shape, [4, 2, 3]);
      // p[k][i][j] = y[i][j][k] = 12 i + 4 j + k
      const pv = p.toArray() as number[][][];
      assert.equal(pv[3]![1]![2], 12 + 8 + 3);
      assert.deepEqual(y.transpose(0, 2).shape, [4, 3, 2]);
      assert.deepEqual(zeros([1, 3, 1]).squeeze().shape, [3]);
      assert.deepEqual(zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
      assert.deepEqual(zeros([1, 3, 1]).squeeze(-1).shape, [1, 3]);
      assert.deepEqual(zeros([3]).unsqueeze(0).shape, [1, 3]);
      assert.deepEqual(zeros([3]).unsqueeze(-1).shape, [3, 1]);
      assert.deepEqual(y.flatten().shape, [24]);
      assert.deepEqual(y.flatten(1).shape, [2, 12]);
      assert.deepEqual(y.flatten(0, 1).shape, [6, 4]);
      assert.deepEqual(m.flip(1).toArray(), [
        [2, 1, 0],
        [5, 4, 3],
      ]);
      assert.deepEqual(m.select(1, 2).toArray(), [2, 5]);
    }),
  );

  test(
    'expand and repeat',
    scoped(() => {
      const c = tensor([[1], [2]]);
      assert.deepEqual(c.expand(2, 3).toArray(), [
        [1, 1, 1],
        [2, 2, 2],
      ]);
      assert.deepEqual(c.expand(-1, 2).shape, [2, 2]);
      assert.deepEqual(tensor([1, 2]).expand(2, 2).toArray(), [
        [1, 2],
        [1, 2],
      ]);
      assert.deepEqual(tensor([1, 2]).repeat(2, 2).toArray(), [
        [1, 2, 1, 2],
        [1, 2, 1, 2],
      ]);
      assert.deepEqual(c.repeat(1, 3).toArray(), [
        [1, 1, 1],
        [2, 2, 2],
      ]);
    }),
  );

  test(
    'cat, stack, split, chunk, narrow',
    scoped(() => {
      const a = tensor([[1, 2]]);
      const b = tensor([[3, 4]]);
      assert.deepEqual(cat([a, b]).toArray(), [
        [1, 2],
        [3, 4],
      ]);
      assert.deepEqual(cat([a, b], 1).toArray(), [[1, 2, 3, 4]]);
      assert.deepEqual(cat([a, b], -1).shape, [1, 4]);
      assert.deepEqual(stack([a, b]).shape, [2, 1, 2]);
      assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [
        [1, 3],
        [2, 4],
      ]);
      assert.throws(() => cat([]));
      const x = arange(7);
      assert.deepEqual(
        x.split(3).map((t) => t.toArray()),
        [[0, 1, 2], [3, 4, 5], [6]],
      );
      assert.deepEqual(
        x.split([2, 5]).map((t) => t.toArray()),
        [
          [0, 1],
          [2, 3, 4, 5, 6],
        ],
      );
      assert.throws(() => x.split([2, 2]));
      assert.deepEqual(
        x.chunk(3).map((t) => t.toArray()),
        [[0, 1, 2], [3, 4, 5], [6]],
      );
      const m = arange(6).reshape(2, 3);
      assert.deepEqual(
        m.chunk(3, 1).map((t) => t.shape),
        [
          [2, 1],
          [2, 1],
          [2, 1],
        ],
      );
      assert.deepEqual(m.narrow(1, 1, 2).toArray(), [
        [1, 2],
        [4, 5],
      ]);
    }),
  );

  test(
    'indexSelect, gather, tril, triu, diag',
    scoped(() => {
      const m = tensor([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ]);
      const idx = tensor([2, 0], { dtype: 'int64' });
      assert.deepEqual(m.indexSelect(0, idx).toArray(), [
        [7, 8, 9],
        [1, 2, 3],
      ]);
      assert.deepEqual(m.indexSelect(1, idx).toArray(), [
        [3, 1],
        [6, 4],
        [9, 7],
      ]);
      // gather(1): out[i][j] = m[i][index[i][j]]
      const g = tensor(
        [
          [0, 0],
          [2, 1],
          [1, 2],
        ],
        { dtype: 'int64' },
      );
      assert.deepEqual(m.gather(1, g).toArray(), [
        [1, 1],
        [6, 5],
        [8, 9],
      ]);
      // gather(0): out[i][j] = m[index[i][j]][j]
      assert.deepEqual(m.gather(0, tensor([[2, 1, 0]], { dtype: 'int64' })).toArray(), [[7, 5, 3]]);
      assert.deepEqual(m.tril().toArray(), [
        [1, 0, 0],
        [4, 5, 0],
        [7, 8, 9],
      ]);
      assert.deepEqual(m.triu(1).toArray(), [
        [0, 2, 3],
        [0, 0, 6],
        [0, 0, 0],
      ]);
      assert.deepEqual(m.diag().toArray(), [1, 5, 9]);
      assert.deepEqual(tensor([1, 2]).diag().toArray(), [
        [1, 0],
        [0, 2],
      ]);
    }),
  );

  test(
    'pad: constant, reflect and replicate on NCHW',
    scoped(() => {
      const x = tensor([[[[1, 2, 3]]]]); // [1, 1, 1, 3]
      assert.deepEqual(F.pad(x, [1, 2]).toArray(), [[[[0, 1, 2, 3, 0, 0]]]]);
      assert.deepEqual(F.pad(x, [1, 0, 1, 0], 'constant', 9).toArray(), [
        [
          [
            [9, 9, 9, 9],
            [9, 1, 2, 3],
          ],
        ],
      ]);
      assert.deepEqual(F.pad(x, [2, 2, 0, 0], 'reflect').toArray(), [[[[3, 2, 1, 2, 3, 2, 1]]]]);
      assert.deepEqual(F.pad(x, [1, 1, 1, 0], 'replicate').toArray(), [
        [
          [
            [1, 1, 2, 3, 3],
            [1, 1, 2, 3, 3],
          ],
        ],
      ]);
      // Negative constant padding crops.
      assert.deepEqual(F.pad(x, [-1, 0]).toArray(), [[[[2, 3]]]]);
    }),
  );

  test(
    'pad: reflect and replicate of the last dimension of a 3-d tensor (F.pad with two pads)',
    scoped(() => {
      const x = tensor([[[1, 2, 3]]]); // [N=1, C=1, W=3]
      assert.deepEqual(F.pad(x, [1, 1], 'reflect').toArray(), [[[2, 1, 2, 3, 2]]]);
      assert.deepEqual(F.pad(x, [1, 1], 'replicate').toArray(), [[[1, 1, 2, 3, 3]]]);
    }),
  );
});

// ---- convolutions -----------------------------------------------------------------------------
describe('convolutions', () => {
  test(
    'conv1d: cross-correlation with padding, stride, bias',
    scoped(() => {
      const x = tensor([[[1, 2, 3, 4, 5]]]);
      const w = tensor([[[1, 0, -1]]]);
      assert.deepEqual(F.conv1d(x, w).toArray(), [[[-2, -2, -2]]]);
      assert.deepEqual(F.conv1d(x, w, null, { padding: 1 }).toArray(), [[[-2, -2, -2, -2, 4]]]);
      assert.deepEqual(F.conv1d(x, w, tensor([0.5]), { stride: 2 }).toArray(), [[[-1.5, -1.5]]]);
      assert.deepEqual(F.conv1d(x, w, null, { dilation: 2 }).toArray(), [[[-4]]]);
      // Two input channels summed, two output channels.
      const x2 = tensor([
        [
          [1, 2, 3],
          [10, 20, 30],
        ],
      ]);
      const w2 = tensor([
        [[1], [1]],
        [[1], [-1]],
      ]); // [out 2, in 2, k 1]
      assert.deepEqual(F.conv1d(x2, w2).toArray(), [
        [
          [11, 22, 33],
          [-9, -18, -27],
        ],
      ]);
    }),
  );

  test(
    'conv2d: values, stride, padding, dilation, groups',
    scoped(() => {
      const x = arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
      const w = ones([1, 1, 2, 2]);
      const y = F.conv2d(x, w);
      assert.deepEqual(y.shape, [1, 1, 3, 3]);
      // Each output is the sum of a 2x2 block: x[i][j] = 4 i + j.
      assert.deepEqual(y.toArray(), [
        [
          [
            [10, 14, 18],
            [26, 30, 34],
            [42, 46, 50],
          ],
        ],
      ]);
      assert.deepEqual(F.conv2d(x, w, null, { stride: 2 }).toArray(), [
        [
          [
            [10, 18],
            [42, 50],
          ],
        ],
      ]);
      const padded = F.conv2d(x, w, tensor([1]), { padding: 1 });
      assert.deepEqual(padded.shape, [1, 1, 5, 5]);
      const pv = padded.toArray() as number[][][][];
      assert.deepEqual(pv[0]![0]![0], [1, 2, 4, 6, 4]); // 0, 0+1, 1+2, 2+3, 3, plus the bias
      assert.equal(pv[0]![0]![4]![4], 16); // x[3][3] + 1
      const dil = F.conv2d(x, w, null, { dilation: 2 });
      assert.deepEqual(dil.toArray(), [
        [
          [
            [20, 24],
            [36, 40],
          ],
        ],
      ]);
      assert.deepEqual(F.conv2d(x, ones([1, 1, 3, 3]), null, { padding: [0, 1] }).shape, [1, 1, 2, 4]);
      // groups = 2: each channel scaled by its own 1x1 kernel.
      const x2 = cat([x, x], 1);
      const wg = tensor([2, 3]).reshape(2, 1, 1, 1);
      const g = F.conv2d(x2, wg, null, { groups: 2 });
      assert.deepEqual(g.shape, [1, 2, 4, 4]);
      assert.deepEqual(
        vals(g.select(1, 1)),
        vals(x).map((v) => 3 * v),
      );
      // 1x1 convolution mixing channels: x0 - x1.
      const mix = F.conv2d(cat([x, ones([1, 1, 4, 4])], 1), tensor([1, -1]).reshape(1, 2, 1, 1));
      assert.deepEqual(
        vals(mix),
        vals(x).map((v) => v - 1),
      );
    }),
  );

  test(
    'convTranspose2d: scatter of each pixel, output shapes',
    scoped(() => {
      const x = tensor([
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]);
      const w = ones([1, 1, 2, 2]); // [in, out, kH, kW]
      assert.deepEqual(F.convTranspose2d(x, w, null, { stride: 2 }).toArray(), [
        [
          [
            [1, 1, 2, 2],
            [1, 1, 2, 2],
            [3, 3, 4, 4],
            [3, 3, 4, 4],
          ],
        ],
      ]);
      assert.deepEqual(F.convTranspose2d(x, w).toArray(), [
        [
          [
            [1, 3, 2],
            [4, 10, 6],
            [3, 7, 4],
          ],
        ],
      ]);
      // Padding crops the full output: the centre of the 3x3 result.
      assert.deepEqual(F.convTranspose2d(x, ones([1, 1, 3, 3]), null, { padding: 1 }).toArray(), [
        [
          [
            [10, 10],
            [10, 10],
          ],
        ],
      ]);
      // DCGAN block: kernel 4, stride 2, padding 1 doubles the size. Weight [in 2, out 3, 4, 4].
      assert.deepEqual(
        F.convTranspose2d(zeros([1, 2, 5, 5]), zeros([2, 3, 4, 4]), null, { stride: 2, padding: 1 }).shape,
        [1, 3, 10, 10],
      );
      // (H - 1) * s - 2 p + k + output_padding = 1 * 2 - 2 + 3 + 1 = 4
      assert.deepEqual(
        F.convTranspose2d(zeros([1, 1, 2, 2]), zeros([1, 1, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 })
          .shape,
        [1, 1, 4, 4],
      );
      // Bias is added to every output pixel.
      assert.deepEqual(
        vals(F.convTranspose2d(zeros([1, 1, 1, 1]), zeros([1, 2, 2, 2]), tensor([1, -1]))),
        [1, 1, 1, 1, -1, -1, -1, -1],
      );
    }),
  );
});

// ---- normalisation ----------------------------------------------------------------------------
describe('normalisation', () => {
  const data = (shape: number[]) => {
    manualSeed(11);
    return randn(shape, { dtype: 'float64' }).mul(3).add(2);
  };

  test(
    'batchNorm in training normalises per channel and updates running stats by momentum',
    scoped(() => {
      const x = data([6, 3]);
      const xs = x.toArray() as number[][];
      const rm = zeros([3], { dtype: 'float64' });
      const rv = ones([3], { dtype: 'float64' });
      const y = F.batchNorm(x, { runningMean: rm, runningVar: rv, training: true, momentum: 0.1 });
      const ys = y.toArray() as number[][];
      for (let c = 0; c < 3; c++) {
        const col = xs.map((r) => r[c]!);
        const out = ys.map((r) => r[c]!);
        const v = variance(col);
        close(mean(out), 0, 1e-10);
        close(variance(out), v / (v + 1e-5), 1e-10);
        close(vals(rm)[c], 0.1 * mean(col), 1e-12);
        // The running variance uses the unbiased batch variance.
        close(vals(rv)[c], 0.9 + 0.1 * variance(col, 1), 1e-12);
      }
      // A second step moves the running mean again.
      const before = vals(rm);
      F.batchNorm(x, { runningMean: rm, runningVar: rv, training: true, momentum: 0.5 });
      for (let c = 0; c < 3; c++) close(vals(rm)[c], 0.5 * before[c]! + 0.5 * mean(xs.map((r) => r[c]!)), 1e-12);
      // Eval: (x - running mean) / sqrt(running var + eps) * weight + bias.
      const w = tensor([1, 2, 3], { dtype: 'float64' });
      const b = tensor([0, -1, 1], { dtype: 'float64' });
      const e = F.batchNorm(x, { runningMean: rm, runningVar: rv, weight: w, bias: b, training: false });
      const es = e.toArray() as number[][];
      const rmv = vals(rm);
      const rvv = vals(rv);
      for (let i = 0; i < 6; i++)
        for (let c = 0; c < 3; c++)
          close(
            es[i]![c],
            ((xs[i]![c]! - rmv[c]!) / Math.sqrt(rvv[c]! + 1e-5)) * [1, 2, 3][c]! + [0, -1, 1][c]!,
            1e-10,
          );
      // Eval does not change the running statistics.
      assert.deepEqual(vals(rm), rmv);
    }),
  );

  test(
    'batchNorm over NCHW uses N, H and W of each channel',
    scoped(() => {
      const x = data([2, 3, 2, 2]);
      const y = F.batchNorm(x, { training: true });
      const perChannel = y.permute(1, 0, 2, 3).reshape(3, 8).toArray() as number[][];
      for (const row of perChannel) {
        close(mean(row), 0, 1e-10);
        close(variance(row), 1, 1e-3);
      }
    }),
  );

  test(
    'instanceNorm, layerNorm and groupNorm',
    scoped(() => {
      const x = data([2, 4, 3, 3]);
      const inst = F.instanceNorm(x).reshape(8, 9).toArray() as number[][];
      for (const row of inst) {
        close(mean(row), 0, 1e-10);
        close(variance(row), 1, 1e-3);
      }
      const ln = F.layerNorm(x, [4, 3, 3]).reshape(2, 36).toArray() as number[][];
      for (const row of ln) {
        close(mean(row), 0, 1e-10);
        close(variance(row), 1, 1e-3);
      }
      // layerNorm over the last dim with an affine transform: y = xhat * w + b.
      const z = tensor([[1, 2, 3]], { dtype: 'float64' });
      const s = Math.sqrt(2 / 3 + 1e-5);
      closeT(
        F.layerNorm(z, [3], {
          weight: tensor([1, 2, 3], { dtype: 'float64' }),
          bias: tensor([1, 1, 1], { dtype: 'float64' }),
        }),
        [[1 - 1 / s, 1, 1 + 3 / s]],
        1e-10,
      );
      const gn = F.groupNorm(x, 2).reshape(4, 18).toArray() as number[][];
      for (const row of gn) {
        close(mean(row), 0, 1e-10);
        close(variance(row), 1, 1e-3);
      }
      // groupNorm with one group per channel is instanceNorm; with one group, layerNorm.
      close(vals(F.groupNorm(x, 4)), vals(F.instanceNorm(x)), 1e-10);
      close(vals(F.groupNorm(x, 1)), vals(F.layerNorm(x, [4, 3, 3])), 1e-10);
      // Per-channel affine parameters.
      const w = tensor([1, 2, 3, 4], { dtype: 'float64' });
      const b = tensor([0, 1, 0, 1], { dtype: 'float64' });
      const gna = F.groupNorm(x, 2, { weight: w, bias: b });
      const plain = F.groupNorm(x, 2);
      close(vals(gna), vals(plain.mul(w.reshape(1, 4, 1, 1)).add(b.reshape(1, 4, 1, 1))), 1e-12);
      // instanceNorm with running statistics updates them by momentum (average over the batch).
      const rm = zeros([4], { dtype: 'float64' });
      const rv = ones([4], { dtype: 'float64' });
      F.instanceNorm(x, { runningMean: rm, runningVar: rv, momentum: 0.1 });
      const perInst = x.reshape(2, 4, 9).toArray() as number[][][];
      for (let c = 0; c < 4; c++) {
        const m = (mean(perInst[0]![c]!) + mean(perInst[1]![c]!)) / 2;
        close(vals(rm)[c], 0.1 * m, 1e-12);
      }
    }),
  );
});

// ---- pooling, resampling ----------------------------------------------------------------------
describe('pooling and resampling', () => {
  const grid = () => arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);

  test(
    'max and average pooling',
    scoped(() => {
      const x = grid();
      assert.deepEqual(F.maxPool2d(x, 2).toArray(), [
        [
          [
            [5, 7],
            [13, 15],
          ],
        ],
      ]);
      assert.deepEqual(F.avgPool2d(x, 2).toArray(), [
        [
          [
            [2.5, 4.5],
            [10.5, 12.5],
          ],
        ],
      ]);
      assert.deepEqual(F.maxPool2d(x, 3, { stride: 1 }).toArray(), [
        [
          [
            [10, 11],
            [14, 15],
          ],
        ],
      ]);
      assert.deepEqual(F.maxPool2d(x, 3, { stride: 2, padding: 1 }).toArray(), [
        [
          [
            [5, 7],
            [13, 15],
          ],
        ],
      ]);
      // Corner window with padding 1: x[0][0] only; zeros count unless countIncludePad is false.
      const inc = F.avgPool2d(x, 2, { stride: 2, padding: 1 }).toArray() as number[][][][];
      assert.equal(inc[0]![0]![0]![0], 0 / 4);
      assert.equal(inc[0]![0]![0]![1], (1 + 2) / 4);
      const exc = F.avgPool2d(x, 2, { stride: 2, padding: 1, countIncludePad: false }).toArray() as number[][][][];
      assert.equal(exc[0]![0]![0]![1], (1 + 2) / 2);
      assert.equal(exc[0]![0]![2]![2], 15);
      assert.deepEqual(F.maxPool2d(zeros([1, 1, 5, 5]), 2, { ceilMode: true }).shape, [1, 1, 3, 3]);
      assert.deepEqual(F.maxPool2d(zeros([1, 1, 5, 5]), 2).shape, [1, 1, 2, 2]);
    }),
  );

  test(
    'adaptive average pooling',
    scoped(() => {
      const x = grid();
      assert.deepEqual(F.adaptiveAvgPool2d(x, 1).toArray(), [[[[7.5]]]]);
      assert.deepEqual(F.adaptiveAvgPool2d(x, 2).toArray(), F.avgPool2d(x, 2).toArray());
      // 4 -> 3: windows [0, 2), [1, 3), [2, 4) in each direction.
      const y = F.adaptiveAvgPool2d(x, 3).toArray() as number[][][][];
      assert.deepEqual(y[0]![0], [
        [2.5, 3.5, 4.5],
        [6.5, 7.5, 8.5],
        [10.5, 11.5, 12.5],
      ]);
      assert.deepEqual(F.adaptiveAvgPool2d(zeros([2, 3, 7, 5]), [2, 4]).shape, [2, 3, 2, 4]);
    }),
  );

  test(
    'interpolate nearest and bilinear',
    scoped(() => {
      const x = tensor([
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]);
      const n = F.interpolate(x, { scaleFactor: 2 });
      assert.deepEqual(n.toArray(), [
        [
          [
            [1, 1, 2, 2],
            [1, 1, 2, 2],
            [3, 3, 4, 4],
            [3, 3, 4, 4],
          ],
        ],
      ]);
      assert.deepEqual(F.interpolate(x, { size: [2, 3] }).toArray(), [
        [
          [
            [1, 1, 2],
            [3, 3, 4],
          ],
        ],
      ]);
      closeT(F.interpolate(x, { size: 3, mode: 'bilinear', alignCorners: true }), [
        [
          [
            [1, 1.5, 2],
            [2, 2.5, 3],
            [3, 3.5, 4],
          ],
        ],
      ]);
      // align_corners=False: source = (dst + 0.5) / 2 - 0.5, clamped at 0 -> weights 0, .25, .75, 1.
      const r = [0, 0.25, 0.75, 1];
      closeT(F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' }), [[r.map((ri) => r.map((cj) => 1 + 2 * ri + cj))]]);
      assert.throws(() => F.interpolate(zeros([2, 2]), { scaleFactor: 2 }), /NCHW/);
    }),
  );

  test(
    'interpolate with a non-integer scaleFactor maps coordinates by 1 / scaleFactor, as F.interpolate does',
    scoped(() => {
      // PyTorch: F.interpolate(x, scale_factor=1.5, mode='bilinear') on [1, 2, 3]: src = (dst + 0.5) / 1.5 - 0.5.
      const x = tensor([[[[1, 2, 3]]]]);
      const src = [0, 1, 2, 3].map((d) => Math.max((d + 0.5) / 1.5 - 0.5, 0));
      closeT(F.interpolate(x, { scaleFactor: 1.5, mode: 'bilinear' }), [[[src.map((s) => 1 + s)]]]);
    }),
  );

  test(
    'pixelShuffle',
    scoped(() => {
      // out[c][h r + i][w r + j] = in[c r^2 + i r + j][h][w]
      const x = tensor([1, 2, 3, 4]).reshape(1, 4, 1, 1);
      assert.deepEqual(F.pixelShuffle(x, 2).toArray(), [
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]);
      const y = arange(32, undefined, 1, { dtype: 'float32' }).reshape(1, 8, 2, 2);
      const z = F.pixelShuffle(y, 2);
      assert.deepEqual(z.shape, [1, 2, 4, 4]);
      const zv = z.toArray() as number[][][][];
      // c=1, h=1, w=0, i=1, j=0 -> in[1*4 + 2][1][0] = (6 * 4) + 2 = 26 at out[1][3][0]
      assert.equal(zv[0]![1]![3]![0], 26);
      // c=0, h=0, w=1, i=0, j=1 -> in[1][0][1] = 5 at out[0][0][3]
      assert.equal(zv[0]![0]![0]![3], 5);
    }),
  );
});

// ---- embedding, dropout -----------------------------------------------------------------------
describe('embedding and dropout', () => {
  test(
    'embedding looks rows up',
    scoped(() => {
      const w = tensor([
        [0, 0.5],
        [1, 1.5],
        [2, 2.5],
      ]);
      const idx = tensor(
        [
          [2, 0],
          [1, 1],
        ],
        { dtype: 'int64' },
      );
      assert.deepEqual(F.embedding(idx, w).toArray(), [
        [
          [2, 2.5],
          [0, 0.5],
        ],
        [
          [1, 1.5],
          [1, 1.5],
        ],
      ]);
      assert.throws(() => F.embedding(tensor([3], { dtype: 'int64' }), w));
    }),
  );

  test(
    'dropout: identity at p = 0 and in eval, zeros or 1/(1-p) scaling otherwise',
    scoped(() => {
      manualSeed(3);
      const x = randn([1000]);
      assert.deepEqual(vals(F.dropout(x, 0)), vals(x));
      assert.deepEqual(vals(F.dropout(x, 0.5, false)), vals(x));
      assert.ok(vals(F.dropout(x, 1)).every((v) => v === 0));
      const o = ones([20000]);
      const d = vals(F.dropout(o, 0.5));
      assert.ok(d.every((v) => v === 0 || v === 2));
      const zeroFrac = d.filter((v) => v === 0).length / d.length;
      assert.ok(Math.abs(zeroFrac - 0.5) < 0.02, `fraction dropped ${zeroFrac}`);
      assert.ok(Math.abs(mean(d) - 1) < 0.04, `mean ${mean(d)}`);
      const d2 = vals(F.dropout(o, 0.2));
      assert.ok(d2.every((v) => v === 0 || Math.abs(v - 1.25) < 1e-6));
      assert.throws(() => F.dropout(o, 1.5), RangeError);
    }),
  );
});

// ---- losses -----------------------------------------------------------------------------------
describe('losses', () => {
  const softplus = (v: number) => Math.log1p(Math.exp(v));
  const f64 = (d: number[] | number[][]) => tensor(d, { dtype: 'float64' });

  test(
    'bceWithLogits: -[p y log s(x) + (1 - y) log(1 - s(x))]',
    scoped(() => {
      const x = f64([0.5, -1, 2]);
      const y = f64([1, 0, 0.25]);
      const per = [0.5, -1, 2].map((xi, i) => {
        const yi = [1, 0, 0.25][i]!;
        return yi * softplus(-xi) + (1 - yi) * softplus(xi);
      });
      closeT(F.bceWithLogits(x, y, { reduction: 'none' }), per, 1e-12);
      close(F.bceWithLogits(x, y).item(), mean(per), 1e-12);
      close(F.bceWithLogits(x, y, { reduction: 'sum' }).item(), per[0]! + per[1]! + per[2]!, 1e-12);
      const w = f64([1, 2, 3]);
      closeT(
        F.bceWithLogits(x, y, { weight: w, reduction: 'none' }),
        per.map((v, i) => v * [1, 2, 3][i]!),
        1e-12,
      );
      const pw = f64([2, 2, 2]);
      const perPos = [0.5, -1, 2].map((xi, i) => {
        const yi = [1, 0, 0.25][i]!;
        return 2 * yi * softplus(-xi) + (1 - yi) * softplus(xi);
      });
      closeT(F.bceWithLogits(x, y, { posWeight: pw, reduction: 'none' }), perPos, 1e-12);
      // Stable for large logits.
      close(F.bceWithLogits(f64([100]), f64([0])).item(), 100, 1e-12);
    }),
  );

  test(
    'crossEntropy and nllLoss: logsumexp(x) - x[y], weights, ignoreIndex, label smoothing',
    scoped(() => {
      const logits = f64([
        [1, 2, 3],
        [1, 1, 1],
        [0, 5, 0],
      ]);
      const rows = [
        [1, 2, 3],
        [1, 1, 1],
        [0, 5, 0],
      ];
      const target = tensor([2, 0, 0], { dtype: 'int64' });
      const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
      const per = rows.map((r, i) => lse(r) - r[[2, 0, 0][i]!]!);
      closeT(F.crossEntropy(logits, target, { reduction: 'none' }), per, 1e-12);
      close(F.crossEntropy(logits, target).item(), mean(per), 1e-12);
      close(F.crossEntropy(logits, target, { reduction: 'sum' }).item(), per[0]! + per[1]! + per[2]!, 1e-12);
      // Weighted mean: sum(w[y] l) / sum(w[y]).
      const w = f64([1, 2, 3]);
      const wy = [3, 1, 1];
      close(
        F.crossEntropy(logits, target, { weight: w }).item(),
        (3 * per[0]! + per[1]! + per[2]!) / (wy[0]! + wy[1]! + wy[2]!),
        1e-12,
      );
      // Ignored targets count neither in the sum nor in the mean.
      const ign = tensor([2, -100, 0], { dtype: 'int64' });
      close(F.crossEntropy(logits, ign).item(), (per[0]! + per[2]!) / 2, 1e-12);
      close(F.crossEntropy(logits, tensor([2, 1, 1], { dtype: 'int64' }), { ignoreIndex: 1 }).item(), per[0]!, 1e-12);
      // Label smoothing eps: (1 - eps) * nll + eps * mean_k(-log p_k).
      const eps = 0.1;
      const smooth = rows.map((r, i) => {
        const l = lse(r);
        const uniform = r.reduce((s, v) => s + (l - v), 0) / 3;
        return (1 - eps) * per[i]! + eps * uniform;
      });
      close(F.crossEntropy(logits, target, { labelSmoothing: eps }).item(), mean(smooth), 1e-12);
      // nllLoss on log-probabilities gives the same numbers.
      close(F.nllLoss(logits.logSoftmax(1), target).item(), mean(per), 1e-12);
      closeT(F.nllLoss(logits.logSoftmax(1), target, { reduction: 'none' }), per, 1e-12);
      close(
        F.nllLoss(logits.logSoftmax(1), target, { weight: w }).item(),
        (3 * per[0]! + per[1]! + per[2]!) / 5,
        1e-12,
      );
      // nllLoss is -x[y] for any input.
      close(F.nllLoss(f64([[0.1, 0.2, 0.7]]), tensor([2], { dtype: 'int64' })).item(), -0.7, 1e-12);
      // Spatial targets: [N, C, H, W] logits with [N, H, W] targets.
      const sp = F.crossEntropy(zeros([2, 4, 3, 3]), zeros([2, 3, 3], { dtype: 'int64' }));
      close(sp.item(), Math.log(4), 1e-6);
    }),
  );

  test(
    'mseLoss, l1Loss and gaussianKl',
    scoped(() => {
      const a = f64([1, 2, 3]);
      const b = f64([2, 0, 3.5]);
      close(F.mseLoss(a, b).item(), (1 + 4 + 0.25) / 3, 1e-12);
      close(F.mseLoss(a, b, 'sum').item(), 5.25, 1e-12);
      closeT(F.mseLoss(a, b, 'none'), [1, 4, 0.25], 1e-12);
      close(F.l1Loss(a, b).item(), 3.5 / 3, 1e-12);
      close(F.l1Loss(a, b, 'sum').item(), 3.5, 1e-12);
      closeT(F.l1Loss(a, b, 'none'), [1, 2, 0.5], 1e-12);
      // KL(N(mu, e^lv) || N(0, 1)) = 0.5 sum(mu^2 + e^lv - lv - 1), averaged over the batch.
      const mu = f64([
        [1, 0],
        [0, 2],
      ]);
      const lv = f64([
        [0, Math.log(2)],
        [1, 0],
      ]);
      const s1 = 1 + 1 - 0 - 1 + (0 + 2 - Math.log(2) - 1);
      const s2 = 0 + Math.E - 1 - 1 + (4 + 1 - 0 - 1);
      close(F.gaussianKl(mu, lv).item(), (0.5 * (s1 + s2)) / 2, 1e-12);
      close(F.gaussianKl(zeros([3, 4]), zeros([3, 4])).item(), 0, 1e-12);
    }),
  );
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});
