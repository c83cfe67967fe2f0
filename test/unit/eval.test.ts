// Evaluation metrics with known answers: R-precision of random, perfect and class-confused features;
// FID and KID against closed forms, and the eigendecomposition under FID; Inception Score of
// one-hot, identical and two-class predictions; diversity of identical and known feature sets.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { absenceOf, pooledAccuracy } from '../../src/eval/absent-combos.js';
import { rPrecisionMetric, type Sampler } from '../../src/eval/checkpoint-metric.js';
import { detailEnergy, detailRatio } from '../../src/eval/detail.js';
import { diversity, groupDiversity, meanPairwiseDistance } from '../../src/eval/diversity.js';
import { inceptionScore } from '../../src/eval/inception-score.js';
import { featureStats, fid, frechetDistance, loadStats, saveStats, type FeatureStats } from '../../src/eval/fid.js';
import { kid } from '../../src/eval/kid.js';
import { covariance, symmetricEigen, symmetricEigenvalues, traceSqrtProduct } from '../../src/eval/linalg.js';
import { rPrecision } from '../../src/eval/r-precision.js';
import { heldOutCaptions, retrievalRecall } from '../../src/eval/real-retrieval.js';
import { F, Generator, cat, manualSeed, noGrad, randn, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import type { Conditioner } from '../../src/models/conditioning.js';
import { DamsmImageEncoder } from '../../src/models/damsm/index.js';
import { Prng } from '../../src/util/prng.js';

test('retrieval recall both ways, by hand: ranks counted with ties against the query', () => {
  // Three images on the axes, five captions; first owned two by image 0, two by image 1, one by image 2.
  using images = tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], { shape: [3, 3] });
  using captions = tensor(
    [
      [0.9, 0.1, 0],
      [0, 1, 0],
      [0.1, 0.2, 1],
      [0.2, 1, 0],
      [1, 0, 0.1],
    ].flat(),
    { shape: [5, 3] },
  );
  const r = retrievalRecall(images, captions, [0, 0, 1, 1, 2]);
  // Cosines (rows: images; columns: captions 0-4):
  //   image 0: .994  0    .098  .196  .995   own 0,1: best .994, caption 4 beats it: rank 1
  //   image 1: .110  1    .195  .981  0      own 2,3: best .981, caption 1 beats it: rank 1
  //   image 2: 0     0    .976  0     .100   own 4: .100, caption 2 beats it: rank 1
  assert.deepEqual(r.imageToText, { r1: 0, r5: 1, r10: 1 });
  // Captions: 0 → image 0 first (rank 0); 1 → own image 0 at 0, image 1 at 1 and image 2 tied at 0
  // both count (rank 2); 2 → image 2 beats image 1 (rank 1); 3 → image 1 first (rank 0); 4 → image 0
  // beats image 2 (rank 1).
  assert.deepEqual(r.textToImage, { r1: 2 / 5, r5: 1, r10: 1 });
  const r2 = retrievalRecall(images, captions, [0, 1, 2, 1, 0]);
  // Owned so that every image's best caption is its own and every caption's best image is its own.
  assert.deepEqual(r2.imageToText, { r1: 1, r5: 1, r10: 1 });
  assert.deepEqual(r2.textToImage, { r1: 1, r5: 1, r10: 1 });
  assert.throws(() => retrievalRecall(images, captions, [0, 1]), /5 captions but 2 owners/);
});

test("held-out captions cycle through a seeded record order, then each record's captions in turn", () => {
  const held = [0, 1, 2].map((k) => ({
    i: k,
    id: `r${k}`,
    classId: `c${k}`,
    captions: [`r${k} a`, `r${k} b`],
    split: 'test' as const,
  }));
  const s = heldOutCaptions(held, 7, 3);
  assert.deepEqual(
    s.captions,
    s.record.map((k, i) => `r${k} ${i < 3 ? 'a' : i < 6 ? 'b' : 'a'}`),
  );
  assert.deepEqual([...new Set(s.record.slice(0, 3))].sort(), [0, 1, 2], 'each record once per cycle');
  assert.deepEqual(s.record.slice(3, 6), s.record.slice(0, 3));
  assert.deepEqual(
    s.classes,
    s.record.map((k) => `c${k}`),
  );
  assert.deepEqual(heldOutCaptions(held, 7, 3), s, 'the same seed, the same list');
});

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

// ---- FID, KID and the linear algebra under them -----------------------------------------------

