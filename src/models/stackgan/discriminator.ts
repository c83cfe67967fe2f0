// StackGAN's discriminators D₀ (Stage I, 64×64) and D (Stage II, 256×256) (Zhang et al. 2017,
// §3.2–3.3): down-sampling blocks reduce the image to 4×4 features (at 256 px, to 32·N_df channels,
// brought back to 8·N_df by 3×3 convolutions as in the official code); the text embedding is
// compressed to N_d dimensions by a fully connected layer with leaky ReLU and spatially replicated;
// a 3×3 convolution learns image and text together and a 4×4 convolution gives one logit: does the
// image look real *and* match the text (matching-aware, scored on (real, wrong text) pairs too).
// Optionally a second 4×4 convolution on the image features alone gives an unconditional logit, as
// the official PyTorch Stage-II discriminator has.
import { cat, type Tensor } from '../../engine/index.js';
import { Conv2d, Linear, Module, Sequential } from '../../nn/index.js';
import { Conv3x3Block, DownBlock } from './blocks.js';
import { stackganInit } from './init.js';

export interface StackGanDiscriminatorOptions {
  /** Width of the text embedding φ_t. */
  embeddingDim: number;
  /**
   * N_d = 128: width of the compressed text embedding. 0: the embedding is joined as it is, as the
   * StackGAN++ (conditioning code μ) and AttnGAN (sentence embedding) discriminators do.
   */
  projectionDim: number;
  /** N_df = 64: channels of the first down-sampling block, doubled by each next one. */
  width: number;
  /** Side of the images it judges (64 for D₀, 256 for D). */
  resolution: number;
  /** Add the unconditional (image only) logit. */
  unconditional: boolean;
}

export class StackGanDiscriminator extends Module {
  readonly encoder: Sequential;
  readonly projection: Linear | null;
  readonly joint: Conv3x3Block;
  readonly logits: Conv2d;
  readonly uncondLogits: Conv2d | null;
  /** Channels of the 4×4 image features. */
  readonly channels: number;

  constructor(readonly o: StackGanDiscriminatorOptions) {
    super();
    const downs = Math.log2(o.resolution / 4);
    if (!Number.isInteger(downs) || downs < 1)
      throw new RangeError(`resolution must be 8, 16, 32, 64, …; got ${o.resolution}`);
    const layers: (DownBlock | Conv3x3Block)[] = [];
    let c = 3;
    for (let i = 0; i < downs; i++) {
      const out = o.width * 2 ** i;
      layers.push(new DownBlock(c, out, i > 0, 'leaky_relu'));
      c = out;
    }
    // Past 8·N_df channels (more than four down-samplings), halve back to 8·N_df at 4×4.
    while (c > o.width * 8) {
      layers.push(new Conv3x3Block(c, c / 2, 'leaky_relu'));
      c /= 2;
    }
    this.channels = c;
    this.encoder = this.module('encoder', new Sequential(...layers));
    this.projection =
      o.projectionDim > 0 ? this.module('projection', new Linear(o.embeddingDim, o.projectionDim)) : null;
    this.joint = this.module('joint', new Conv3x3Block(c + this.textDim, c, 'leaky_relu'));
    this.logits = this.module('logits', new Conv2d(c, 1, 4, { stride: 4 }));
    this.uncondLogits = o.unconditional ? this.module('uncond_logits', new Conv2d(c, 1, 4, { stride: 4 })) : null;
    stackganInit(this);
  }

  /** Width of the text code joined to the image features. */
  get textDim(): number {
    return this.o.projectionDim > 0 ? this.o.projectionDim : this.o.embeddingDim;
  }

  /** The image path alone: [B, 3, R, R] → [B, C, 4, 4], shared by the real, wrong and fake pairs. */
  features(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  /** Conditional logits [B] of (image features, text embedding) pairs. */
  score(features: Tensor, embedding: Tensor): Tensor {
    const n = features.size(0);
    using p = this.#project(embedding);
    using pv = p.view(n, this.textDim, 1, 1);
    using tiled = pv.expand(n, this.textDim, 4, 4);
    using joined = cat([features, tiled], 1);
    using h = this.joint.forward(joined);
    using s = this.logits.forward(h);
    return s.view(n);
  }

  #project(embedding: Tensor): Tensor {
    if (this.projection === null) return embedding.alias();
    using p = this.projection.forward(embedding);
    return p.leakyRelu(0.2);
  }

  /** Unconditional logits [B] (image realism alone); needs `unconditional`. */
  unconditionalScore(features: Tensor): Tensor {
    if (this.uncondLogits === null) throw new Error('this discriminator was built without the unconditional logit');
    using s = this.uncondLogits.forward(features);
    return s.view(features.size(0));
  }
}
