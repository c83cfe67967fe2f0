// DF-GAN's deep text-image fusion (Tao et al., CVPR 2022, §3.3): the condition (noise and sentence
// embedding) predicts a per-channel scale γ and shift β for the image features through two small MLPs,
// and a fusion block stacks two such affine transforms, each followed by LeakyReLU:
//
//   Affine(x, c)  = γ(c) · x + β(c),   γ(c) = W₂ ReLU(W₁ c + b₁) + b₂  (β alike)
//   DFBlock(x, c) = LReLU(Affine₂(LReLU(Affine₁(x, c)), c))
//
// γ's last layer starts at weight 0, bias 1 and β's at weight 0, bias 0: every affine transform is the
// identity at initialisation, so the untrained generator is a plain up-sampling network and the text
// enters as training finds it useful.
import { tidy, type Tensor } from '../../engine/index.js';
import { Linear, Module, init } from '../../nn/index.js';

class Mlp extends Module {
  readonly linear1: Linear;
  readonly linear2: Linear;
  constructor(condDim: number, channels: number, bias: 0 | 1) {
    super();
    this.linear1 = this.module('linear1', new Linear(condDim, channels));
    this.linear2 = this.module('linear2', new Linear(channels, channels));
    init.zeros_(this.linear2.weight);
    if (bias === 1) init.ones_(this.linear2.bias!);
    else init.zeros_(this.linear2.bias!);
  }
  forward(c: Tensor): Tensor {
    return tidy(() => this.linear2.forward(this.linear1.forward(c).relu()));
  }
}

export class Affine extends Module {
  readonly gamma: Mlp;
  readonly beta: Mlp;
  constructor(
    readonly condDim: number,
    readonly channels: number,
  ) {
    super();
    this.gamma = this.module('gamma', new Mlp(condDim, channels, 1));
    this.beta = this.module('beta', new Mlp(condDim, channels, 0));
  }
  /** x [B, C, H, W], c [B, condDim] → γ(c) x + β(c). */
  forward(x: Tensor, c: Tensor): Tensor {
    return tidy(() => {
      const [b, ch] = [x.size(0), this.channels];
      return x.mul(this.gamma.forward(c).reshape(b, ch, 1, 1)).add(this.beta.forward(c).reshape(b, ch, 1, 1));
    });
  }
}

export class DFBlock extends Module {
  readonly affine1: Affine;
  readonly affine2: Affine;
  constructor(condDim: number, channels: number) {
    super();
    this.affine1 = this.module('affine1', new Affine(condDim, channels));
    this.affine2 = this.module('affine2', new Affine(condDim, channels));
  }
  forward(x: Tensor, c: Tensor): Tensor {
    return tidy(() => this.affine2.forward(this.affine1.forward(x, c).leakyRelu(0.2), c).leakyRelu(0.2));
  }
}