/** Standard normal draws from the seeded PRNG (Box-Muller). */
function gaussians(rng: Prng, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return out;
}

/** Row-major a [r, k] · b [k, c]. */
function mm(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++)
    for (let l = 0; l < k; l++) {
      const v = a[i * k + l]!;
      for (let j = 0; j < c; j++) out[i * c + j] = out[i * c + j]! + v * b[l * c + j]!;
    }
  return out;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j]!;
  return out;
}

/** A random orthogonal matrix: modified Gram-Schmidt, twice, on Gaussian rows. */
function randomOrthogonal(n: number, rng: Prng): Float64Array {
  const q = gaussians(rng, n * n);
  for (let pass = 0; pass < 2; pass++)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += q[i * n + k]! * q[j * n + k]!;
        for (let k = 0; k < n; k++) q[i * n + k] = q[i * n + k]! - dot * q[j * n + k]!;
      }
      let norm = 0;
      for (let k = 0; k < n; k++) norm += q[i * n + k]! ** 2;
      for (let k = 0; k < n; k++) q[i * n + k] = q[i * n + k]! / Math.sqrt(norm);
    }
  return q;
}

/** Q·diag(lambda)·Qᵀ. */
function withEigen(q: Float64Array, lambda: ArrayLike<number>, n: number): Float64Array {
  const ql = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ql[i * n + j] = q[i * n + j]! * lambda[j]!;
  return mm(ql, transpose(q, n), n, n, n);
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function eye64(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** ‖A − VΛVᵀ‖ and ‖VᵀV − I‖ (max norms). */
function eigenErrors(a: Float64Array, n: number): { recon: number; ortho: number; values: Float64Array } {
  const { values, vectors } = symmetricEigen(a, n);
  return {
    recon: maxDiff(a, withEigen(vectors, values, n)),
    ortho: maxDiff(mm(transpose(vectors, n), vectors, n, n, n), eye64(n)),
    values,
  };
}

test('symmetricEigen reconstructs a random symmetric matrix with orthonormal vectors', () => {
  const n = 50;
  const g = gaussians(new Prng(3), n * n);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (g[i * n + j]! + g[j * n + i]!) / 2;
  const { recon, ortho, values } = eigenErrors(a, n);
  assert.ok(recon < 1e-12 * maxAbs(a), `‖A − VΛVᵀ‖ = ${recon}`);
  assert.ok(ortho < 1e-13, `‖VᵀV − I‖ = ${ortho}`);
  for (let i = 1; i < n; i++) assert.ok(values[i - 1]! <= values[i]!, 'ascending');
  let trace = 0;
  for (let i = 0; i < n; i++) trace += a[i * n + i]!;
  assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) - trace) < 1e-11);
  assert.ok(maxDiff(symmetricEigenvalues(a, n), values) < 1e-12, 'eigenvalues alone agree');
});

test('symmetricEigen handles repeated eigenvalues, zero blocks and tiny sizes', () => {
  const n = 12;
  const lambda = [3, 3, 3, -2, 1, 1, 5, 5, 0, 0, 0, 7];
  const a = withEigen(randomOrthogonal(n, new Prng(4)), lambda, n);
  const { recon, ortho, values } = eigenErrors(a, n);
  assert.ok(recon < 1e-13, `‖A − VΛVᵀ‖ = ${recon}`);
  assert.ok(ortho < 1e-13, `‖VᵀV − I‖ = ${ortho}`);
  assert.ok(
    maxDiff(
      values,
      [...lambda].sort((x, y) => x - y),
    ) < 1e-13,
    `values ${values}`,
  );
  // Already diagonal (Householder steps with zero scale), the zero matrix, 1×1.
  const diag = new Float64Array(25);
  [2, -1, 2, 0, 4].forEach((v, i) => (diag[i * 5 + i] = v));
  const r = eigenErrors(diag, 5);
  assert.deepEqual(Array.from(r.values), [-1, 0, 2, 2, 4]);
  assert.ok(r.recon === 0 && r.ortho === 0);
  assert.deepEqual(Array.from(symmetricEigen(new Float64Array(9), 3).values), [0, 0, 0]);
  assert.deepEqual(symmetricEigen(Float64Array.of(-3), 1), {
    values: Float64Array.of(-3),
    vectors: Float64Array.of(1),
  });
  assert.throws(() => symmetricEigen(Float64Array.of(1, NaN, NaN, 1), 2), /non-finite/);
});

