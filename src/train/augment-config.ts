// DiffAugment as an option any GAN recipe can switch on (Zhao et al. 2020): the `augment` config
// section and the transform every image the discriminator sees goes through, real or generated, in
// the D and the G steps. Translation and cutout only: captions and tags name colours.
import type { Generator, Tensor } from '../engine/index.js';
import { diffAugment } from '../models/layers/diff-augment.js';
import type { ConfigOf, Schema } from './config.js';

export const diffAugmentSchema = {
  translation: {
    kind: 'number',
    min: 0,
    max: 0.5,
    default: 0,
    doc: "DiffAugment: shift of every image D sees, fraction of the side (the paper's 1/8; 0: off)",
  },
  cutout: {
    kind: 'number',
    min: 0,
    max: 0.9,
    default: 0,
    doc: "DiffAugment: zeroed square of every image D sees, fraction of the side (the paper's 1/2; 0: off)",
  },
} as const satisfies Schema;

export type DiffAugmentConfig = ConfigOf<typeof diffAugmentSchema>;

/**
 * The transform of D's inputs: a fresh draw from the run's generator per call (so resumes stay
 * exact), an alias of the input when both ratios are 0 (the caller disposes what it gets either way).
 */
export function discriminatorAugment(a: DiffAugmentConfig, rng: Generator): (x: Tensor) => Tensor {
  if (a.translation === 0 && a.cutout === 0) return (x) => x.alias();
  return (x) => diffAugment(x, { translation: a.translation, cutout: a.cutout, generator: rng });
}
