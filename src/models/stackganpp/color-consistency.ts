// StackGAN++'s colour-consistency regularisation (TPAMI 2018, §4.3, Eq. 9): images of the same
// noise and text at neighbouring scales should share their colour statistics. Per image, the mean
// μ and the 3×3 covariance Σ of its pixels' RGB values are compared across scales:
//   L_C = λ₁·‖μ_i − μ_{i−1}‖² + λ₂·‖Σ_i − Σ_{i−1}‖²_F   (averaged as in the official MSE losses)
import { tidy, type Tensor } from '../../engine/index.js';

/** Per image, the mean [B, 3] and covariance [B, 3, 3] of its pixels' colours. */
export function colorStatistics(images: Tensor): { mean: Tensor; covariance: Tensor } {
  if (images.rank !== 4) throw new TypeError(`colorStatistics expects images [B, C, H, W], got ${images.toString()}`);
  return tidy(() => {
    const [b, c, h, w] = images.shape as [number, number, number, number];
    const pixels = images.reshape(b, c, h * w);
    const mean = pixels.mean(2, true); // [B, C, 1]
    const centred = pixels.sub(mean);
    const covariance = centred.bmm(centred.transpose(1, 2)).div(h * w);
    return { mean: mean.squeeze(2), covariance };
  });
}

/**
 * λ₁ and λ₂ of Eq. 9 for a colour weight λ: the official code weights the covariance term five times
 * the mean term (λ₂ = 5·λ₁), so every recipe that uses the term gets its weights here.
 */
export function colorConsistencyWeights(lambda: number): { mean: number; covariance: number } {
  return { mean: lambda, covariance: 5 * lambda };
}

/** The two terms of L_C between the images of one scale and of the scale before (weigh them with colorConsistencyWeights). */
export function colorConsistency(images: Tensor, previous: Tensor): { mean: Tensor; covariance: Tensor } {
  if (images.size(0) !== previous.size(0) || images.size(1) !== previous.size(1))
    throw new TypeError(
      `colorConsistency expects two batches of the same images, got ${images.toString()} and ${previous.toString()}`,
    );
  return tidy(() => {
    const a = colorStatistics(images);
    const b = colorStatistics(previous);
    return { mean: a.mean.sub(b.mean).pow(2).mean(), covariance: a.covariance.sub(b.covariance).pow(2).mean() };
  });
}