test('featureStats matches the JavaScript covariance, from a tensor or a Float64Array', () => {
  const rows = 40;
  const d = 5;
  const x = gaussians(new Prng(5), rows * d).map((v, i) => v * (1 + (i % d)) + 100);
  const ref = covariance(x, d);
  using t = tensor(new Float32Array(x), { shape: [rows, d] });
  const fromF64 = featureStats(x, { dim: d, features: 'toy' });
  assert.equal(fromF64.features, 'toy');
  assert.equal(fromF64.n, rows);
  assert.ok(maxDiff(fromF64.mean, ref.mean) < 1e-12 && maxDiff(fromF64.cov, ref.cov) < 1e-12);
  const fromTensor = featureStats(t);
  assert.ok(maxDiff(fromTensor.mean, ref.mean) < 1e-4 && maxDiff(fromTensor.cov, ref.cov) < 1e-3, 'float32 input');
  assert.equal(fromTensor.dim, d);
  assert.throws(() => featureStats(x, 7), /not rows of dim 7/);
});

test('FID of a feature set against itself is 0, also when the covariance is singular (N < D)', () => {
  for (const [n, d] of [
    [400, 32],
    [20, 64],
  ] as const) {
    using x = randn([n, d], { generator: new Generator(6) });
    const s = featureStats(x);
    let trace = 0;
    for (let i = 0; i < d; i++) trace += s.cov[i * d + i]!;
    const f = fid(x, s);
    assert.ok(Math.abs(f) < 1e-6 * trace, `FID ${f} (Tr Σ = ${trace}, N = ${n}, D = ${d})`);
  }
});

test('FID of two Gaussian samples matches the closed form of their distributions', () => {
  // Diagonal covariances: Tr((ΣaΣb)^{1/2}) = Σ √(σa σb), so FID = Σ (μa−μb)² + (√σa − √σb)².
  const muA = [0, 1, -1, 0.5, 0, 2];
  const muB = [0.5, 1, 0, 0.5, -1, 2];
  const varA = [1, 4, 0.5, 2, 1, 3];
  const varB = [2, 1, 0.5, 4, 1, 1];
  let exact = 0;
  for (let i = 0; i < 6; i++) exact += (muA[i]! - muB[i]!) ** 2 + (Math.sqrt(varA[i]!) - Math.sqrt(varB[i]!)) ** 2;
  const n = 20000;
  const g = new Generator(7);
  const draw = (mu: number[], v: number[]): Tensor =>
    tidy(() =>
      randn([n, 6], { generator: g })
        .mul(tensor(v.map(Math.sqrt)))
        .add(tensor(mu)),
    );
  using a = draw(muA, varA);
  using b = draw(muB, varB);
  const f = fid(a, b);
  // Sampling error: the FID of 20 seeds misses the exact 4.30 by −0.01 ± 0.045; 0.2 is ~4.5 sd.
  assert.ok(Math.abs(f - exact) < 0.2, `FID ${f}, exact ${exact}`);
});

test('frechetDistance on exact statistics: shared eigenvectors, non-commuting 2×2, symmetry', () => {
  const d = 96;
  const rng = new Prng(8);
  const q = randomOrthogonal(d, rng);
  // Some zero eigenvalues in Σa: the clipping path for singular covariances.
  const la = Array.from({ length: d }, (_, i) => (i % 8 === 0 ? 0 : 0.1 + 3 * rng.next()));
  const lb = Array.from({ length: d }, () => 0.1 + 3 * rng.next());
  const mean = (): Float64Array => gaussians(rng, d);
  const a: FeatureStats = { mean: mean(), cov: withEigen(q, la, d), n: 1e6, dim: d, features: 'f' };
  const b: FeatureStats = { mean: mean(), cov: withEigen(q, lb, d), n: 1e6, dim: d, features: 'f' };
  let exact = 0;
  for (let i = 0; i < d; i++)
    exact += (a.mean[i]! - b.mean[i]!) ** 2 + la[i]! + lb[i]! - 2 * Math.sqrt(la[i]! * lb[i]!);
  const f = frechetDistance(a, b);
  // 1e-8: the twelve exact zeros come out of the eigensolver as ±1e-16-sized values, and √ of those
  // adds ~1e-8 each (FID is reported to 0.01).
  assert.ok(Math.abs(f - exact) < 1e-8 * exact, `FID ${f}, exact ${exact}`);
  // Different eigenvectors: Tr((S1S2)^{1/2}) is symmetric in S1, S2.
  const c: FeatureStats = { ...b, cov: withEigen(randomOrthogonal(d, rng), lb, d) };
  assert.ok(Math.abs(frechetDistance(a, c) - frechetDistance(c, a)) < 1e-9 * frechetDistance(a, c));
  // 2×2: M = S1S2 has positive eigenvalues, so (Tr √M)² = Tr M + 2√det M.
  const s1 = Float64Array.of(2, 0.7, 0.7, 1);
  const s2 = Float64Array.of(1, -0.4, -0.4, 3);
  const m = mm(s1, s2, 2, 2, 2);
  const closed = Math.sqrt(m[0]! + m[3]! + 2 * Math.sqrt(m[0]! * m[3]! - m[1]! * m[2]!));
  assert.ok(Math.abs(traceSqrtProduct(s1, s2, 2) - closed) < 1e-13, `${traceSqrtProduct(s1, s2, 2)} vs ${closed}`);
  assert.throws(() => frechetDistance(a, { ...b, features: 'g' }), /different feature networks/);
});

