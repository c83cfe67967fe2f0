// Conditional batch normalisation (de Vries et al. 2017; Miyato & Koyama 2018's generator):
// batch norm without its own affine parameters, then a per-channel scale and shift read from the
// condition. Here the condition is two attributes, each with its own embedding, and their
// contributions add up: γ = 1 + γ_hair[h] + γ_eyes[e], β = β_hair[h] + β_eyes[e]. So hair and eye
// colour each modulate every layer, and a pair never seen together still gets both.
import { tidy, type Tensor } from '../../engine/index.js';
import { BatchNorm2d, Embedding, Module, init } from '../../nn/index.js';

export class ConditionalBatchNorm2d extends Module {
  readonly bn: BatchNorm2d;
  readonly gamma: Embedding[];
  readonly beta: Embedding[];

  /** `classes`: the number of values of each attribute ([hair colours, eye colours]). */
  constructor(
    readonly channels: number,
    readonly classes: number[],
  ) {
    super();
    this.bn = this.module('bn', new BatchNorm2d(channels, { affine: false }));
    // Identity at the start: every class's scale and shift offsets are zero.
    this.gamma = classes.map((n, i) => this.module(`gamma${i}`, new Embedding(n, channels)));
    this.beta = classes.map((n, i) => this.module(`beta${i}`, new Embedding(n, channels)));
    for (const e of [...this.gamma, ...this.beta]) init.zeros_(e.weight);
  }

  /**
   * x [B, C, H, W]; labels: per attribute, int64 [B] class indices, or float [B, classes] weights
   * (a blend of colours: the weighted sum of their embeddings, the tag edits of latent-edit.ts).
   */
  forward(x: Tensor, labels: Tensor[]): Tensor {
    if (labels.length !== this.classes.length)
      throw new TypeError(`ConditionalBatchNorm2d takes ${this.classes.length} label tensors, got ${labels.length}`);
    return tidy(() => {
      // Elementwise, not a matmul: autocast would round the embeddings to bf16 in a matmul.
      const read = (e: Embedding, l: Tensor): Tensor =>
        l.rank === 1 ? e.forward(l) : l.unsqueeze(2).mul(e.weight.unsqueeze(0)).sum([1]);
      let g = read(this.gamma[0]!, labels[0]!);
      let b = read(this.beta[0]!, labels[0]!);
      for (let i = 1; i < labels.length; i++) {
        g = g.add(read(this.gamma[i]!, labels[i]!));
        b = b.add(read(this.beta[i]!, labels[i]!));
      }
      const n = x.size(0);
      const h = this.bn.forward(x);
      return h.mul(g.add(1).reshape(n, this.channels, 1, 1)).add(b.reshape(n, this.channels, 1, 1));
    });
  }
}
