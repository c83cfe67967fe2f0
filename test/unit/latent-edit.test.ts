// Latent edits against hand-computed values: the noise moved by ψ and directions, tag blends in the
// condition, colour blends through conditional batch norm, and latent tokens (what they accept and
// refuse).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { liveTensors, randn, tensor } from '../../src/engine/index.js';
import {
  DIRECTIONS_FORMAT,
  blendTags,
  checkEdit,
  editLatent,
  type LatentDirections,
} from '../../src/inference/latent-edit.js';
import { ConditionalBatchNorm2d } from '../../src/models/projection/conditional-batch-norm.js';
import { HttpError } from '../../src/server/errors.js';
import { decodeLatent, encodeLatent } from '../../src/server/latent-token.js';

const TAGS = { hair: ['blue', 'red', 'white'], eyes: ['green', 'red'] };

const DIRS: LatentDirections = {
  format: DIRECTIONS_FORMAT,
  model: 'test',
  noiseDim: 3,
  strengths: { min: -4, max: 4 },
  method: { samples: 0, classifier: 'none', seed: 0 },
  directions: [
    { name: 'noise:hair:red', attribute: 'hair', value: 'red', vector: [1, 0, 0], measured: [] },
    { name: 'noise:eyes:red', attribute: 'eyes', value: 'red', vector: [0, 0.6, 0.8], measured: [] },
  ],
  blends: [],
};

const close = (a: ArrayLike<number>, b: number[], what: string): void => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