test('saveStats/loadStats round-trip and refuse statistics of another feature network', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-fid-'));
  try {
    using x = randn([30, 7], { generator: new Generator(9) });
    const s = featureStats(x, { features: 'inception-v3-pool3' });
    const file = path.join(tmp, 'ref', 'stats.json');
    saveStats(file, s);
    const back = loadStats(file, 'inception-v3-pool3');
    assert.deepEqual(back, s);
    assert.throws(
      () => loadStats(file, 'clip-vit-b32'),
      /feature network 'inception-v3-pool3', expected 'clip-vit-b32'/,
    );
    assert.throws(() => saveStats(file, { ...s, features: undefined }), /name the feature network/);
    assert.throws(() => fid(x, { ...back, features: 'clip-vit-b32' }, { features: 'inception-v3-pool3' }), /different/);
    assert.ok(Math.abs(fid(x, back, { features: 'inception-v3-pool3' })) < 1e-9);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('KID is about 0 for one distribution (and can be negative), clearly positive for two', () => {
  const g = new Generator(10);
  using a = randn([20000, 16], { generator: g });
  using b = randn([20000, 16], { generator: g });
  using shifted = tidy(() => randn([20000, 16], { generator: g }).add(0.5));
  const o = { subsets: 50, subsetSize: 200, seed: 1 };
  const same = kid(a, b, o);
  assert.equal(same.values.length, 50);
  // Subsets of 200 from pools of 20000 barely overlap, so the 50 estimates are close to independent
  // and the pools' own error (O(1/N)) is far below one subset's (O(1/m)): 3 standard errors.
  assert.ok(Math.abs(same.mean) < (3 * same.std) / Math.sqrt(50), `KID ${same.mean} ± ${same.std}`);
  assert.ok(Math.min(...same.values) < 0, 'the unbiased estimator goes below 0');
  assert.deepEqual(kid(a, b, o), same, 'deterministic for a seed');
  assert.notDeepEqual(kid(a, b, { ...o, seed: 2 }).values, same.values);
  const apart = kid(a, shifted, o);
  assert.ok(apart.mean > 10 * same.std && Math.min(...apart.values) > 0, `KID ${apart.mean} ± ${apart.std}`);
  // Defaults: 100 subsets of min(1000, N).
  using small = a.narrow(0, 0, 300);
  const r = kid(small, b);
  assert.equal(r.values.length, 100);
  assert.equal(r.subsetSize, 300);
});

// ---- Inception Score and diversity ------------------------------------------------------------

/** N one-hot rows cycling through k classes, as float64 [N, k]. */
function oneHot(n: number, k: number): Float64Array {
  const p = new Float64Array(n * k);
  for (let i = 0; i < n; i++) p[i * k + (i % k)] = 1;
  return p;
}

test('IS of confident predictions spread evenly over k classes is k; of identical predictions, 1', () => {
  for (const k of [1, 2, 10, 1008]) {
    const r = inceptionScore(oneHot(10 * k, k), { classes: k, splits: 10 });
    assert.equal(r.splits.length, 10);
    for (const v of r.splits) assert.ok(Math.abs(v - k) < 1e-9 * k, `k = ${k}: ${v}`);
    assert.ok(r.std < 1e-9 * k);
  }
  // Every image the same (sharp or not): the marginal equals each prediction, KL = 0.
  const same = new Float64Array(50 * 4);
  for (let i = 0; i < 50; i++) same.set([0.7, 0.1, 0.1, 0.1], i * 4);
  assert.ok(Math.abs(inceptionScore(same, { classes: 4, splits: 5 }).mean - 1) < 1e-12);
  assert.ok(Math.abs(inceptionScore(oneHot(40, 1), { classes: 1 }).mean - 1) < 1e-12);
  // All images confidently class 3 of 10: IS 1 (no variety), not 10.
  const collapsed = new Float64Array(30 * 10);
  for (let i = 0; i < 30; i++) collapsed[i * 10 + 3] = 1;
  assert.ok(Math.abs(inceptionScore(collapsed, { classes: 10, splits: 3 }).mean - 1) < 1e-12);
});

test('IS of soft two-class predictions matches exp(KL) by hand, from a float32 tensor too', () => {
  // Half (0.9, 0.1), half (0.1, 0.9): p(y) = (0.5, 0.5), KL = 0.9·ln 1.8 + 0.1·ln 0.2 for each.
  const rows = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? [0.9, 0.1] : [0.1, 0.9]));
  const exact = Math.exp(0.9 * Math.log(1.8) + 0.1 * Math.log(0.2));
  using t = tensor(rows);
  const r = inceptionScore(t, { splits: 2 });
  assert.ok(Math.abs(r.mean - exact) < 1e-6, `${r.mean} vs ${exact}`);
  assert.equal(r.n, 20);
  assert.equal(r.classes, 2);
  using bad = tensor([
    [0.5, 0.6],
    [0.5, 0.5],
  ]);
  assert.throws(() => inceptionScore(bad, { splits: 1 }), /rows must be probabilities/);
  assert.throws(() => inceptionScore(t, { splits: 21 }), /splits must be an integer in \[1, 20\]/);
});

