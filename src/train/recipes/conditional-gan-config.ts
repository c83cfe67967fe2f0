// The config of the conditional GANs (GAN-INT-CLS, WGAN-CLS, the tag GANs), whose condition,
// eval and samples sections StackGAN, StackGAN++ and AttnGAN share: the schema, and what the
// recipes build from it (the conditioner, the generator's options, the sample-grid captions).
import { loadDamsm } from '../../artifacts/damsm.js';
import type { ConditionalGeneratorOptions } from '../../models/dcgan/conditional-generator.js';
import { TagConditioner, type Conditioner } from '../../models/conditioning.js';
import type { DamsmImageEncoder } from '../../models/damsm/index.js';
import { NORMS } from '../../models/layers/norm.js';
import type { ConfigObject, ConfigOf, Schema } from '../config.js';
import type { CommonConfig } from '../schema.js';
import { ADVERSARIAL_LOSSES } from '../losses.js';
import { adamSchema, emaSchema } from '../optim-config.js';
import { diffAugmentSchema } from '../augment-config.js';
import type { RecipeContext } from '../recipe.js';

const activation = ['leaky_relu', 'relu'] as const;

export const conditionalGanSchema = {
  condition: {
    kind: 'object',
    fields: {
      source: {
        kind: 'string',
        choices: ['damsm', 'tags'],
        doc: 'damsm: sentence embedding of the caption; tags: one-hot hair/eye tags',
      },
      damsm: { kind: 'string', nullable: true, doc: 'a DAMSM run directory or checkpoint (source: damsm)' },
    },
  },
  generator: {
    kind: 'object',
    fields: {
      noiseDim: { kind: 'number', int: true, min: 1, doc: 'size of z' },
      projectionDim: { kind: 'number', int: true, min: 1, doc: 'width of the projected condition' },
      projectionActivation: { kind: 'string', choices: activation, doc: 'after the projection' },
      conditioningAugmentation: { kind: 'boolean', doc: "StackGAN's sampled condition + KL term" },
      width: { kind: 'number', int: true, min: 1, doc: 'channels of the last hidden layer' },
      kernel: { kind: 'number', int: true, min: 4, max: 5, doc: '4 (DCGAN) or 5 (HW3-2)' },
      norm: { kind: 'string', choices: NORMS, doc: 'normalisation' },
      spectralNorm: { kind: 'boolean', doc: 'spectral normalisation in G' },
    },
  },
  discriminator: {
    kind: 'object',
    fields: {
      projectionDim: { kind: 'number', int: true, min: 1, doc: 'width of the projected condition' },
      projectionActivation: { kind: 'string', choices: activation, doc: 'after the projection' },
      width: { kind: 'number', int: true, min: 1, doc: 'channels of the first layer' },
      kernel: { kind: 'number', int: true, min: 4, max: 5, doc: '4 or 5' },
      norm: { kind: 'string', choices: NORMS, doc: 'normalisation (not batch for WGAN-GP)' },
      spectralNorm: { kind: 'boolean', doc: 'spectral normalisation in D' },
      minibatchKernels: {
        kind: 'number',
        int: true,
        min: 0,
        default: 0,
        doc: 'minibatch discrimination kernels (0: off)',
      },
      minibatchKernelDim: { kind: 'number', int: true, min: 1, default: 5, doc: 'their width' },
    },
  },
  loss: {
    kind: 'object',
    fields: {
      adversarial: { kind: 'string', choices: ADVERSARIAL_LOSSES, doc: 'adversarial objective' },
      matchingAware: { kind: 'boolean', doc: 'score (real image, wrong text) as fake (GAN-CLS)' },
      wrongWeight: { kind: 'number', min: 0, max: 1, default: 0.5, doc: 'weight w of the (real, wrong) term' },
      realLabel: { kind: 'number', min: 0.5, max: 1, default: 1, doc: '< 1: one-sided label smoothing' },
      gradientPenalty: { kind: 'number', min: 0, default: 0, doc: 'λ of WGAN-GP (0: off)' },
      interpolation: { kind: 'number', min: 0, default: 0, doc: 'weight of the GAN-INT term (0: off)' },
      interpolationBeta: { kind: 'number', min: 0, max: 1, default: 0.5, doc: 'β of the interpolated condition' },
      kl: { kind: 'number', min: 0, default: 2, doc: 'weight of the conditioning-augmentation KL term' },
      auxiliary: { kind: 'number', min: 0, default: 0, doc: 'weight of ACGAN tag classification (0: off)' },
    },
  },
  augment: { kind: 'object', fields: diffAugmentSchema },
  optim: {
    kind: 'object',
    fields: {
      generator: { kind: 'object', fields: adamSchema },
      discriminator: { kind: 'object', fields: adamSchema },
      criticSteps: { kind: 'number', int: true, min: 1, default: 1, doc: 'D updates per G update' },
      ...emaSchema(0),
    },
  },
  eval: {
    kind: 'object',
    fields: {
      samples: {
        kind: 'number',
        int: true,
        min: 0,
        default: 0,
        doc: 'validation captions for R-precision at each checkpoint (DAMSM conditions; 0: off); picks the best checkpoint',
      },
      classifier: {
        kind: 'string',
        nullable: true,
        doc: 'an attribute-classifier run or checkpoint: hair/eye accuracy of generated faces at each checkpoint (tag conditions); picks the best checkpoint',
      },
      perCombo: {
        kind: 'number',
        int: true,
        min: 1,
        default: 4,
        doc: 'faces per hair/eye combination for eval.classifier',
      },
      damsm: {
        kind: 'string',
        nullable: true,
        doc: 'the DAMSM run whose encoders rank captions for R-precision (default: condition.damsm)',
      },
    },
  },
  samples: {
    kind: 'object',
    fields: {
      captions: {
        kind: 'strings',
        default: [],
        doc: 'fixed captions/tags for sample grids (default: from the validation split)',
      },
      rows: { kind: 'number', int: true, min: 1, default: 8, doc: 'conditions in the grid' },
      perCondition: { kind: 'number', int: true, min: 1, default: 8, doc: 'noise vectors per condition' },
    },
  },
} as const satisfies Schema;

