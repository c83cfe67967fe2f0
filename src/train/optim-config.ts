// The optimizer settings every recipe's config shares: Adam's learning rate and betas, per network.
import type { Tensor } from '../engine/index.js';
import { Adam } from '../optim/index.js';
import type { ConfigOf, Schema } from './config.js';

export const adamSchema = {
  lr: { kind: 'number', min: 0, doc: 'learning rate' },
  beta1: { kind: 'number', min: 0, max: 1, doc: 'Adam β1' },
  beta2: { kind: 'number', min: 0, max: 1, doc: 'Adam β2' },
} as const satisfies Schema;

/** Adam over `params` with the settings of an adamSchema config object. */
export function adamFromConfig(params: Tensor[], o: ConfigOf<typeof adamSchema>): Adam {
  return new Adam(params, { lr: o.lr, betas: [o.beta1, o.beta2] });
}
