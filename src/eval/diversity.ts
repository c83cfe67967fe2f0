// Sample diversity, the mode-collapse check: the mean pairwise Euclidean distance between the
// features of images generated for one caption (noise varies, text fixed), averaged over captions,
// set against the same statistic on real held-out images that share a class (the real spread of
// one kind of bird or one hair/eye combination). In the spirit of the LPIPS diversity score (Zhu et
// al. 2017, BicycleGAN; Huang et al. 2018, MUNIT), on the evaluation's feature network.
//
// A conditional generator that ignores its noise draws the same image for every z: its diversity
// is ~0 whatever its FID. Real classes also vary in pose and background that one caption does not
// fix, so a healthy generator need not reach the real figure; the flag is raised only when it falls
// below DEFAULT_COLLAPSE_RATIO of it, a heuristic threshold (docs/evaluation.md), not a test.
import { noGrad, tidy, type Tensor } from '../engine/index.js';

/** Generated diversity below this fraction of the real one is flagged as mode collapse. */
export const DEFAULT_COLLAPSE_RATIO = 0.5;

/** Mean Euclidean distance over the n(n−1)/2 pairs of rows of features [n, D] (n ≥ 2), in float64. */
export function meanPairwiseDistance(features: Tensor): number {
  if (features.rank !== 2) throw new RangeError(`expected features [n, D], got [${features.shape.join(', ')}]`);
  const n = features.size(0);
  if (n < 2) throw new RangeError(`a pairwise distance needs at least 2 samples, got ${n}`);
  return noGrad(() => {
    using x = features.to('float64');
    let sum = 0;
    // Row by row from explicit differences: identical rows give exactly 0 (the Gram-matrix form
    // ‖a‖² + ‖b‖² − 2a·b leaves rounding noise of order √ε·‖a‖).
    for (let i = 0; i < n - 1; i++)
      sum += tidy(() =>
        x
          .narrow(0, i + 1, n - i - 1)
          .sub(x.narrow(0, i, 1))
          .norm(2, 1)
          .sum()
          .item(),
      );
    return sum / ((n * (n - 1)) / 2);
  });
}

/** The mean over groups of each group's mean pairwise distance (groups of < 2 are skipped). */
export function groupDiversity(groups: readonly Tensor[]): { mean: number; perGroup: number[] } {
  const perGroup = groups.filter((g) => g.size(0) >= 2).map(meanPairwiseDistance);
  if (perGroup.length === 0) throw new RangeError('diversity needs at least one group of 2 or more samples');
  return { mean: perGroup.reduce((a, b) => a + b, 0) / perGroup.length, perGroup };
}

export interface DiversityResult {
  /** Mean pairwise feature distance within a caption's samples, averaged over captions. */
  generated: number;
  /** The same within a real class, averaged over the same classes. */
  real: number;
  /** generated / real. */
  ratio: number;
  /** The fraction below which modeCollapse is set. */
  threshold: number;
  modeCollapse: boolean;
  /** Captions (groups) and samples per caption on the generated side. */
  captions: number;
  perCaption: number;
  /** Real images per class that entered, summed. */
  realImages: number;
  perCaptionDiversity: number[];
}

/**
 * Compares generated groups (one per caption, [k, D] each) with real groups (one per class) on the
 * same feature network; modeCollapse when generated < threshold · real.
 */
export function diversity(
  generated: readonly Tensor[],
  real: readonly Tensor[],
  threshold = DEFAULT_COLLAPSE_RATIO,
): DiversityResult {
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
  const g = groupDiversity(generated);
  const r = groupDiversity(real);
  if (!(r.mean > 0)) throw new RangeError('the real images have no diversity to compare with (all identical)');
  const ratio = g.mean / r.mean;
  return {
    generated: g.mean,
    real: r.mean,
    ratio,
    threshold,
    modeCollapse: ratio < threshold,
    captions: generated.length,
    perCaption: generated[0]?.size(0) ?? 0,
    realImages: real.filter((t) => t.size(0) >= 2).reduce((a, t) => a + t.size(0), 0),
    perCaptionDiversity: g.perGroup,
  };
}
