// AttnGAN's attention in the generator (Xu et al., CVPR 2018, §3.1, Eq. 2; the reference's
// GlobalAttentionGeneral): each sub-region of the image features h picks the words relevant to it.
// The word features e are brought to the image features' width by a 1×1 convolution (U e); for
// sub-region j, β_{j,i} = softmax_i(h_jᵀ U e_i) over the caption's real words, and the word-context
// vector is c_j = Σ_i β_{j,i} U e_i. β, one map per word, is what the demo shows as attention.
import { tidy, type Tensor } from '../../engine/index.js';
import { Conv1d, Module } from '../../nn/index.js';

export interface WordContext {
  /** Word-context features [B, C, h, w], beside the image features. */
  context: Tensor;
  /** β [B, L, h, w]: for every sub-region a distribution over the words (zero on padding). */
  attention: Tensor;
}

export class WordContextAttention extends Module {
  /** U: word features (D) → image feature width (C), no bias as in the reference. */
  readonly project: Conv1d;

  constructor(
    readonly channels: number,
    readonly wordDim: number,
  ) {
    super();
    this.project = this.module('project', new Conv1d(wordDim, channels, 1, { bias: false }));
  }

  /**
   * @param features image features [B, C, h, w]
   * @param words word features [B, D, L]
   * @param mask bool [B, L], true at padded words (each caption needs one real word)
   */
  forward(features: Tensor, words: Tensor, mask?: Tensor): WordContext {
    if (features.rank !== 4 || words.rank !== 3 || features.size(0) !== words.size(0))
      throw new TypeError(
        `WordContextAttention expects features [B, C, h, w] and words [B, D, L], got ${features.toString()} and ${words.toString()}`,
      );
    const [b, c, h, w] = features.shape as [number, number, number, number];
    const len = words.size(2);
    if (mask && (mask.dtype !== 'bool' || mask.rank !== 2 || mask.size(0) !== b || mask.size(1) !== len))
      throw new TypeError(`WordContextAttention: mask must be bool [${b}, ${len}], got ${mask.toString()}`);
    return tidy(() => {
      const source = this.project.forward(words); // [B, C, L]
      const query = features.reshape(b, c, h * w).transpose(1, 2); // [B, hw, C]
      let scores = query.bmm(source); // [B, hw, L]
      if (mask) scores = scores.maskedFill(mask.unsqueeze(1), -Infinity);
      const beta = scores.softmax(2);
      const context = source.bmm(beta.transpose(1, 2)).view(b, c, h, w);
      const attention = beta.transpose(1, 2).contiguous().view(b, len, h, w);
      return { context, attention };
    });
  }
}
