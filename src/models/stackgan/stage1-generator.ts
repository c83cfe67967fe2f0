// StackGAN's Stage-I generator G₀ (Zhang et al. 2017, §3.2, Fig. 2): conditioning augmentation
// turns the text embedding φ_t into ĉ₀ ~ N(μ₀(φ_t), Σ₀(φ_t)); [ĉ₀; z] goes through a fully
// connected layer to 4×4×(N_gf·8) features and up-sampling blocks halve the channels while doubling
// the side up to the low-resolution image (64×64): the rough shape and colours of the object.
import { cat, type Generator, type Tensor } from '../../engine/index.js';
import { BatchNorm1d, Linear, Module, type Conv2d } from '../../nn/index.js';
import type { GeneratorOutput } from '../dcgan/conditional-generator.js';
import { ConditioningAugmentation } from '../layers/conditioning-augmentation.js';
import { UpBlock, conv3x3 } from './blocks.js';
import { stackganInit } from './init.js';

export interface Stage1GeneratorOptions {
  /** Size of z (N_z = 100). */
  noiseDim: number;
  /** Width of the text embedding φ_t. */
  embeddingDim: number;
  /** Width of the conditioning-augmentation vector ĉ₀ (N_g = 128). */
  conditionDim: number;
  /** N_gf (128 in the official code): the 4×4 features have 8·N_gf channels. */
  width: number;
  /** Side of the images (64). */
  resolution: number;
}

export class Stage1Generator extends Module {
  readonly ca: ConditioningAugmentation;
  readonly fc: Linear;
  readonly fcNorm: BatchNorm1d;
  readonly blocks: UpBlock[] = [];
  readonly toRgb: Conv2d;
  readonly base: number;

  constructor(readonly o: Stage1GeneratorOptions) {
    super();
    const ups = Math.log2(o.resolution / 4);
    this.base = o.width * 8;
    if (!Number.isInteger(ups) || ups < 1)
      throw new RangeError(`resolution must be 8, 16, 32, 64, …; got ${o.resolution}`);
    if (!Number.isInteger(this.base / 2 ** ups))
      throw new RangeError(`width ${o.width} is too small for ${ups} up-sampling blocks that halve 8·width channels`);
    this.ca = this.module('ca', new ConditioningAugmentation(o.embeddingDim, o.conditionDim));
    this.fc = this.module('fc', new Linear(o.noiseDim + o.conditionDim, this.base * 16, { bias: false }));
    this.fcNorm = this.module('fc_norm', new BatchNorm1d(this.base * 16));
    let c = this.base;
    for (let i = 0; i < ups; i++) {
      this.blocks.push(this.module(`up${i}`, new UpBlock(c, c / 2)));
      c /= 2;
    }
    this.toRgb = this.module('to_rgb', conv3x3(c, 3));
    stackganInit(this);
  }

  /**
   * z [B, noiseDim], text embedding [B, embeddingDim] → images [B, 3, R, R] in [-1, 1], with the
   * conditioning Gaussian (μ₀, log σ₀²) for the KL term. `generator` draws the CA noise in training.
   */
  forward(z: Tensor, embedding: Tensor, generator?: Generator): GeneratorOutput {
    const { condition, mu, logvar } = this.ca.forward(embedding, generator);
    using zc = cat([z, condition], 1);
    condition.dispose();
    using h0 = this.fc.forward(zc);
    using h1 = this.fcNorm.forward(h0);
    using h2 = h1.relu();
    let x = h2.view(-1, this.base, 4, 4);
    for (const b of this.blocks) {
      const y = b.forward(x);
      x.dispose();
      x = y;
    }
    using out = this.toRgb.forward(x);
    x.dispose();
    return { images: out.tanh(), mu, logvar };
  }
}
