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

  /** x [B, C, H, W]; labels: one int64 [B] tensor per attribute. */
  forward(x: Tensor, labels: Tensor[]): Tensor {
    if (labels.length !== this.classes.length)
      throw new TypeError(`ConditionalBatchNorm2d takes ${this.classes.length} label tensors, got ${labels.length}`);
    return tidy(() => {
      let g = this.gamma[0]!.forward(labels[0]!);
      let b = this.beta[0]!.forward(labels[0]!);
      for (let i = 1; i < labels.length; i++) {
        g = g.add(this.gamma[i]!.forward(labels[i]!));
        b = b.add(this.beta[i]!.forward(labels[i]!));
      }
      const n = x.size(0);
      const h = this.bn.forward(x);
      return h.mul(g.add(1).reshape(n, this.channels, 1, 1)).add(b.reshape(n, this.channels, 1, 1));
    });
  }
}
