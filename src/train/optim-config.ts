// The optimizer settings every recipe's config shares: Adam's learning rate and betas, per network.
import type { Tensor } from '../engine/index.js';
import { Adam } from '../optim/index.js';
import type { ConfigOf, Schema } from './config.js';

export const adamSchema = {
  lr: { kind: 'number', min: 0, doc: 'learning rate' },
  beta1: { kind: 'number', min: 0, max: 1, doc: 'Adam β1' },
  beta2: { kind: 'number', min: 0, max: 1, doc: 'Adam β2' },
} as const satisfies Schema;

/**
 * G's moving average in every GAN recipe's optim section (train/ema.ts): its decay and whether the
 * decay warms up from the run's first step. Off by default, so the runs recorded before it existed
 * read the same.
 */
export function emaSchema(defaultDecay: number) {
  return {
    ema: {
      kind: 'number',
      min: 0,
      max: 0.99999,
      default: defaultDecay,
      doc: "decay of G's moving average, sampled and checkpointed as G_ema (0: off)",
    },
    emaWarmup: {
      kind: 'boolean',
      default: false,
      doc: "the decay at step t is min(ema, (1 + t) / (10 + t)): a short run's average does not keep ema^t of the initial weights",
    },
  } as const satisfies Schema;
}

/** Adam over `params` with the settings of an adamSchema config object. */
export function adamFromConfig(params: Tensor[], o: ConfigOf<typeof adamSchema>): Adam {
  return new Adam(params, { lr: o.lr, betas: [o.beta1, o.beta2] });
}
