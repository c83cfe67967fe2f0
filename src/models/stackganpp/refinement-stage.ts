// F_i (i ≥ 1) of the StackGAN++ tree: the previous stage's features and the text code ĉ, tiled
// over them, are joined by a GLU convolution, refined by residual blocks and up-sampled: twice the
// side, half the channels. Fed the text again, each stage corrects and details the one before.
import { cat, type Tensor } from '../../engine/index.js';
import { Module } from '../../nn/index.js';
import { GluConvBlock, GluResidualBlock, GluUpBlock, tileCode } from './blocks.js';

export class RefinementStage extends Module {
  readonly joint: GluConvBlock;
  readonly residual: GluResidualBlock[] = [];
  readonly up: GluUpBlock;

  /**
   * @param channels channels of the incoming features (N_gf at 64×64 for the second stage)
   * @param conditionDim size of ĉ
   */
  constructor(channels: number, conditionDim: number, residualBlocks: number) {
    super();
    this.joint = this.module('joint', new GluConvBlock(channels + conditionDim, channels));
    for (let i = 0; i < residualBlocks; i++) this.residual.push(this.module(`res${i}`, new GluResidualBlock(channels)));
    this.up = this.module('up', new GluUpBlock(channels, channels / 2));
  }

  forward(features: Tensor, condition: Tensor): Tensor {
    using c = tileCode(condition, features.size(2), features.size(3));
    using joined = cat([c, features], 1);
    let x = this.joint.forward(joined);
    for (const r of this.residual) {
      const y = r.forward(x);
      x.dispose();
      x = y;
    }
    using last = x;
    return this.up.forward(last);
  }
}