/** A resolved GAN-INT-CLS / WGAN-CLS / tag-GAN config, typed from the schemas (checked by resolveConfig). */
export type ConditionalGanConfig = CommonConfig & ConfigOf<typeof conditionalGanSchema>;

/**
 * Builds the conditioner a config asks for (loading a frozen DAMSM text encoder from its run) and,
 * when `withImage`, the DAMSM image encoder from the same checkpoint (for R-precision).
 */
export function conditionerFromConfig(
  config: ConfigObject,
  data: { records: { attributes?: { [k: string]: string } }[] },
  withImage = false,
): { conditioner: Conditioner; image: DamsmImageEncoder | null } {
  // Every recipe that reads captions or tags has this section (schemas spread conditionalGanSchema's).
  const c = (config as unknown as ConditionalGanConfig).condition;
  if (c.source === 'tags') {
    if (withImage) throw new Error('eval.samples (R-precision) needs condition.source damsm');
    return { conditioner: TagConditioner.forTraining(data.records), image: null };
  }
  if (typeof c.damsm !== 'string')
    throw new Error('condition.source damsm needs condition.damsm: a DAMSM run directory or checkpoint');
  return loadDamsm(c.damsm, withImage);
}

export function generatorOptions(config: ConditionalGanConfig, conditionDim: number): ConditionalGeneratorOptions {
  const g = config.generator;
  return {
    noiseDim: g.noiseDim,
    conditionDim,
    projectionDim: g.projectionDim,
    projectionActivation: g.projectionActivation,
    conditioningAugmentation: g.conditioningAugmentation,
    width: g.width,
    resolution: config.data.resolution,
    kernel: g.kernel as 4 | 5, // the schema says a number; the networks take 4 or 5 (checked there)
    norm: g.norm,
    spectralNorm: g.spectralNorm,
  };
}

/**
 * The fixed captions of a recipe's sample grids (config `samples`): the configured ones, else the
 * first captions of distinct classes from held-out data (what the model has not seen).
 */
export function sampleCaptions(ctx: RecipeContext): string[] {
  const s = (ctx.config as unknown as ConditionalGanConfig).samples;
  const rows = s.rows;
  let captions = [...s.captions];
  if (captions.length === 0) {
    const recs = ctx.data.records;
    const split = recs.some((r) => r.split === 'val') ? 'val' : 'train';
    const seen = new Set<string>();
    for (const r of recs)
      if (r.split === split && !seen.has(r.classId) && captions.length < rows) {
        seen.add(r.classId);
        captions = [...captions, r.captions[0]!];
      }
  }
  return captions.slice(0, rows);
}