test('diversity: identical samples score 0 and are flagged; known distances are averaged', () => {
  using a = tensor([
    [0, 0],
    [3, 4],
    [0, 4],
  ]);
  // Pairs at distances 5, 3 and 4.
  assert.ok(Math.abs(meanPairwiseDistance(a) - 4) < 1e-12);
  using same = tidy(() =>
    tensor([[0.3, -1.2, 7.5]])
      .expand(6, 3)
      .contiguous(),
  );
  assert.equal(meanPairwiseDistance(same), 0);
  using real = randn([12, 3], { generator: new Generator(11) });
  const collapsed = diversity([same, same], [real]);
  assert.equal(collapsed.generated, 0);
  assert.equal(collapsed.modeCollapse, true);
  assert.equal(collapsed.ratio, 0);
  // Scaled copies of the real set: diversity scales with them; the flag follows the threshold.
  using near = real.mul(0.8);
  using far = real.mul(0.3);
  const ok = diversity([near], [real]);
  assert.ok(Math.abs(ok.ratio - 0.8) < 1e-6 && !ok.modeCollapse, `ratio ${ok.ratio}`); // float32 scaling
  assert.ok(diversity([far], [real]).modeCollapse);
  assert.ok(!diversity([far], [real], 0.25).modeCollapse, 'a lower threshold');
  // Groups average with equal weight; single-sample groups cannot have a distance and are skipped.
  using single = tensor([[1, 1]]);
  using twice = a.mul(2);
  const g = groupDiversity([a, single, twice]);
  assert.deepEqual(g.perGroup.length, 2);
  assert.ok(Math.abs(g.mean - 6) < 1e-12);
  assert.throws(() => diversity([same], [same]), /real images have no diversity/);
  assert.throws(() => meanPairwiseDistance(single), /at least 2 samples/);
});

test('detail: an enlarged coarse image has none; a checkerboard has its square; real sets the ratio', () => {
  const base = 4;
  // A random 4 px image enlarged 4× (nearest) to 16 px: its coarse copy is itself, detail 0 (up to
  // the rounding of a float32 average, ~1e-14 here).
  using coarse = randn([2, 3, base, base], { generator: new Generator(3) });
  using enlarged = F.interpolate(coarse, { scaleFactor: 4, mode: 'nearest' });
  for (const e of detailEnergy(enlarged, base)) assert.ok(e < 1e-12, String(e));
  // ±a on a 1-pixel checkerboard averages to 0 over every 4×4 block: detail a², added to any coarse image.
  const a = 0.5;
  using board = tensor(
    Array.from({ length: 16 * 16 }, (_, i) => (((i % 16) + Math.floor(i / 16)) % 2 === 0 ? a : -a)),
    { shape: [1, 1, 16, 16] },
  );
  using textured = enlarged.add(board);
  for (const e of detailEnergy(textured, base)) assert.ok(Math.abs(e - a * a) < 1e-6, String(e));
  const r = detailRatio([0, 0], detailEnergy(textured, base), base, 16);
  assert.deepEqual([r.generated, r.ratio, r.images, r.realImages, r.side, r.base], [0, 0, 2, 2, 16, 4]);
  assert.ok(Math.abs(detailRatio([0.125, 0.125], [0.25, 0.25], base, 16).ratio - 0.5) < 1e-12);
  assert.throws(() => detailEnergy(coarse, base), /multiple ≥ 2 of 4 px, got 4×4/);
  assert.throws(() => detailRatio([1], [0, 0], base, 16), /no detail above 4 px/);
});

