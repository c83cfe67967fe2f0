// StackGAN Stage I (Zhang et al. 2017, §3.2): G₀ draws a 64×64 image from noise and the
// conditioning-augmented text embedding, D₀ judges (image, text) pairs; trained with the loss of
// stackgan.ts. Conditions come from a frozen DAMSM text encoder (or tags), as for GAN-INT-CLS.
import type { Generator, Tensor } from '../../engine/index.js';
import { Stage1Generator, type Stage1GeneratorOptions } from '../../models/stackgan/index.js';
import type { Module } from '../../nn/index.js';
import type { Schema } from '../config.js';
import type { RecipeFactory } from '../recipe.js';
import { conditionalGanSchema, conditionerFromConfig } from './conditional-gan-config.js';
import { StackGanRecipe, stackganSchema, type StageConfig, type StackGanStage } from './stackgan.js';

class Stage1 implements StackGanStage<Stage1Generator> {
  readonly frozen = new Map<string, Module>();

  constructor(readonly G: Stage1Generator) {}

  get noiseDim(): number {
    return this.G.o.noiseDim;
  }

  get stages(): number[] {
    return [this.G.o.resolution];
  }

  build(): Stage1Generator {
    return new Stage1Generator(this.G.o);
  }

  forward(g: Stage1Generator, z: Tensor, embedding: Tensor, rng?: Generator): ReturnType<Stage1Generator['forward']> {
    return g.forward(z, embedding, rng);
  }

  sampleImages(g: Stage1Generator, z: Tensor, embedding: Tensor): Tensor {
    const out = g.forward(z, embedding);
    out.mu?.dispose();
    out.logvar?.dispose();
    return out.images;
  }

  metadata(): Record<string, string> {
    return {};
  }
}

const generatorFields = {
  noiseDim: { kind: 'number', int: true, min: 1, doc: 'N_z: size of z' },
  conditionDim: { kind: 'number', int: true, min: 1, doc: 'N_g: size of the conditioning-augmentation vector ĉ₀' },
  width: { kind: 'number', int: true, min: 1, doc: 'N_gf: the 4×4 features have 8·N_gf channels' },
} as const satisfies Schema;
const ownFields = { condition: conditionalGanSchema.condition } as const satisfies Schema;

export const stackganStage1: RecipeFactory = {
  model: 'stackgan-stage1',
  schema: stackganSchema(generatorFields, ownFields),
  create(ctx) {
    const { conditioner } = conditionerFromConfig(ctx.config, ctx.data);
    conditioner.module?.to(ctx.device);
    const config = ctx.config as unknown as StageConfig<typeof generatorFields, typeof ownFields>;
    const g = config.generator;
    const opts: Stage1GeneratorOptions = {
      noiseDim: g.noiseDim,
      embeddingDim: conditioner.dim,
      conditionDim: g.conditionDim,
      width: g.width,
      resolution: config.data.resolution,
    };
    const G = new Stage1Generator(opts).to(ctx.device);
    return new StackGanRecipe('stackgan-stage1', ctx, conditioner, new Stage1(G));
  },
};
