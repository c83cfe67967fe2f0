// F₀ of the StackGAN++ / AttnGAN tree: [z; ĉ] → a fully connected layer to 4×4 features with
// 16·N_gf channels (GLU-gated) → four up-sampling blocks to 64×64 features with N_gf channels.
// The first branch's image and every later stage start from these features.
import { cat, type Tensor } from '../../engine/index.js';
import { BatchNorm1d, Linear, Module } from '../../nn/index.js';
import { glu } from '../layers/glu.js';
import { GluUpBlock } from './blocks.js';

export class InitialStage extends Module {
  readonly fc: Linear;
  readonly fcNorm: BatchNorm1d;
  readonly ups: GluUpBlock[] = [];
  /** Channels at 4×4 (16·N_gf). */
  readonly base: number;

  /**
   * @param inputDim size of [z; ĉ]
   * @param width N_gf: channels of the 64×64 output
   * @param upsamplings doubling blocks after 4×4 (4: 64×64)
   */
  constructor(inputDim: number, width: number, upsamplings = 4) {
    super();
    this.base = width * 2 ** upsamplings;
    this.fc = this.module('fc', new Linear(inputDim, this.base * 16 * 2, { bias: false }));
    this.fcNorm = this.module('fc_norm', new BatchNorm1d(this.base * 16 * 2));
    let c = this.base;
    for (let i = 0; i < upsamplings; i++) {
      this.ups.push(this.module(`up${i}`, new GluUpBlock(c, c / 2)));
      c /= 2;
    }
  }

  forward(z: Tensor, condition: Tensor): Tensor {
    using zc = cat([z, condition], 1);
    using h0 = this.fc.forward(zc);
    using h1 = this.fcNorm.forward(h0);
    using h2 = glu(h1);
    let x = h2.view(-1, this.base, 4, 4);
    for (const up of this.ups) {
      const y = up.forward(x);
      x.dispose();
      x = y;
    }
    return x;
  }
}