test('absent combinations split by why: a new pair of known colours, or a colour no training face has', () => {
  const row = (hair: string, eyes: string, inTraining: boolean | null, both: number, n = 10) => ({
    hair,
    eyes,
    n,
    inTraining,
    accuracy: { hair: 1, eyes: both, both },
  });
  const rows = [
    row('red', 'blue', true, 0.9),
    row('blue', 'red', true, 0.8),
    row('red', 'red', false, 0.5), // both colours seen, never together
    row('blue', 'blue', false, 0.3, 30),
    row('red', 'gray', false, 0), // gray eyes: on no training face
    row('white', 'blue', false, 0), // white hair: likewise
  ];
  const why = absenceOf(rows);
  assert.deepEqual(
    rows.map((r) => why(r)),
    [null, null, 'pair', 'pair', 'colour', 'colour'],
  );
  // Pooled by images: (0.5·10 + 0.3·30) / 40.
  const pairs = pooledAccuracy(rows.filter((r) => why(r) === 'pair'))!;
  assert.equal(pairs.combos, 2);
  assert.ok(Math.abs(pairs.both - 0.35) < 1e-12, String(pairs.both));
  assert.equal(pooledAccuracy([]), null);
  // Not told which combinations were in training: nothing is absent.
  assert.equal(absenceOf([row('red', 'red', null, 1)])(row('red', 'red', null, 1)), null);
});

test('checkpoint R-precision generates 8 images at a time, from the noise it draws for 64', () => {
  manualSeed(3);
  const image = new DamsmImageEncoder({ embeddingDim: 8, width: 4, inputSize: 32 }).eval();
  // Images from the noise alone: its 12 values as a 2×2 colour pattern, tiled.
  const draw = (z: Tensor): Tensor => tidy(() => z.tanh().reshape(z.size(0), 3, 2, 2).repeat(1, 1, 16, 16));
  const records = Array.from({ length: 40 }, (_, i) => ({
    captions: [`bird ${i} one`, `bird ${i} the other`],
    classId: `c${i}`,
    split: 'val',
  }));
  // A stand-in text encoder that puts each record's first caption exactly where the image encoder
  // puts the image of that record's noise (one stream from the seed, drawn at once), and every other
  // caption at a fixed vector: R-precision is 1 only if every image came from its own noise.
  const own = noGrad(() => {
    using z = randn([40, 12], { generator: new Generator(5) });
    using images = draw(z);
    const f = image.forward(images);
    f.regions.dispose();
    return f.global;
  });
  const vec = (c: string): number[] =>
    Array.from({ length: 8 }, (_, j) => Math.sin((j + 1) * (c.length + c.charCodeAt(5))));
  const row = (c: string): Tensor => {
    const i = records.findIndex((r) => r.captions[0] === c);
    return i >= 0 ? own.narrow(0, i, 1).clone() : tensor([vec(c)]);
  };
  const text = {
    encode: ({ captions }: { captions: string[] }) => tidy(() => cat(captions.map(row), 0)),
  } as unknown as Conditioner;
  const sizes: number[] = [];
  const sampler: Sampler = {
    noiseDim: 12,
    device: 'cpu',
    conditioner: text,
    images: (z) => (sizes.push(z.size(0)), draw(z)),
    inEvalMode: (fn) => fn(),
  };
  const metric = rPrecisionMetric({ text, image }, { samples: 40, seed: 5, records });
  const got = metric.measure(sampler) as Record<string, number>;
  assert.deepEqual(sizes, [8, 8, 8, 8, 8]);
  // Near 1 (image features of a random encoder can nearly tie); chance is 1 in 80.
  assert.ok(got.rprec! >= 0.9, String(got.rprec));
  own.dispose();
  metric.dispose();
});
