// Evaluation metrics with known answers: R-precision of random, perfect and class-confused features.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { rPrecision } from '../src/eval/r-precision.js';
import { Generator, randn } from '../src/engine/index.js';

test('R-precision of unrelated features is chance (1 in 100)', () => {
  const g = new Generator(1);
  using img = randn([3000, 32], { generator: g });
  using txt = randn([3000, 32], { generator: g });
  using pool = randn([3000, 32], { generator: g });
  const r = rPrecision(img, txt, pool, { candidates: 100, splits: 10 });
  assert.ok(r.mean > 0.005 && r.mean < 0.016, `mean ${r.mean}`);
  assert.equal(r.splits.length, 10);
  assert.ok(r.std < 0.01);
});

test('R-precision of matching features is 1, and mismatches come from other classes', () => {
  const g = new Generator(2);
  using txt = randn([50, 16], { generator: g });
  using noise = randn([50, 16], { generator: g });
  using scaled = noise.mul(0.05);
  using img = txt.add(scaled);
  assert.equal(
    rPrecision(img, txt, txt, { candidates: 20, splits: 3 }).mean < 1,
    true,
    'the pool holds the true caption itself',
  );
  // Excluding the sample's own class from the mismatched draws removes the duplicates.
  const classes = Array.from({ length: 50 }, (_, i) => String(i));
  const r = rPrecision(img, txt, txt, { candidates: 20, splits: 3, poolClasses: classes, sampleClasses: classes });
  assert.equal(r.mean, 1);
});

test('R-precision refuses a pool too small for the candidates', () => {
  using a = randn([4, 8]);
  assert.throws(() => rPrecision(a, a, a, { candidates: 100 }), /fewer than the 99 mismatched/);
});
