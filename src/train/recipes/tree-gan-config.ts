// The config of the tree GANs (StackGAN++ and AttnGAN): one schema, the loss weights of each
// paper's terms, and the static type the recipe reads (typed from the schema, checked by resolveConfig).
import type { TreeModel } from '../../artifacts/generators.js';
import type { ConfigOf, Schema } from '../config.js';
import { adamSchema, emaSchema } from '../optim-config.js';
import { fidSchema } from '../checkpoint-metric.js';
import type { CommonConfig } from '../schema.js';
import { initSchema } from '../warm-start.js';
import { conditionalGanSchema } from './conditional-gan-config.js';

const TREE_LOSSES = ['nonsaturating', 'hinge', 'least-squares'] as const;
const weight = (doc: string, dflt: number) => ({ kind: 'number', min: 0, default: dflt, doc }) as const;

/** StackGAN++'s own loss term. */
const stackganPpLoss = {
  colorConsistency: weight('λ_C: colour-consistency between neighbouring scales (0: off)', 0),
  consistency: weight(
    "λ_c: L1 between each trained stage's images pooled to the side below and that stage's images, held (0: off; not in the paper)",
    0,
  ),
} as const satisfies Schema;

/** AttnGAN's own loss term: the DAMSM loss and its three constants. */
const attnganLoss = {
  damsm: weight("λ: DAMSM loss of the last stage's images (AttnGAN's LAMBDA)", 5),
  gamma1: weight('DAMSM γ₁: attention sharpness over regions', 4),
  gamma2: weight('DAMSM γ₂: weight of the best-matching words', 5),
  gamma3: weight('DAMSM γ₃: retrieval temperature', 10),
} as const satisfies Schema;

const lossFields = {
  adversarial: { kind: 'string', choices: TREE_LOSSES, doc: 'adversarial objective' },
  discriminator: {
    kind: 'object',
    fields: {
      real: weight('a_r: (real, right text) scored real', 1),
      wrong: weight('a_w: (real, wrong text) scored fake', 1),
      fake: weight('a_f: (fake, right text) scored fake', 1),
      unconditionalReal: weight('u_r: real images, image-only logit', 1),
      unconditionalFake: weight('u_f: fake images, image-only logit', 1),
    },
  },
  generator: {
    kind: 'object',
    fields: {
      conditional: weight('g_c: the conditional logit', 1),
      unconditional: weight('g_u: the image-only logit', 1),
    },
  },
  kl: { kind: 'number', min: 0, doc: 'λ_KL: conditioning-augmentation KL (averaged over dimensions)' },
} as const satisfies Schema;

const sections = {
  condition: conditionalGanSchema.condition,
  augment: conditionalGanSchema.augment,
  generator: {
    kind: 'object',
    fields: {
      noiseDim: { kind: 'number', int: true, min: 1, doc: 'N_z: size of z' },
      conditionDim: { kind: 'number', int: true, min: 1, doc: 'size of the conditioning-augmentation code ĉ' },
      width: { kind: 'number', int: true, min: 1, doc: "N_gf: channels of the first stage's features" },
      residualBlocks: { kind: 'number', int: true, min: 0, doc: 'residual blocks per refinement stage' },
      branches: { kind: 'number', int: true, min: 1, doc: 'stages of the tree (3: 64, 128, 256 px)' },
    },
  },
  discriminator: {
    kind: 'object',
    fields: {
      width: { kind: 'number', int: true, min: 1, doc: 'N_df: channels of the first down-sampling block' },
      condition: {
        kind: 'string',
        choices: ['mu', 'sentence'],
        doc: "the text code D reads: G's conditioning mean μ (StackGAN++) or the sentence embedding (AttnGAN)",
      },
    },
  },
  optim: {
    kind: 'object',
    fields: {
      generator: { kind: 'object', fields: adamSchema },
      discriminator: { kind: 'object', fields: adamSchema },
      ...emaSchema(0),
    },
  },
  grow: {
    kind: 'object',
    fields: {
      from: {
        kind: 'string',
        nullable: true,
        doc: 'a run of the same model with fewer stages (its best checkpoint), checkpoint or model file: its G, EMA and discriminators start this run (a discriminator the source lacks starts fresh), the added stages start fresh',
      },
      frozenStages: {
        kind: 'number',
        int: true,
        min: 0,
        default: 0,
        doc: "the first N stages of G (with the conditioning augmentation before them) held fixed: only the stages above train, each against its own discriminator; the held stages' discriminators are neither trained nor asked (as StackGAN's Stage II holds Stage I). For growing from a file without discriminators: fresh ones undid the trained stages (docs/results.md)",
      },
    },
  },
  // A model file of the same stages, when the run's checkpoints are gone: exports made without
  // --discriminator hold no D, so the fresh ones train alone first (init.discriminatorSteps).
  init: { kind: 'object', fields: initSchema },
  extra: {
    kind: 'object',
    fields: {
      cache: {
        kind: 'string',
        nullable: true,
        doc: 'uncaptioned birds of other species (a prepared cub-extra cache): more real images for the image-only logit u_r, at the stages whose side it has',
      },
      batchSize: { kind: 'number', int: true, min: 1, default: 16, doc: 'images of `cache` per step' },
    },
  },
  eval: {
    kind: 'object',
    fields: {
      ...conditionalGanSchema.eval.fields,
      // AttnGAN's R-precision rewards what its DAMSM loss taught it (docs/results.md): FID beside it.
      fid: fidSchema(
        "generated and training images for FID (eval.damsm's image features) of the last stage at each checkpoint (0: off)",
      ),
    },
  },
  samples: conditionalGanSchema.samples,
} as const satisfies Schema;

/** The schema of one tree model: the shared sections, the loss with that paper's own terms. */
export function treeSchema(model: TreeModel): Schema {
  const { condition, augment, generator, discriminator, ...rest } = sections;
  const loss = { ...lossFields, ...(model === 'stackgan-pp' ? stackganPpLoss : attnganLoss) };
  // The sections in the order a config file has them: the loss after the networks.
  return { condition, augment, generator, discriminator, loss: { kind: 'object', fields: loss }, ...rest };
}

/** A resolved StackGAN++ or AttnGAN config; each model's own loss terms are present only for it. */
export type TreeConfig = CommonConfig &
  ConfigOf<typeof sections> & {
    loss: ConfigOf<typeof lossFields> & Partial<ConfigOf<typeof stackganPpLoss> & ConfigOf<typeof attnganLoss>>;
  };
