// DF-GAN's discriminator (Tao et al., CVPR 2022, §3.2 and Fig. 2): a deep residual image encoder
// down to 8nf×4×4, and a conditional head that joins the sentence embedding there, replicated over
// the 4×4 grid, and judges the pair with two convolutions (one-way output: a single score for
// "real image matching this text").
//
//   image ─conv 3×3─▶ nf ─▶ [DownBlock]×k ─▶ 8nf×4×4 ─┐
//   sentence ─────────────── repeat 4×4 ──────────────┴─cat─▶ conv 3×3 → LReLU → conv 4×4 ─▶ score
//   DownBlock(x): shortcut(x)↓2 + γ·(conv 4×4/2 → LReLU → conv 3×3 → LReLU)(x),  γ starts at 0
import { F, cat, tidy, zeros, type Tensor } from '../../engine/index.js';
import { Conv2d, Module } from '../../nn/index.js';
import { discriminatorChannels } from './generator.js';

export interface DfDiscriminatorOptions {
  /** nf: the channels after the first convolution; 8nf at 4×4. */
  width: number;
  /** Input side, 2^k (64, 128, 256). */
  resolution: number;
  /** Sentence embedding width. */
  condDim: number;
  /** The side down from which the layout is the official one (grown models); default `resolution`. */
  baseResolution?: number;
}

class DownBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;
  /** The residual branch's weight: 0 at the start, so each block begins as its (pooled) shortcut. */
  readonly gamma: Tensor;
  constructor(inC: number, outC: number) {
    super();
    this.conv1 = this.module('conv1', new Conv2d(inC, outC, 4, { stride: 2, padding: 1, bias: false }));
    this.conv2 = this.module('conv2', new Conv2d(outC, outC, 3, { padding: 1, bias: false }));
    this.shortcut = inC === outC ? null : this.module('shortcut', new Conv2d(inC, outC, 1));
    this.gamma = this.param('gamma', zeros([1]));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const res = this.conv2.forward(this.conv1.forward(x).leakyRelu(0.2)).leakyRelu(0.2);
      const s = F.avgPool2d(this.shortcut === null ? x : this.shortcut.forward(x), 2);
      return s.add(res.mul(this.gamma));
    });
  }
}

/** φ(x): the image down to 8nf×4×4. */
export class DfImageEncoder extends Module {
  readonly stem: Conv2d;
  readonly blocks: DownBlock[];
  readonly channels: number[];
  constructor(readonly o: DfDiscriminatorOptions) {
    super();
    this.channels = discriminatorChannels(o.width, o.resolution, o.baseResolution);
    this.stem = this.module('stem', new Conv2d(3, this.channels[0]!, 3, { padding: 1 }));
    this.blocks = this.channels
      .slice(1)
      .map((out, i) => this.module(`block${i}`, new DownBlock(this.channels[i]!, out)));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.stem.forward(x);
      for (const b of this.blocks) h = b.forward(h);
      return h;
    });
  }
}

/** The conditional head: the 4×4 features and the sentence, replicated, judged together. */
export class DfConditionalHead extends Module {
  readonly joint1: Conv2d;
  readonly joint2: Conv2d;
  constructor(
    readonly features: number,
    readonly condDim: number,
  ) {
    super();
    this.joint1 = this.module('joint1', new Conv2d(features + condDim, features / 4, 3, { padding: 1, bias: false }));
    this.joint2 = this.module('joint2', new Conv2d(features / 4, 1, 4, { bias: false }));
  }
  /** features [B, 8nf, 4, 4], sentence [B, condDim] → scores [B]. */
  forward(features: Tensor, sentence: Tensor): Tensor {
    return tidy(() => {
      const b = features.size(0);
      const s = sentence.reshape(b, this.condDim, 1, 1).expand(b, this.condDim, 4, 4);
      return this.joint2.forward(this.joint1.forward(cat([features, s], 1)).leakyRelu(0.2)).reshape(b);
    });
  }
}

export class DfDiscriminator extends Module {
  readonly encoder: DfImageEncoder;
  readonly head: DfConditionalHead;
  constructor(readonly o: DfDiscriminatorOptions) {
    super();
    this.encoder = this.module('encoder', new DfImageEncoder(o));
    this.head = this.module('head', new DfConditionalHead(this.encoder.channels.at(-1)!, o.condDim));
  }
  /** D(x, s): images [B, 3, R, R] and sentences [B, condDim] → scores [B] (higher: real and matching). */
  forward(images: Tensor, sentence: Tensor): Tensor {
    return tidy(() => this.head.forward(this.encoder.forward(images), sentence));
  }
}
