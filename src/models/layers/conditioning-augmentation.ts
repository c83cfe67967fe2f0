// Conditioning augmentation (Zhang et al. 2017, StackGAN, §3.1): instead of a fixed text
// embedding, the generator gets c ~ N(mu(φ_t), Σ(φ_t)), sampled with the reparameterization
// trick, and a KL term pulls that Gaussian towards N(0, I). Small caption changes then map to a
// smooth conditioning manifold, and one caption yields many conditions.
import { F, randn, type Generator, type Tensor } from '../../engine/index.js';
import { Linear, Module } from '../../nn/index.js';
import { glu } from './glu.js';

export interface ConditioningOutput {
  /** The sampled condition ĉ [B, conditionDim] (equal to mu in eval mode). */
  condition: Tensor;
  mu: Tensor;
  logvar: Tensor;
}

/**
 * The non-linearity after the fully connected layer: StackGAN's ReLU, or the gated linear unit of
 * StackGAN++ and AttnGAN (the layer is then twice as wide and half of it gates the other half).
 */
export type ConditioningActivation = 'relu' | 'glu';

export class ConditioningAugmentation extends Module {
  readonly fc: Linear;

  constructor(
    readonly embeddingDim: number,
    readonly conditionDim: number,
    readonly activation: ConditioningActivation = 'relu',
  ) {
    super();
    // One layer gives mu and log σ² side by side, as in the papers' implementations.
    this.fc = this.module('fc', new Linear(embeddingDim, conditionDim * (activation === 'glu' ? 4 : 2)));
  }

  forward(embedding: Tensor, generator?: Generator): ConditioningOutput {
    using h = this.fc.forward(embedding);
    using a = this.activation === 'glu' ? glu(h) : h.relu();
    using muView = a.narrow(1, 0, this.conditionDim);
    using logvarView = a.narrow(1, this.conditionDim, this.conditionDim);
    const mu = muView.contiguous();
    const logvar = logvarView.contiguous();
    if (!this.training) return { condition: mu.clone(), mu, logvar };
    using halfLogvar = logvar.mul(0.5);
    using std = halfLogvar.exp();
    using eps = randn(std.shape, { device: std.device, ...(generator ? { generator } : {}) });
    using noise = eps.mul(std);
    return { condition: mu.add(noise), mu, logvar };
  }

  /** KL(N(mu, σ²) || N(0, I)), averaged over the batch: the regulariser of the paper's Eq. 3. */
  static klLoss(mu: Tensor, logvar: Tensor): Tensor {
    return F.gaussianKl(mu, logvar);
  }

  /**
   * The same divergence averaged over the condition's dimensions as well: the normalisation of the
   * official StackGAN code (mean over all elements), the scale its coefficient 2.0 was tuned for.
   */
  static klLossPerDimension(mu: Tensor, logvar: Tensor): Tensor {
    using kl = F.gaussianKl(mu, logvar);
    return kl.div(mu.size(1));
  }
}
