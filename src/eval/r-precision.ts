// R-precision as AttnGAN (Xu et al. 2018, §5) and DM-GAN report it: for each generated image, rank
// its own caption against 99 mismatched ones by the cosine similarity of DAMSM features; the score is
// the fraction ranked first (R = 1 relevant caption), averaged over samples, mean ± std over splits.
import { noGrad, tidy, type Tensor } from '../engine/index.js';
import { Prng } from '../util/prng.js';

export interface RPrecisionOptions {
  /** Captions per ranking: 1 true + (candidates − 1) mismatched (AttnGAN: 100). */
  candidates?: number;
  /** Independent repetitions with different mismatched sets (AttnGAN: 10). */
  splits?: number;
  seed?: number;
  /** Class of each pool caption and each sample: mismatched captions come from other classes. */
  poolClasses?: readonly string[];
  sampleClasses?: readonly string[];
}

export interface RPrecisionResult {
  mean: number;
  std: number;
  splits: number[];
  samples: number;
  candidates: number;
}

/**
 * @param images generated-image features [N, D] (DAMSM image encoder, global)
 * @param texts the matching caption features [N, D] (DAMSM text encoder, sentence)
 * @param pool caption features to draw mismatched captions from [M, D]
 */
export function rPrecision(images: Tensor, texts: Tensor, pool: Tensor, o: RPrecisionOptions = {}): RPrecisionResult {
  const k = o.candidates ?? 100;
  const splits = o.splits ?? 10;
  const n = images.size(0);
  const m = pool.size(0);
  if (texts.size(0) !== n) throw new Error(`rPrecision: ${n} images but ${texts.size(0)} captions`);
  if (m < k - 1)
    throw new Error(`rPrecision: the pool has ${m} captions, fewer than the ${k - 1} mismatched ones needed`);
  // Cosine similarities of every image with its caption and with every pool caption, once.
  const [own, withPool] = noGrad(() =>
    tidy(() => {
      const unit = (t: Tensor): Tensor => t.div(t.norm(2, 1, true).clamp(1e-8));
      const a = unit(images);
      return [
        a.mul(unit(texts)).sum(1).toTypedArray() as Float32Array,
        a.matmul(unit(pool).t()).toTypedArray() as Float32Array,
      ];
    }),
  );
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const rng = Prng.derive(o.seed ?? 0, s);
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const cls = o.sampleClasses?.[i];
      let better = 0;
      let drawn = 0;
      let guard = 0;
      while (drawn < k - 1) {
        const j = rng.int(m);
        if (cls !== undefined && o.poolClasses?.[j] === cls && ++guard < 100 * k) continue;
        drawn++;
        if (withPool[i * m + j]! >= own[i]!) better++;
      }
      if (better === 0) hits++;
    }
    scores.push(hits / n);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return { mean, std, splits: scores, samples: n, candidates: k };
}
