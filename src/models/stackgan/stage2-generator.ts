// StackGAN's Stage-II generator G (Zhang et al. 2017, §3.3, Fig. 2): it reads the Stage-I image
// s₀, not noise. Down-sampling blocks encode s₀ to 16×16 features; a second conditioning
// augmentation (its own weights) gives ĉ, which is spatially replicated and joined to them; residual
// blocks learn the joint image-text features; up-sampling blocks decode them to 4× the side
// (64 → 256). Fed the text again, it corrects what Stage I got wrong and adds the details.
import { F, cat, noGrad, type Generator, type Tensor } from '../../engine/index.js';
import { Module, ReLU, Sequential, type Conv2d } from '../../nn/index.js';
import type { GeneratorOutput } from '../dcgan/conditional-generator.js';
import { ConditioningAugmentation } from '../layers/conditioning-augmentation.js';
import { Conv3x3Block, DownBlock, ResidualBlock, UpBlock, conv3x3 } from './blocks.js';
import { stackganInit } from './init.js';

export interface Stage2GeneratorOptions {
  /** Width of the text embedding φ_t. */
  embeddingDim: number;
  /** Width of the conditioning-augmentation vector ĉ (N_g = 128). */
  conditionDim: number;
  /** N_gf (128 in the official code): 4·N_gf channels at 16×16, N_gf/4 before the RGB layer. */
  width: number;
  /** Residual blocks at 16×16 (4 for 256×256 models, 2 for 128×128 ones). */
  residualBlocks: number;
  /** Side of the Stage-I images it refines (64); it outputs 4× that. */
  inputResolution: number;
  /** Side of its images: 4 × inputResolution. */
  resolution: number;
  /**
   * Not in the paper: the output adds to the Stage-I image rather than replacing it, tanh(atanh(s₀↑)
   * + G₂(s₀, ĉ)) with s₀↑ its nearest 4× up-sampling, and the last convolution starts at zero, so
   * Stage II starts as s₀ enlarged and learns what to change. At a quarter of the official width the
   * 16×16 path cannot carry s₀ back to 256 px (results.md, "WGAN-CLS + Stage II").
   */
  imageSkip?: boolean;
  /**
   * Not in the paper, with imageSkip: G₂'s output minus its average over each 4×4 block (the block
   * one Stage-I pixel becomes), so before the tanh the 256 px image pools back to s₀: Stage II is
   * meant to add detail, not move what the 64 px image already holds (free to, it shifted the colours
   * the caption names). The average is removed before the tanh only: where the detail saturates it,
   * the pooled image does move, and in training it drew stripes that did (results.md, "detail only").
   */
  detailOnly?: boolean;
}

export class Stage2Generator extends Module {
  readonly ca: ConditioningAugmentation;
  readonly encoder: Sequential;
  readonly joint: Conv3x3Block;
  readonly residual: Sequential;
  readonly blocks: UpBlock[] = [];
  readonly toRgb: Conv2d;

  constructor(readonly o: Stage2GeneratorOptions) {
    super();
    const ngf = o.width;
    if (o.detailOnly && !o.imageSkip)
      throw new Error('detailOnly removes the average of the change imageSkip adds: it needs imageSkip');
    if (ngf % 4 !== 0)
      throw new RangeError(`the Stage-II width must be a multiple of 4 (it ends at width/4), got ${ngf}`);
    if (o.resolution !== o.inputResolution * 4)
      throw new RangeError(
        `Stage II outputs 4× its input side: ${o.inputResolution} → ${o.inputResolution * 4}, not ${o.resolution}`,
      );
    this.ca = this.module('ca', new ConditioningAugmentation(o.embeddingDim, o.conditionDim));
    // The first layer has no batch norm; two stride-2 blocks bring 64×64 to 16×16.
    this.encoder = this.module(
      'encoder',
      new Sequential(
        conv3x3(3, ngf),
        new ReLU(),
        new DownBlock(ngf, ngf * 2, true, 'relu'),
        new DownBlock(ngf * 2, ngf * 4, true, 'relu'),
      ),
    );
    this.joint = this.module('joint', new Conv3x3Block(ngf * 4 + o.conditionDim, ngf * 4, 'relu'));
    this.residual = this.module(
      'residual',
      new Sequential(...Array.from({ length: o.residualBlocks }, () => new ResidualBlock(ngf * 4))),
    );
    let c = ngf * 4;
    for (let i = 0; i < 4; i++) {
      this.blocks.push(this.module(`up${i}`, new UpBlock(c, c / 2)));
      c /= 2;
    }
    this.toRgb = this.module('to_rgb', conv3x3(c, 3));
    stackganInit(this);
    if (o.imageSkip) noGrad(() => this.toRgb.weight.zero_());
  }

  /**
   * Stage-I images [B, 3, r, r] and text embeddings [B, embeddingDim] → images [B, 3, 4r, 4r] in
   * [-1, 1], with this stage's conditioning Gaussian for its KL term.
   */
  forward(lowRes: Tensor, embedding: Tensor, generator?: Generator): GeneratorOutput {
    using encoded = this.encoder.forward(lowRes);
    const { condition, mu, logvar } = this.ca.forward(embedding, generator);
    const [n, , h, w] = encoded.shape as [number, number, number, number];
    using cv = condition.view(n, this.o.conditionDim, 1, 1);
    condition.dispose();
    using tiled = cv.expand(n, this.o.conditionDim, h, w);
    using joined = cat([encoded, tiled], 1);
    using j = this.joint.forward(joined);
    let x = this.residual.forward(j);
    for (const b of this.blocks) {
      const y = b.forward(x);
      x.dispose();
      x = y;
    }
    using out = this.toRgb.forward(x);
    x.dispose();
    if (!this.o.imageSkip) return { images: out.tanh(), mu, logvar };
    // atanh(s) = ½ log((1 + s)/(1 − s)), s₀ kept off ±1 where it is infinite.
    using up = F.interpolate(lowRes, { scaleFactor: 4, mode: 'nearest' });
    using s = up.clamp(-0.999, 0.999);
    using num = s.add(1);
    using negated = s.neg();
    using den = negated.add(1);
    using ratio = num.div(den);
    using logRatio = ratio.log();
    using logit = logRatio.mul(0.5);
    if (!this.o.detailOnly) {
      using sum = logit.add(out);
      return { images: sum.tanh(), mu, logvar };
    }
    using change = blockDetail(out, this.o.resolution / this.o.inputResolution);
    using sum = logit.add(change);
    return { images: sum.tanh(), mu, logvar };
  }
}

/** x minus its average over each k×k block: what in x an average pooling by k does not see. */
function blockDetail(x: Tensor, k: number): Tensor {
  using pooled = F.avgPool2d(x, k);
  using back = F.interpolate(pooled, { scaleFactor: k, mode: 'nearest' });
  return x.sub(back);
}
