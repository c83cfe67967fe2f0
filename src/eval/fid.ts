// Fréchet Inception Distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
// Converge to a Local Nash Equilibrium", NeurIPS): the Fréchet (2-Wasserstein) distance between
// Gaussians fitted to two sets of features, ‖μa−μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^{1/2}) (Dowson &
// Landau 1982). The feature network is chosen by the caller; its name travels with cached
// statistics so that stats from different networks are never compared.
import fs from 'node:fs';
import path from 'node:path';

import { noGrad, tensor, tidy, zeros, type Tensor } from '../engine/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { traceSqrtProduct } from './linalg.js';

export interface FeatureStats {
  /** [dim] */
  mean: Float64Array;
  /** Row-major [dim, dim], unbiased (N−1). */
  cov: Float64Array;
  /** Number of feature vectors. */
  n: number;
  dim: number;
  /** The feature network (e.g. 'inception-v3-pool3'); stats with different names never compare. */
  features?: string;
}

export interface FeatureStatsOptions {
  /** Row length when the features are a flat Float64Array. */
  dim?: number;
  features?: string;
}

/** Rows per float64 chunk: bounds the extra memory to ~64 MiB whatever N is. */
const CHUNK_ELEMENTS = 1 << 23;

/**
 * Mean and covariance of features [N, D] (a tensor on any device, or a row-major Float64Array with
 * its D). Accumulated in float64 on the tensor's device, chunk by chunk: float32 sums over 50k
 * samples lose the digits that FID differences of ~0.1 live in.
 */
export function featureStats(x: Tensor | Float64Array, opts: number | FeatureStatsOptions = {}): FeatureStats {
  const o = typeof opts === 'number' ? { dim: opts } : opts;
  if (x instanceof Float64Array) {
    const d = o.dim;
    if (d === undefined || !Number.isInteger(d) || d < 1 || x.length % d !== 0)
      throw new RangeError(`featureStats: ${x.length} values are not rows of dim ${String(d)}`);
    using t = tensor(x, { shape: [x.length / d, d] });
    return featureStats(t, { features: o.features });
  }
  if (x.rank !== 2) throw new RangeError(`featureStats: expected features [N, D], got [${x.shape.join(', ')}]`);
  const [n, dim] = x.shape as [number, number];
  if (n < 2) throw new RangeError(`featureStats: a covariance needs at least 2 samples, got ${n}`);
  if (o.dim !== undefined && o.dim !== dim)
    throw new RangeError(`featureStats: dim ${o.dim} given, features have ${dim}`);
  const rows = Math.max(1, Math.floor(CHUNK_ELEMENTS / dim));
  return noGrad(() => {
    using mu = zeros([dim], { dtype: 'float64', device: x.device });
    using gram = zeros([dim, dim], { dtype: 'float64', device: x.device });
    for (let s = 0; s < n; s += rows)
      tidy(
        () =>
          void mu.addScaled_(
            x
              .narrow(0, s, Math.min(rows, n - s))
              .to('float64')
              .sum(0),
            1,
          ),
      );
    mu.mul_(1 / n);
    // Centred before the product: Σxxᵀ − Nμμᵀ cancels badly when |μ| ≫ σ (ReLU features).
    for (let s = 0; s < n; s += rows)
      tidy(() => {
        const c = x
          .narrow(0, s, Math.min(rows, n - s))
          .to('float64')
          .sub(mu);
        gram.addScaled_(c.t().matmul(c), 1);
      });
    const mean = mu.toTypedArray() as Float64Array;
    const g = gram.toTypedArray() as Float64Array;
    const cov = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++)
      for (let j = i; j < dim; j++) {
        const v = (0.5 * (g[i * dim + j]! + g[j * dim + i]!)) / (n - 1);
        cov[i * dim + j] = v;
        cov[j * dim + i] = v;
      }
    return { mean, cov, n, dim, ...(o.features !== undefined ? { features: o.features } : {}) };
  });
}

function compatible(a: FeatureStats, b: FeatureStats): void {
  if (a.dim !== b.dim) throw new RangeError(`FID: feature dimensions differ (${a.dim} vs ${b.dim})`);
  if (a.features !== undefined && b.features !== undefined && a.features !== b.features)
    throw new Error(`FID: statistics come from different feature networks ('${a.features}' vs '${b.features}')`);
}