describe('latent edits', () => {
  test('the noise: z·ψ + Σ strength·direction, tag blends leave it alone', () => {
    const before = liveTensors();
    {
      using z = tensor(Float32Array.from([1, 2, 3, -1, 0, 0.5]), { shape: [2, 3] });
      using moved = editLatent(
        z,
        { psi: 0.5, directions: { 'noise:hair:red': 2, 'noise:eyes:red': -1, 'hair:blue': 1 } },
        DIRS,
        TAGS,
      );
      close(moved.toTypedArray() as Float32Array, [2.5, 1 - 0.6, 1.5 - 0.8, 1.5, -0.6, 0.25 - 0.8], 'moved');
      close(z.toTypedArray() as Float32Array, [1, 2, 3, -1, 0, 0.5], 'z is not changed');
    }
    assert.equal(liveTensors(), before);
  });

  test('tag blends: (1 − s)·tags + s·one-hot(colour) in that attribute block, the other block kept', () => {
    // Rows: red hair green eyes; white hair red eyes. [blue red white | green red]
    using c = tensor(Float32Array.from([0, 1, 0, 1, 0, 0, 0, 1, 0, 1]), { shape: [2, 5] });
    using b = blendTags(c, { directions: { 'hair:blue': 0.25, 'noise:hair:red': 3 } }, TAGS);
    close(b.toTypedArray() as Float32Array, [0.25, 0.75, 0, 1, 0, 0.25, 0, 0.75, 0, 1], 'hair blended');
    using both = blendTags(c, { directions: { 'hair:white': 1, 'eyes:red': 0.5 } }, TAGS);
    close(both.toTypedArray() as Float32Array, [0, 0, 1, 0.5, 0.5, 0, 0, 1, 0, 1], 'both blended');
  });

  test('what checkEdit refuses, and says why', () => {
    assert.equal(checkEdit({}, undefined, undefined), undefined);
    assert.equal(checkEdit({ psi: 1, directions: { 'hair:red': 0.5, 'noise:eyes:red': -4 } }, DIRS, TAGS), undefined);
    assert.match(checkEdit({ psi: 0 }, DIRS, TAGS)!, /psi .* \(0, 1\]/);
    assert.match(checkEdit({ psi: 1.5 }, DIRS, TAGS)!, /psi/);
    assert.match(checkEdit({ directions: { 'hair:green': 1 } }, DIRS, TAGS)!, /unknown direction "hair:green"/);
    assert.match(checkEdit({ directions: { 'hair:red': 1.5 } }, DIRS, TAGS)!, /\[0, 1\], got 1.5/);
    assert.match(checkEdit({ directions: { 'hair:red': 0.5, 'hair:blue': 0.5 } }, DIRS, TAGS)!, /one hair direction/);
    assert.match(checkEdit({ directions: { 'noise:hair:red': 5 } }, DIRS, TAGS)!, /\[-4, 4\], got 5/);
    assert.match(checkEdit({ directions: { 'noise:hair:blue': 1 } }, DIRS, TAGS)!, /unknown direction/);
    assert.match(checkEdit({ directions: { 'noise:hair:red': 1 } }, undefined, TAGS)!, /no noise directions/);
    assert.match(checkEdit({ directions: { 'hair:red': 1 } }, undefined, undefined)!, /only tag models/);
    using z = randn([1, 3]);
    assert.throws(() => editLatent(z, { directions: { 'hair:red': 2 } }, DIRS, TAGS), RangeError);
  });

  test('conditional batch norm reads a blend of colours as the blend of their scales and shifts', () => {
    const norm = new ConditionalBatchNorm2d(4, [3, 2]);
    try {
      // Non-zero embeddings (they start at zero), then eval mode: the same normalisation for every call.
      for (const e of [...norm.gamma, ...norm.beta]) {
        using r = randn(e.weight.shape);
        e.weight.copy_(r);
      }
      norm.eval();
      using x = randn([2, 4, 3, 3]);
      const onehot = (hair: number[], eyes: number[]) => [
        tensor(Float32Array.from(hair.flatMap((h) => [0, 1, 2].map((i) => Number(i === h)))), { shape: [2, 3] }),
        tensor(Float32Array.from(eyes.flatMap((e) => [0, 1].map((i) => Number(i === e)))), { shape: [2, 2] }),
      ];
      const labels = [
        tensor(BigInt64Array.from([0n, 2n]), { shape: [2] }),
        tensor(BigInt64Array.from([1n, 0n]), { shape: [2] }),
      ];
      const a = onehot([0, 2], [1, 0]);
      const b = onehot([1, 1], [1, 0]);
      using byIndex = norm.forward(x, labels);
      using byWeights = norm.forward(x, a);
      close(byWeights.toTypedArray() as Float32Array, Array.from(byIndex.toTypedArray() as Float32Array), 'one-hot');
      using outB = norm.forward(x, b);
      using wa = a[0]!.mul(0.3);
      using mix = wa.add(b[0]!, 0.7);
      using blended = norm.forward(x, [mix, a[1]!]);
      using expectA = byIndex.mul(0.3);
      using expected = expectA.add(outB, 0.7);
      close(blended.toTypedArray() as Float32Array, Array.from(expected.toTypedArray() as Float32Array), 'blend');
      [...labels, ...a, ...b].forEach((t) => t.dispose());
    } finally {
      norm.dispose();
    }
  });

  test('latent tokens: a float32 round trip; junk, wrong lengths and wild values are 400s', () => {
    const z = [0.5, -1.25, 3.140625, 0];
    const token = encodeLatent(z);
    assert.match(token, /^z1\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeLatent(token), z);
    const rejects = (t: string, why: RegExp) =>
      assert.throws(
        () => decodeLatent(t),
        (e: unknown) => e instanceof HttpError && e.statusCode === 400 && why.test(e.message),
      );
    rejects('abc', /start with "z1\."/);
    rejects('z1.', /float32/);
    rejects('z1.AAAAAAA', /float32|base64/);
    rejects(encodeLatent([1, 2]).replace(/.$/, '*'), /base64|float32/);
    rejects(encodeLatent([1, Number.NaN]), /finite/);
    rejects(encodeLatent([1, 25]), /±20/);
    rejects(encodeLatent(new Array<number>(1025).fill(0)), /float32/);
  });
});
