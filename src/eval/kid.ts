// Kernel Inception Distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs",
// ICLR): the squared MMD between two feature sets under the cubic polynomial kernel
// k(x, y) = (xᵀy/d + 1)³ and the unbiased MMD² estimator of the authors' code (mmd_est='unbiased':
// within-set sums without the diagonal, the full cross sum, cf. Gretton et al. 2012, JMLR, §2.2),
// averaged over random subsets as there and in torch-fidelity. Being unbiased, values near 0 (and
// below) mean "indistinguishable at this sample size".
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';
import { Prng } from '../util/prng.js';

export interface KidOptions {
  /** Number of random subsets (default 100). */
  subsets?: number;
  /** Samples per subset from each set (default 1000, capped at the smaller set's size). */
  subsetSize?: number;
  seed?: number;
}

export interface KidResult {
  /** Mean of the per-subset unbiased MMD² estimates. */
  mean: number;
  /** Their population standard deviation (numpy's default, as the reference implementations report). */
  std: number;
  /** The per-subset estimates. */
  values: number[];
  subsetSize: number;
}

/** m distinct indices from [0, n): a partial Fisher-Yates shuffle. */
function sample(rng: Prng, n: number, m: number): BigInt64Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const out = new BigInt64Array(m);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = p[j]!;
    p[j] = p[i]!;
    p[i] = t;
    out[i] = BigInt(t);
  }
  return out;
}

/**
 * KID between features a [Na, D] and b [Nb, D] (e.g. real and generated), computed in float64 on
 * their device; deterministic for a given seed.
 */
export function kid(a: Tensor, b: Tensor, o: KidOptions = {}): KidResult {
  if (a.rank !== 2 || b.rank !== 2 || a.size(1) !== b.size(1))
    throw new RangeError(`kid: expected features [N, D] of the same D, got [${a.shape}] and [${b.shape}]`);
  const subsets = o.subsets ?? 100;
  if (!Number.isInteger(subsets) || subsets < 1) throw new RangeError(`kid: subsets must be ≥ 1, got ${subsets}`);
  const na = a.size(0);
  const nb = b.size(0);
  const d = a.size(1);
  const m = Math.min(o.subsetSize ?? 1000, na, nb);
  if (!Number.isInteger(m) || m < 2) throw new RangeError(`kid: subsets need at least 2 samples, got ${m}`);
  const values: number[] = [];
  noGrad(() => {
    // float64: the estimate is a small difference of kernel means of order 1–10.
    using x = a.to('float64');
    using y = b.to('float64');
    for (let s = 0; s < subsets; s++) {
      const rng = Prng.derive(o.seed ?? 0, s);
      const ia = sample(rng, na, m);
      const ib = sample(rng, nb, m);
      values.push(
        tidy(() => {
          const xs = x.indexSelect(0, tensor(ia, { device: x.device }));
          const ys = y.indexSelect(0, tensor(ib, { device: y.device }));
          const k = (p: Tensor, q: Tensor): Tensor => p.matmul(q.t()).div(d).add(1).pow(3);
          const kxx = k(xs, xs);
          const kyy = k(ys, ys);
          // Unbiased: the within-set sums leave out the diagonal k(x_i, x_i).
          const sxx = kxx.sum().item() - kxx.diag().sum().item();
          const syy = kyy.sum().item() - kyy.diag().sum().item();
          const sxy = k(xs, ys).sum().item();
          return (sxx + syy) / (m * (m - 1)) - (2 * sxy) / (m * m);
        }),
      );
    }
  });
  const mean = values.reduce((p, v) => p + v, 0) / subsets;
  const std = Math.sqrt(values.reduce((p, v) => p + (v - mean) ** 2, 0) / subsets);
  return { mean, std, values, subsetSize: m };
}
