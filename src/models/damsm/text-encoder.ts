// DAMSM text encoder (AttnGAN, Xu et al. 2018, "AttnGAN: Fine-Grained Text to Image Generation with
// Attentional Generative Adversarial Networks", Sec. 3.3): word embeddings → dropout → a one-layer
// bidirectional LSTM. Its per-word outputs are the word features e [B, D, L]; the two directions'
// final hidden states, concatenated, are the sentence feature ē [B, D].
import { Tensor, tensor, tidy } from '../../engine/index.js';
import { Dropout, Embedding, LSTM, Module, init } from '../../nn/index.js';
import { PAD_ID } from '../../text/index.js';

export interface DamsmTextEncoderOptions {
  /** Rows of the embedding table (Vocabulary.size). */
  vocabSize: number;
  /** Word-embedding size (default 300, as AttnGAN). */
  embeddingDim?: number;
  /** Feature size D of words and sentence, both directions together (default 256: 128 per direction). */
  hiddenSize?: number;
  /** Dropout on the word embeddings (default 0.5). */
  dropout?: number;
}

export interface DamsmTextFeatures {
  /** Word features [B, D, L]; zero at padded positions (past each caption's length). */
  words: Tensor;
  /** Sentence feature [B, D]: [forward final hidden state, backward final hidden state]. */
  sentence: Tensor;
}

export class DamsmTextEncoder extends Module {
  readonly vocabSize: number;
  readonly embeddingDim: number;
  readonly hiddenSize: number;
  readonly embed: Embedding;
  readonly drop: Dropout;
  readonly rnn: LSTM;

  constructor(o: DamsmTextEncoderOptions) {
    super();
    this.vocabSize = o.vocabSize;
    this.embeddingDim = o.embeddingDim ?? 300;
    this.hiddenSize = o.hiddenSize ?? 256;
    if (!Number.isInteger(this.hiddenSize) || this.hiddenSize < 2 || this.hiddenSize % 2 !== 0)
      throw new RangeError(`hiddenSize must be an even positive integer (two directions), got ${this.hiddenSize}`);
    this.embed = this.module('embed', new Embedding(this.vocabSize, this.embeddingDim, { paddingIdx: PAD_ID }));
    // AttnGAN initialises the embedding with U(-0.1, 0.1); the <pad> row stays zero.
    init.uniform_(this.embed.weight, -0.1, 0.1);
    tidy(() => {
      this.embed.weight.select(0, PAD_ID).zero_();
    });
    this.drop = this.module('drop', new Dropout(o.dropout ?? 0.5));
    // One layer, so the LSTM's inter-layer dropout would do nothing; it is left at 0.
    this.rnn = this.module(
      'rnn',
      new LSTM(this.embeddingDim, this.hiddenSize / 2, { bidirectional: true, batchFirst: true }),
    );
  }

  /**
   * @param ids int64 [B, L] word ids, 0 (<pad>) after each caption (Vocabulary.encodeBatch)
   * @param lengths each caption's length, int64 [B] or numbers (1 ≤ length ≤ L)
   */
  forward(ids: Tensor, lengths: Tensor | readonly number[]): DamsmTextFeatures {
    if (ids.rank !== 2) throw new TypeError(`DamsmTextEncoder expects ids [B, L], got [${ids.shape.join(', ')}]`);
    const batch = ids.size(0);
    return tidy(() => {
      const lens = lengths instanceof Tensor ? lengths : tensor([...lengths], { dtype: 'int64', device: ids.device });
      if (lens.rank !== 1 || lens.size(0) !== batch)
        throw new TypeError(`DamsmTextEncoder: expected ${batch} lengths, got [${lens.shape.join(', ')}]`);
      const emb = this.drop.forward(this.embed.forward(ids));
      // Packed inside: padding never enters the recurrence and its outputs are zero.
      const { output, h, c } = this.rnn.forward(emb, { lengths: lens });
      c?.dispose();
      const words = output.transpose(1, 2).contiguous();
      // h: [2, B, D/2] (forward, backward) → [B, 2, D/2] → [B, D], as AttnGAN's sent_emb.
      const sentence = h.transpose(0, 1).reshape(batch, this.hiddenSize);
      return { words, sentence };
    });
  }
}
