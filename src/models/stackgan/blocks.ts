// StackGAN's building blocks (Zhang et al. 2017, §4 "Implementation details"): up-sampling blocks
// (nearest-neighbour ×2, 3×3 stride-1 convolution, batch norm, ReLU), residual blocks of 3×3
// convolutions for Stage II, and down-sampling blocks (4×4 stride-2 convolution, batch norm, leaky
// ReLU; the first without batch norm) for the discriminators. The 3×3 and 4×4 convolutions carry no
// bias, as in the official code (batch norm after them would cancel it).
import { F, type Tensor } from '../../engine/index.js';
import { BatchNorm2d, Conv2d, Module, type Layer } from '../../nn/index.js';

/** G uses ReLU, D leaky ReLU with slope 0.2. */
export type Activation = 'relu' | 'leaky_relu';

/** 3×3 stride-1 convolution that keeps the size. */
export function conv3x3(inC: number, outC: number): Conv2d {
  return new Conv2d(inC, outC, 3, { padding: 1, bias: false });
}

/** Doubles the size: resizing before convolving avoids the checkerboard of transposed convolutions. */
export class UpBlock extends Module implements Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number) {
    super();
    this.conv = this.module('conv', conv3x3(inC, outC));
    this.bn = this.module('bn', new BatchNorm2d(outC));
  }
  forward(x: Tensor): Tensor {
    using u = F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
    using h = this.conv.forward(u);
    using n = this.bn.forward(h);
    return n.relu();
  }
}

/** x + F(x), then ReLU: Stage II refines the joint image-text features at 16×16 with these. */
export class ResidualBlock extends Module implements Layer {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  constructor(channels: number) {
    super();
    this.conv1 = this.module('conv1', conv3x3(channels, channels));
    this.bn1 = this.module('bn1', new BatchNorm2d(channels));
    this.conv2 = this.module('conv2', conv3x3(channels, channels));
    this.bn2 = this.module('bn2', new BatchNorm2d(channels));
  }
  forward(x: Tensor): Tensor {
    using h1 = this.conv1.forward(x);
    using n1 = this.bn1.forward(h1);
    using a1 = n1.relu();
    using h2 = this.conv2.forward(a1);
    using n2 = this.bn2.forward(h2);
    using s = n2.add(x);
    return s.relu();
  }
}

/** Halves the size: 4×4 stride-2 convolution, batch norm (optional), leaky ReLU 0.2 or ReLU. */
export class DownBlock extends Module implements Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d | null;
  constructor(
    inC: number,
    outC: number,
    norm: boolean,
    readonly activation: Activation,
  ) {
    super();
    this.conv = this.module('conv', new Conv2d(inC, outC, 4, { stride: 2, padding: 1, bias: false }));
    this.bn = norm ? this.module('bn', new BatchNorm2d(outC)) : null;
  }
  forward(x: Tensor): Tensor {
    using h = this.conv.forward(x);
    using n = this.bn ? this.bn.forward(h) : h.alias();
    return this.activation === 'relu' ? n.relu() : n.leakyRelu(0.2);
  }
}

/** 3×3 convolution, batch norm, activation: joins image and text features; D's 4×4 channel reductions. */
export class Conv3x3Block extends Module implements Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(
    inC: number,
    outC: number,
    readonly activation: Activation,
  ) {
    super();
    this.conv = this.module('conv', conv3x3(inC, outC));
    this.bn = this.module('bn', new BatchNorm2d(outC));
  }
  forward(x: Tensor): Tensor {
    using h = this.conv.forward(x);
    using n = this.bn.forward(h);
    return this.activation === 'relu' ? n.relu() : n.leakyRelu(0.2);
  }
}
