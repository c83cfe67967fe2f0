// Misuse must surface as a JavaScript error, never a crash: a crash would kill this test process.
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { describe, test } from 'node:test';

import { F, Generator, cat, cuda, grad, liveTensors, randn, tensor, tidy, zeros } from '../../src/engine/index.js';
import { native } from '../../src/engine/internal.js';
import { Conv2d, Linear } from '../../src/nn/index.js';

function throwsWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof Error, 'a JavaScript Error');
    assert.match(e.message, pattern);
    return true;
  });
}

describe('misuse gives a JavaScript error', () => {
  test('CUDA memory statistics of the CPU, or of a malformed device, are refused by name', () => {
    assert.throws(() => cuda.memoryStats('cpu'), /'cpu' is not a CUDA device/);
    assert.throws(() => cuda.resetPeakMemoryStats('gpu:1' as 'cuda'), /Expected a device/);
  });
  test('shape mismatches name the sizes', () =>
    tidy(() => {
      throwsWith(
        () => randn([2, 3]).add(randn([4, 3])),
        /size of tensor a \(2\) must match the size of tensor b \(4\)/,
      );
      throwsWith(() => randn([2, 3]).matmul(randn([2, 3])), /cannot be multiplied|mat1 and mat2 shapes|size mismatch/);
      throwsWith(() => randn([6]).view(4), /invalid for input of size 6|shape '\[4\]'/);
      throwsWith(() => new Linear(4, 2).forward(randn([3, 5])), /cannot be multiplied|shapes/);
      throwsWith(() => new Conv2d(3, 8, 3).forward(randn([1, 4, 8, 8])), /expected input.*to have 3 channels|channels/);
      throwsWith(() => cat([randn([2, 3]), randn([2, 4])], 0), /Sizes of tensors must match|size/);
    }));

  test('wrong dtypes and devices', () =>
    tidy(() => {
      throwsWith(() => F.embedding(randn([3]), randn([10, 4])), /Long|Int|index|indices/i);
      throwsWith(() => F.crossEntropy(randn([2, 3]), randn([2, 3]).gt(0)), /./);
      // Only without CUDA: the device tier (test/integration/device.test.ts) runs the same calls on a GPU.
      if (!cuda.isAvailable()) {
        throwsWith(() => randn([2]).to('cuda:0'), /CUDA|cuda/);
        throwsWith(() => zeros([2], { device: 'cuda:0' }), /CUDA|cuda/);
      }
      throwsWith(() => zeros([2], { device: 'gpu' as never }), /Expected a device/);
      throwsWith(() => zeros([2], { dtype: 'float8' as never }), /Expected a dtype/);
      throwsWith(() => randn([2, 2]).item(), /one element/);
    }));

  test('use after dispose', () => {
    const t = randn([2]);
    t.dispose();
    throwsWith(() => t.add(1), /used after dispose/);
    throwsWith(() => t.shape, /used after dispose/);
    t.dispose(); // disposing twice is harmless
    const l = new Linear(2, 2);
    l.dispose();
    throwsWith(() => l.forward(randn([1, 2])), /used after dispose/);
  });

  test('autograd misuse', () =>
    tidy(() => {
      throwsWith(() => randn([3]).backward(), /does not require grad|scalar|one-element/);
      const x = randn([3]).requiresGrad_();
      throwsWith(() => x.mul(2).backward(), /scalar|one-element/);
      const y = x.square().sum();
      y.backward();
      throwsWith(() => y.backward(), /backward through the graph a second time|freed/);
      const a = randn([2]).requiresGrad_();
      const b = randn([2]).requiresGrad_();
      throwsWith(() => grad(a.sum(), b), /not have been used|unused/);
    }));

  test('bad arguments to creation functions', () => {
    throwsWith(() => zeros([-1]), /non-negative integers/);
    throwsWith(() => zeros([1.5]), /non-negative integers/);
    throwsWith(() => tensor([[1, 2], [3]]), /Ragged/);
    throwsWith(() => tensor(new Float32Array(6), { shape: [4] }), /bytes/);
    throwsWith(() => new Generator(-1), /seed/);
    throwsWith(() => zeros([1e6, 1e6, 1e6]), /./);
  });

  test('the raw binding rejects forged handles and wrong argument types', () => {
    const forged = [{}, [], 'tensor', 42, null, undefined, () => 0, new Float32Array(2), Symbol('x')];
    for (const f of forged) {
      assert.throws(() => (native.add as (a: unknown, b: unknown) => unknown)(f, f), TypeError);
      assert.throws(() => (native.dispose as (a: unknown) => unknown)(f), TypeError);
    }
    const g = native.newGenerator(1, -1);
    assert.throws(() => (native.add as (a: unknown, b: unknown) => unknown)(g, g), /expected a tensor handle/);
    const t = native.zeros([2], 6, -1);
    assert.throws(() => (native.randn as (...a: unknown[]) => unknown)([2], t, 6, -1), /expected a generator/);
    native.dispose(t);
  });
});

// Calls every native function with random argument lists: each call returns or throws.
test('fuzz: 20,000 random calls into the binding never crash', () => {
  const start = liveTensors();
  // mulberry32: a small PRNG with a full 32-bit state.
  let seed = Number(process.env.CREATIVEAI_FUZZ_SEED ?? 12345) >>> 0;
  const rnd = (): number => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const handles = [
    native.randn([3], null, 6, -1),
    native.randn([2, 3], null, 6, -1),
    native.randn([1, 2, 4, 4], null, 6, -1),
    native.zeros([], 7, -1),
    native.arange(0, 4, 1, 4, -1),
    native.ones([2, 2], 11, -1),
    native.zeros([0, 3], 6, -1),
  ];
  const values = (): unknown =>
    pick<() => unknown>([
      () => pick(handles),
      () => Math.floor(rnd() * 7) - 2,
      () => rnd() * 4 - 2,
      () => [Math.floor(rnd() * 4), Math.floor(rnd() * 4)],
      () => [],
      () => [pick(handles), pick(handles)],
      () => null,
      () => undefined,
      () => 'x',
      () => rnd() < 0.5,
      () => NaN,
      () => ({}),
    ])();
  // Functions whose effect is global or unbounded in size are left out.
  const skip = new Set(['setNumThreads', 'dispose', 'manualSeed', 'setGradEnabled', 'version', 'liveCount']);
  const fns = Object.entries(native).filter(([k, v]) => typeof v === 'function' && !skip.has(k)) as [
    string,
    (...a: unknown[]) => unknown,
  ][];
  const trace = process.env.CREATIVEAI_FUZZ_TRACE === '1';
  const describeArg = (a: unknown): string =>
    Array.isArray(a) ? `[${a.map(describeArg).join(', ')}]` : a && typeof a === 'object' ? 'T' : String(a);
  let returned = 0;
  let threw = 0;
  for (let i = 0; i < 20000; i++) {
    const [name, fn] = pick(fns);
    const args = Array.from({ length: Math.floor(rnd() * 8) }, values);
    if (trace) writeSync(2, `${name}(${args.map(describeArg).join(', ')})\n`);
    try {
      const r = fn(...args);
      returned++;
      const out = Array.isArray(r) ? r : [r];
      for (const h of out) if (h && typeof h === 'object') native.dispose(h as never);
    } catch (e) {
      assert.ok(e instanceof Error);
      threw++;
    }
  }
  native.setGradEnabled(true);
  for (const h of handles) native.dispose(h);
  assert.ok(returned > 100 && threw > 100, `returned ${returned}, threw ${threw}`);
  assert.equal(liveTensors(), start);
});
