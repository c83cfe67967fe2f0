// The generator blocks StackGAN++ (Zhang et al., TPAMI 2018, "StackGAN++: Realistic Image Synthesis
// with Stacked Generative Adversarial Networks") and AttnGAN share. Compared with StackGAN's they
// gate with GLU instead of ReLU (so every convolution makes twice the channels it keeps), and the
// residual block adds without a final non-linearity, as in the official code.
import { F, type Tensor } from '../../engine/index.js';
import { BatchNorm2d, Conv2d, Module, type Layer } from '../../nn/index.js';
import { glu } from '../layers/glu.js';
import { conv3x3 } from '../stackgan/blocks.js';

/** 3×3 convolution to 2·outC, batch norm, GLU: joins the text code to the image features. */
export class GluConvBlock extends Module implements Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number) {
    super();
    this.conv = this.module('conv', conv3x3(inC, outC * 2));
    this.bn = this.module('bn', new BatchNorm2d(outC * 2));
  }
  forward(x: Tensor): Tensor {
    using h = this.conv.forward(x);
    using n = this.bn.forward(h);
    return glu(n);
  }
}

/** Nearest-neighbour ×2, then a GluConvBlock. */
export class GluUpBlock extends Module implements Layer {
  readonly block: GluConvBlock;
  constructor(inC: number, outC: number) {
    super();
    this.block = this.module('block', new GluConvBlock(inC, outC));
  }
  forward(x: Tensor): Tensor {
    using u = F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
    return this.block.forward(u);
  }
}

/** x + BN(conv(GLU(BN(conv(x))))): the refinement stages' residual blocks. */
export class GluResidualBlock extends Module implements Layer {
  readonly gated: GluConvBlock;
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(channels: number) {
    super();
    this.gated = this.module('gated', new GluConvBlock(channels, channels));
    this.conv = this.module('conv', conv3x3(channels, channels));
    this.bn = this.module('bn', new BatchNorm2d(channels));
  }
  forward(x: Tensor): Tensor {
    using a = this.gated.forward(x);
    using h = this.conv.forward(a);
    using n = this.bn.forward(h);
    return n.add(x);
  }
}

/** Image features → RGB in [-1, 1]: each branch of the tree has its own. */
export class ImageHead extends Module implements Layer {
  readonly conv: Conv2d;
  constructor(channels: number) {
    super();
    this.conv = this.module('conv', conv3x3(channels, 3));
  }
  forward(x: Tensor): Tensor {
    using h = this.conv.forward(x);
    return h.tanh();
  }
}

/** Broadcasts a code [B, C] to [B, C, h, w] beside image features. */
export function tileCode(code: Tensor, h: number, w: number): Tensor {
  const [b, c] = code.shape as [number, number];
  using v = code.view(b, c, 1, 1);
  using e = v.expand(b, c, h, w);
  return e.contiguous();
}
