// Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs", §4):
// IS = exp(E_x KL(p(y|x) ‖ p(y))), high when each image is confidently one class (sharp p(y|x))
// and the classes are varied (flat marginal p(y)). As in the authors' code, the N predictions are
// cut into `splits` consecutive parts, p(y) is each part's mean, and the result is mean ± std
// (population) over the parts. It lies in [1, K] for K classes. The classifier is the caller's:
// the FID Inception-v3 (1008 ImageNet classes) for the standard score, or a project classifier,
// whose score is reported under its own label and never compared with the standard one.
import { noGrad, tensor, tidy, type Tensor } from '../engine/index.js';

export interface InceptionScoreOptions {
  /** Consecutive parts the predictions are cut into (default 10, as in the reference code). */
  splits?: number;
}

export interface InceptionScoreResult {
  mean: number;
  std: number;
  /** The score of each part. */
  splits: number[];
  /** Predictions scored. */
  n: number;
  /** Classes K (the score's upper bound). */
  classes: number;
}

/**
 * IS of class probabilities [N, K] (rows summing to 1; a tensor on any device, or a row-major
 * Float64Array with K). Computed in float64; 0·log 0 counts as 0.
 */
export function inceptionScore(
  probs: Tensor | Float64Array,
  o: InceptionScoreOptions & { classes?: number } = {},
): InceptionScoreResult {
  if (probs instanceof Float64Array) {
    const k = o.classes;
    if (k === undefined || !Number.isInteger(k) || k < 1 || probs.length % k !== 0)
      throw new RangeError(`inceptionScore: ${probs.length} values are not rows of ${String(k)} classes`);
    using t = tensor(probs, { shape: [probs.length / k, k] });
    return inceptionScore(t, { splits: o.splits });
  }
  if (probs.rank !== 2) throw new RangeError(`inceptionScore: expected [N, K], got [${probs.shape.join(', ')}]`);
  const [n, k] = probs.shape as [number, number];
  const splits = o.splits ?? 10;
  if (!Number.isInteger(splits) || splits < 1 || splits > n)
    throw new RangeError(`inceptionScore: splits must be an integer in [1, ${n}] (the predictions), got ${splits}`);
  const scores = noGrad(() =>
    tidy(() => {
      const p = probs.to('float64');
      const min = p.min().item();
      const rowSums = p.sum(1);
      const worst = rowSums.sub(1).abs().max().item();
      if (min < 0 || worst > 1e-3)
        throw new RangeError(
          `inceptionScore: rows must be probabilities (≥ 0, summing to 1); min ${min}, largest row-sum error ${worst}`,
        );
      const out: number[] = [];
      for (let s = 0; s < splits; s++) {
        const start = Math.floor((s * n) / splits);
        const part = p.narrow(0, start, Math.floor(((s + 1) * n) / splits) - start);
        const py = part.mean(0, true);
        // p·(log p − log p(y)); the clamp only guards log 0, whose factor p is then 0 too.
        const kl = part
          .mul(part.clamp(1e-300).log().sub(py.clamp(1e-300).log()))
          .sum(1)
          .mean();
        out.push(Math.exp(kl.item()));
      }
      return out;
    }),
  );
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits: scores, n, classes: k };
}
