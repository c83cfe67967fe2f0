// The text-conditional DCGAN generator of GAN-INT-CLS (Reed et al. 2016, §4.1, Fig. 2): the text
// embedding φ(t) is compressed by a fully connected layer with leaky ReLU, concatenated with the
// noise z, and decoded by fractionally strided convolutions to the image. The HW3-2 tag baseline
// is the same network with a 256-wide ReLU projection and 5×5 kernels, so both are this class.
import { cat, type Generator, type Tensor } from '../../engine/index.js';
import { BatchNorm1d, ConvTranspose2d, Linear, Module, init, spectralNorm, type Layer } from '../../nn/index.js';
import { ConditioningAugmentation } from '../layers/conditioning-augmentation.js';
import { norm2d, type NormKind } from '../layers/norm.js';

export interface ConditionalGeneratorOptions {
  noiseDim: number;
  /** Width of the conditioning input (text embedding or one-hot tags). */
  conditionDim: number;
  /** Width after the projection (Reed: 128; HW3-2: 256). */
  projectionDim: number;
  projectionActivation: 'leaky_relu' | 'relu';
  /** Replace the projection by StackGAN's conditioning augmentation (adds a KL term). */
  conditioningAugmentation: boolean;
  /** Channels of the last hidden layer; the 4×4 layer has width × resolution/8. */
  width: number;
  resolution: number;
  kernel: 4 | 5;
  norm: NormKind;
  spectralNorm: boolean;
}

export interface GeneratorOutput {
  images: Tensor;
  /** Present with conditioning augmentation: for the KL term. */
  mu?: Tensor;
  logvar?: Tensor;
}

class UpBlock extends Module implements Layer {
  readonly conv: ConvTranspose2d;
  readonly norm: Module & Layer;
  constructor(inC: number, outC: number, kernel: 4 | 5, norm: NormKind, sn: boolean) {
    super();
    // k4 s2 p1 (DCGAN) and k5 s2 p2 op1 (the TF 'same' padding of HW3-2) both double the size.
    const conv = new ConvTranspose2d(inC, outC, kernel, {
      stride: 2,
      padding: kernel === 4 ? 1 : 2,
      outputPadding: kernel === 4 ? 0 : 1,
      bias: norm === 'none',
    });
    this.conv = this.module('conv', sn ? spectralNorm(conv) : conv);
    this.norm = this.module('norm', norm2d(norm, outC));
  }
  forward(x: Tensor): Tensor {
    using h = this.conv.forward(x);
    using n = this.norm.forward(h);
    return n.relu();
  }
}

export class ConditionalGenerator extends Module {
  readonly projection: Linear | null;
  readonly ca: ConditioningAugmentation | null;
  readonly fc: Linear;
  readonly fcNorm: BatchNorm1d | null;
  readonly blocks: UpBlock[] = [];
  readonly toRgb: ConvTranspose2d;
  readonly base: number;

  constructor(readonly o: ConditionalGeneratorOptions) {
    super();
    const ups = Math.log2(o.resolution / 4);
    if (!Number.isInteger(ups) || ups < 1)
      throw new RangeError(`resolution must be 8, 16, 32, 64, …; got ${o.resolution}`);
    this.base = o.width * 2 ** (ups - 1);
    if (o.conditioningAugmentation) {
      this.ca = this.module('ca', new ConditioningAugmentation(o.conditionDim, o.projectionDim));
      this.projection = null;
    } else {
      this.projection = this.module('projection', new Linear(o.conditionDim, o.projectionDim));
      this.ca = null;
    }
    this.fc = this.module('fc', new Linear(o.noiseDim + o.projectionDim, this.base * 16, { bias: o.norm === 'none' }));
    if (o.spectralNorm) spectralNorm(this.fc);
    this.fcNorm = o.norm === 'none' ? null : this.module('fc_norm', new BatchNorm1d(this.base * 16));
    let c = this.base;
    for (let i = 0; i < ups - 1; i++) {
      this.blocks.push(this.module(`up${i}`, new UpBlock(c, c / 2, o.kernel, o.norm, o.spectralNorm)));
      c /= 2;
    }
    const rgb = new ConvTranspose2d(c, 3, o.kernel, {
      stride: 2,
      padding: o.kernel === 4 ? 1 : 2,
      outputPadding: o.kernel === 4 ? 0 : 1,
    });
    this.toRgb = this.module('to_rgb', o.spectralNorm ? spectralNorm(rgb) : rgb);
    dcganInit(this);
  }

  /** z [B, noiseDim], condition [B, conditionDim] → images [B, 3, R, R] in [-1, 1]. */
  forward(z: Tensor, condition: Tensor, generator?: Generator): GeneratorOutput {
    let c: Tensor;
    let mu: Tensor | undefined;
    let logvar: Tensor | undefined;
    if (this.ca) {
      ({ condition: c, mu, logvar } = this.ca.forward(condition, generator));
    } else {
      using p = this.projection!.forward(condition);
      c = this.o.projectionActivation === 'relu' ? p.relu() : p.leakyRelu(0.2);
    }
    using zc = cat([z, c], 1);
    c.dispose();
    using h0 = this.fc.forward(zc);
    using h1 = this.fcNorm ? this.fcNorm.forward(h0) : h0.alias();
    using h2 = h1.relu();
    let x = h2.view(-1, this.base, 4, 4);
    for (const b of this.blocks) {
      const y = b.forward(x);
      x.dispose();
      x = y;
    }
    using out = this.toRgb.forward(x);
    x.dispose();
    return { images: out.tanh(), ...(mu ? { mu, logvar: logvar! } : {}) };
  }
}

/** DCGAN initialisation (Radford et al. 2016): weights N(0, 0.02), norm scales N(1, 0.02). */
export function dcganInit(m: Module): void {
  for (const [name, p] of m.namedParameters()) {
    const isNorm = /(^|\.)(norm|fc_norm|bn)[^.]*\.weight$/.test(name) || /norm\d*\.weight$/.test(name);
    if (name.endsWith('bias')) init.zeros_(p);
    else if (isNorm) init.normal_(p, 1, 0.02);
    else if (name.endsWith('weight') || name.endsWith('weight_orig')) init.normal_(p, 0, 0.02);
  }
}
