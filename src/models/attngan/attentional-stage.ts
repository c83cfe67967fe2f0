// F_i (i ≥ 1) of AttnGAN (§3.1, Eq. 1: h_i = F_i(h_{i−1}, F^attn_i(e, h_{i−1}))): the previous
// features and their word-context vectors side by side, refined by residual blocks and up-sampled
// to twice the side; the width stays N_gf at every scale, as in the reference.
import { cat, type Tensor } from '../../engine/index.js';
import { Module } from '../../nn/index.js';
import { GluResidualBlock, GluUpBlock } from '../stackganpp/blocks.js';
import { WordContextAttention } from './attention.js';

export class AttentionalRefinementStage extends Module {
  readonly attention: WordContextAttention;
  readonly residual: GluResidualBlock[] = [];
  readonly up: GluUpBlock;

  constructor(channels: number, wordDim: number, residualBlocks: number) {
    super();
    this.attention = this.module('attention', new WordContextAttention(channels, wordDim));
    for (let i = 0; i < residualBlocks; i++)
      this.residual.push(this.module(`res${i}`, new GluResidualBlock(channels * 2)));
    this.up = this.module('up', new GluUpBlock(channels * 2, channels));
  }

  /** Features twice the side, and the attention β [B, L, h, w] over the incoming grid. */
  forward(features: Tensor, words: Tensor, mask?: Tensor): { features: Tensor; attention: Tensor } {
    const { context, attention } = this.attention.forward(features, words, mask);
    try {
      using c = context;
      let x = cat([features, c], 1);
      for (const r of this.residual) {
        const y = r.forward(x);
        x.dispose();
        x = y;
      }
      using last = x;
      return { features: this.up.forward(last), attention };
    } catch (e) {
      attention.dispose();
      throw e;
    }
  }
}
