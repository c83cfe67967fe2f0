// Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.2):
// the discriminator sees, for each sample, how close it is to the other samples of the batch, so a
// generator that collapses to one mode produces batches that are easy to reject.
import { cat, noGrad, randn, type Tensor } from '../../engine/index.js';
import { Module } from '../../nn/index.js';

export class MinibatchDiscrimination extends Module {
  readonly T: Tensor;

  /**
   * @param inFeatures A, the width of the flattened features
   * @param kernels B in the paper: number of similarity kernels added to the features
   * @param kernelDim C in the paper: the width each kernel compares in
   */
  constructor(
    readonly inFeatures: number,
    readonly kernels: number,
    readonly kernelDim: number,
  ) {
    super();
    this.T = this.param(
      'T',
      noGrad(() => {
        using r = randn([inFeatures, kernels * kernelDim]);
        return r.mul(0.1 / Math.sqrt(inFeatures));
      }),
    );
  }

  /** [N, A] → [N, A + kernels]: the features with each sample's closeness to the rest appended. */
  forward(f: Tensor): Tensor {
    const n = f.size(0);
    using m0 = f.matmul(this.T);
    using m = m0.view(n, 1, this.kernels, this.kernelDim);
    using mt = m.view(1, n, this.kernels, this.kernelDim);
    using diff = m.sub(mt);
    using a = diff.abs();
    using l1 = a.sum(3); // [N, N, kernels]
    using negL1 = l1.neg();
    using k = negL1.exp();
    using s = k.sum(1);
    using o = s.sub(1); // drop each sample's similarity to itself (exp(0) = 1)
    return cat([f, o], 1);
  }
}
