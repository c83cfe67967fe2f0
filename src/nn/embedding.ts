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
    this.weight = this.param('weight', randn([numEmbeddings, embeddingDim]));
    const p = opts.paddingIdx ?? -1;
    if (p >= numEmbeddings) throw new RangeError(`paddingIdx ${p} is outside the table of ${numEmbeddings} rows`);
    this.paddingIdx = p < -1 ? p + numEmbeddings : p;
    if (this.paddingIdx >= 0) {
      using row = this.weight.select(0, this.paddingIdx);
      row.zero_();
    }
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, this.paddingIdx);
  }
}
