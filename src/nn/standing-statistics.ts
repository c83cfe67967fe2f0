// Standing statistics (Brock et al. 2019, BigGAN, appendix C.1): batch-norm running statistics
// recomputed for the weights at hand by averaging the batch statistics of many forward passes.
// A generator's moving average of weights carries the running statistics of the live generator,
// which were gathered with other weights; these are the statistics of the averaged weights.
import { noGrad } from '../engine/index.js';
import { Module } from './module.js';
import { BatchNormBase } from './norm.js';

/** Every batch norm with running statistics in `m` (itself included). */
export function batchNorms(m: Module): BatchNormBase[] {
  const own = m instanceof BatchNormBase && m.runningMean !== null ? [m] : [];
  return [...own, ...m.children().flatMap(([, c]) => batchNorms(c))];
}

/**
 * Replaces the running statistics of `m`'s batch norms by the mean of those of `batches` forward
 * passes (`forward(i)` runs pass i through `m`) in training mode, without gradients; `m` is then
 * back in the mode it was in. Returns the number of batch norms recomputed (0: nothing to do,
 * forward not run).
 */
export function recomputeStandingStatistics(m: Module, batches: number, forward: (i: number) => void): number {
  if (!Number.isSafeInteger(batches) || batches < 1)
    throw new RangeError(`standing statistics need at least one batch, got ${batches}`);
  const norms = batchNorms(m);
  if (norms.length === 0) return 0;
  const momenta = norms.map((n) => n.momentum);
  const was = m.training;
  m.train();
  try {
    noGrad(() => {
      for (const n of norms) {
        n.runningMean!.zero_();
        n.runningVar!.fill_(1);
      }
      for (let i = 0; i < batches; i++) {
        // With weight 1/(i+1) for pass i, the running statistics are the mean over the passes so far.
        for (const n of norms) n.momentum = 1 / (i + 1);
        forward(i);
      }
    });
  } finally {
    norms.forEach((n, k) => (n.momentum = momenta[k]!));
    m.train(was);
  }
  return norms.length;
}
