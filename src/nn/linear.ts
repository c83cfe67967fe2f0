// Linear: y = x W^T + b.
import { F, empty, type Tensor } from '../engine/index.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';

export class Linear extends Module {
  weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    // PyTorch's default: kaiming_uniform(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)) for weight and bias.
    this.weight = this.param('weight', kaimingUniform_(empty([outFeatures, inFeatures]), { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = opts.bias === false ? null : this.param('bias', uniform_(empty([outFeatures]), -bound, bound));
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}
