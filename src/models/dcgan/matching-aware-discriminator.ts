// The matching-aware discriminator of GAN-INT-CLS (Reed et al. 2016, §4.2): convolutions reduce
// the image to 4×4 features, the projected text embedding is tiled over those 4×4 positions and
// concatenated, and a 1×1 convolution followed by a 4×4 one scores whether the image is real *and*
// matches the text. Options cover the HW3-2 tag baseline (5×5 kernels, 256-wide ReLU projection),
// WGAN critics (no batch norm), spectral normalisation, minibatch discrimination and ACGAN's
// auxiliary classifier heads (Odena et al. 2017).
import { cat, type Tensor } from '../../engine/index.js';
import { Conv2d, Linear, Module, spectralNorm, type Layer } from '../../nn/index.js';
import { MinibatchDiscrimination } from '../layers/minibatch-discrimination.js';
import { norm2d, type NormKind } from '../layers/norm.js';
import { dcganInit } from './conditional-generator.js';

export interface MatchingAwareDiscriminatorOptions {
  conditionDim: number;
  projectionDim: number;
  projectionActivation: 'leaky_relu' | 'relu';
  /** Channels of the first layer; doubled at each downsampling. */
  width: number;
  resolution: number;
  kernel: 4 | 5;
  norm: NormKind;
  spectralNorm: boolean;
  /** Minibatch discrimination kernels (0: off) and their width. */
  minibatchKernels: number;
  minibatchKernelDim: number;
  /** Sizes of the ACGAN auxiliary classifiers (e.g. [hair colours, eye colours]); [] for none. */
  auxClasses: number[];
}

export interface DiscriminatorOutput {
  /** One logit (or critic value) per sample, [B]. */
  score: Tensor;
  /** ACGAN class logits per auxiliary head, each [B, n]. */
  aux: Tensor[];
}

/** Convolution → normalisation → leaky ReLU: the downsampling layers and the 1×1 joint layer. */
class ConvBlock extends Module implements Layer {
  readonly conv: Conv2d;
  readonly norm: Module & Layer;
  constructor(inC: number, outC: number, kernel: number, stride: number, norm: NormKind, sn: boolean) {
    super();
    // Padding k/2 (rounded down) halves the size for k4 s2 and keeps it for k1 s1 and k5 s2 ('same').
    const conv = new Conv2d(inC, outC, kernel, {
      stride,
      padding: Math.floor(kernel / 2) - (kernel === 4 ? 1 : 0),
      bias: norm === 'none',
    });
    this.conv = this.module('conv', sn ? spectralNorm(conv) : conv);
    this.norm = this.module('norm', norm2d(norm, outC));
  }
  forward(x: Tensor): Tensor {
    using h = this.conv.forward(x);
    using n = this.norm.forward(h);
    return n.leakyRelu(0.2);
  }
}

export class MatchingAwareDiscriminator extends Module {
  readonly blocks: ConvBlock[] = [];
  readonly projection: Linear;
  readonly joint: ConvBlock;
  readonly minibatch: MinibatchDiscrimination | null;
  readonly head: Linear;
  readonly auxHeads: Linear[] = [];
  readonly channels: number;

  constructor(readonly o: MatchingAwareDiscriminatorOptions) {
    super();
    const downs = Math.log2(o.resolution / 4);
    if (!Number.isInteger(downs) || downs < 1)
      throw new RangeError(`resolution must be 8, 16, 32, 64, …; got ${o.resolution}`);
    let c = 3;
    for (let i = 0; i < downs; i++) {
      const out = o.width * 2 ** i;
      // No normalisation on the first layer (DCGAN).
      this.blocks.push(
        this.module(`down${i}`, new ConvBlock(c, out, o.kernel, 2, i === 0 ? 'none' : o.norm, o.spectralNorm)),
      );
      c = out;
    }
    this.channels = c;
    const proj = new Linear(o.conditionDim, o.projectionDim);
    this.projection = this.module('projection', o.spectralNorm ? spectralNorm(proj) : proj);
    // The 1×1 convolution over [image features ; tiled text]: a stride-1 block with no resize.
    this.joint = this.module('joint', new ConvBlock(c + o.projectionDim, c, 1, 1, o.norm, o.spectralNorm));
    const flat = c * 16;
    this.minibatch =
      o.minibatchKernels > 0
        ? this.module('minibatch', new MinibatchDiscrimination(flat, o.minibatchKernels, o.minibatchKernelDim))
        : null;
    const head = new Linear(flat + o.minibatchKernels, 1);
    this.head = this.module('head', o.spectralNorm ? spectralNorm(head) : head);
    o.auxClasses.forEach((n, i) => {
      const h = new Linear(flat, n);
      this.auxHeads.push(this.module(`aux${i}`, o.spectralNorm ? spectralNorm(h) : h));
    });
    dcganInit(this);
  }

  /** The image path alone: [B, 3, R, R] → [B, C, 4, 4]. Shared by real, wrong and fake pairs. */
  features(images: Tensor): Tensor {
    let x = images.alias();
    for (const b of this.blocks) {
      const y = b.forward(x);
      x.dispose();
      x = y;
    }
    return x;
  }

  /** Scores (image features, condition) pairs; `features` comes from features(). */
  score(features: Tensor, condition: Tensor): DiscriminatorOutput {
    const n = features.size(0);
    using p0 = this.projection.forward(condition);
    using p = this.o.projectionActivation === 'relu' ? p0.relu() : p0.leakyRelu(0.2);
    using pv = p.view(n, this.o.projectionDim, 1, 1);
    using tiled = pv.expand(n, this.o.projectionDim, 4, 4);
    using joint = cat([features, tiled], 1);
    using h = this.joint.forward(joint);
    using flat = h.flatten(1);
    using f = this.minibatch ? this.minibatch.forward(flat) : flat.alias();
    using s = this.head.forward(f);
    const aux: Tensor[] = [];
    if (this.auxHeads.length > 0) {
      using imgFlat = features.flatten(1);
      for (const head of this.auxHeads) aux.push(head.forward(imgFlat));
    }
    return { score: s.view(n), aux };
  }

  forward(images: Tensor, condition: Tensor): DiscriminatorOutput {
    using f = this.features(images);
    return this.score(f, condition);
  }
}