/** ‖μa−μb‖² + Tr(Σa) + Tr(Σb) − 2·Tr((ΣaΣb)^{1/2}); not clipped, so rounding can give −1e-12. */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  compatible(a, b);
  const d = a.dim;
  let dist = 0;
  for (let i = 0; i < d; i++) dist += (a.mean[i]! - b.mean[i]!) ** 2;
  for (let i = 0; i < d; i++) dist += a.cov[i * d + i]! + b.cov[i * d + i]!;
  return dist - 2 * traceSqrtProduct(a.cov, b.cov, d);
}

function isStats(v: unknown): v is FeatureStats {
  return typeof v === 'object' && v !== null && 'cov' in v && 'mean' in v && !(v instanceof Float64Array);
}

/**
 * FID between two feature sets, each given as features [N, D] (a tensor, or a Float64Array with
 * opts.dim) or as precomputed statistics (e.g. a real split's, from loadStats).
 */
export function fid(
  a: Tensor | Float64Array | FeatureStats,
  b: Tensor | Float64Array | FeatureStats,
  opts: FeatureStatsOptions = {},
): number {
  const sa = isStats(a) ? a : featureStats(a, opts);
  const sb = isStats(b) ? b : featureStats(b, opts);
  return frechetDistance(sa, sb);
}

// ---- cached statistics ------------------------------------------------------------------------
const FORMAT = 'creativeai.fid-stats';

function encode(v: Float64Array): string {
  // Explicitly little-endian, so a file means the same on any host.
  const buf = Buffer.alloc(v.length * 8);
  for (let i = 0; i < v.length; i++) buf.writeDoubleLE(v[i]!, i * 8);
  return buf.toString('base64');
}

function decode(s: unknown, length: number, what: string, file: string): Float64Array {
  if (typeof s !== 'string') throw new Error(`${file}: '${what}' is missing`);
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== length * 8)
    throw new Error(`${file}: '${what}' holds ${buf.length / 8} values, expected ${length}`);
  const v = new Float64Array(length);
  for (let i = 0; i < length; i++) v[i] = buf.readDoubleLE(i * 8);
  return v;
}

/**
 * Writes statistics as JSON: the feature network, dim, n, the mean and the covariance's upper
 * triangle (it is symmetric; half the size) as base64 little-endian float64.
 */
export function saveStats(file: string, stats: FeatureStats): void {
  if (typeof stats.features !== 'string' || stats.features === '')
    throw new Error('saveStats: name the feature network (stats.features) so cached stats cannot be mixed up');
  const d = stats.dim;
  if (stats.mean.length !== d || stats.cov.length !== d * d)
    throw new RangeError('saveStats: mean/cov do not match dim');
  const upper = new Float64Array((d * (d + 1)) / 2);
  let k = 0;
  for (let i = 0; i < d; i++) for (let j = i; j < d; j++) upper[k++] = stats.cov[i * d + j]!;
  const json = JSON.stringify({
    format: FORMAT,
    version: 1,
    features: stats.features,
    dim: d,
    n: stats.n,
    mean: encode(stats.mean),
    covUpper: encode(upper),
  });
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomicSync(file, [Buffer.from(json, 'utf8')]);
}

/** Reads statistics written by saveStats; with `features`, refuses those of another network. */
export function loadStats(file: string, features?: string): FeatureStats {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (j.format !== FORMAT || j.version !== 1) throw new Error(`${file}: not FID statistics (${FORMAT} v1)`);
  if (typeof j.features !== 'string') throw new Error(`${file}: the feature network is not recorded`);
  if (features !== undefined && j.features !== features)
    throw new Error(`${file}: statistics of feature network '${j.features}', expected '${features}'`);
  const d = j.dim;
  const n = j.n;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) throw new Error(`${file}: bad dim ${String(d)}`);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2) throw new Error(`${file}: bad n ${String(n)}`);
  const mean = decode(j.mean, d, 'mean', file);
  const upper = decode(j.covUpper, (d * (d + 1)) / 2, 'covUpper', file);
  const cov = new Float64Array(d * d);
  let k = 0;
  for (let i = 0; i < d; i++)
    for (let jj = i; jj < d; jj++) {
      const v = upper[k++]!;
      cov[i * d + jj] = v;
      cov[jj * d + i] = v;
    }
  return { mean, cov, n, dim: d, features: j.features };
}
