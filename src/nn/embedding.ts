// Embedding: a lookup table of word (or tag) vectors.
import { F, randn, type Tensor } from '../engine/index.js';
import { Module } from './module.js';

export class Embedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { paddingIdx?: number } = {},
  ) {
    super();
    // paddingIdx: the row that stays zero and gets no gradient; negative counts from the end.
    const p = opts.paddingIdx;
    if (p !== undefined && (!Number.isInteger(p) || p >= numEmbeddings || p < -numEmbeddings))
      throw new RangeError(`paddingIdx ${p} is outside the table of ${numEmbeddings} rows`);
    this.paddingIdx = p === undefined ? -1 : p < 0 ? p + numEmbeddings : p;
    this.weight = this.param('weight', randn([numEmbeddings, embeddingDim]));
    if (this.paddingIdx >= 0) {
      using row = this.weight.select(0, this.paddingIdx);
      row.zero_();
    }
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, this.paddingIdx);
  }
}
