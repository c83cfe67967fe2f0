// StackGAN Stage II (Zhang et al. 2017, §3.3): a trained Stage I (config `stage1`: a StackGAN
// Stage-I run, a GAN-INT-CLS / WGAN-CLS run — "WGAN-CLS + Stage II" — or a DF-GAN run, as a
// refiner to weigh against growing it) is loaded and frozen; the
// Stage-II generator refines its 64×64 images to 256×256 with the text again, against a 256 px
// discriminator. Checkpoints hold the frozen Stage I and the text encoder too, so sampling needs
// nothing else.
import { F, cat, type Generator, type Tensor } from '../../engine/index.js';
import type { GeneratorOutput } from '../../models/dcgan/conditional-generator.js';
import {
  Stage2Generator,
  StackedGenerator,
  type Stage1Source,
  type Stage2GeneratorOptions,
} from '../../models/stackgan/index.js';
import type { Module } from '../../nn/index.js';
import { loadCheckpoint, resolveRunCheckpoint } from '../../artifacts/checkpoint.js';
import type { Schema } from '../config.js';
import type { RecipeFactory } from '../recipe.js';
import { StackGanRecipe, stackganSchema, type StackGanStage, type StageConfig } from './stackgan.js';
import { stage1FromCheckpoint } from '../../artifacts/generators.js';

class Stage2 implements StackGanStage<Stage2Generator> {
  readonly frozen: Map<string, Module>;

  constructor(
    readonly G: Stage2Generator,
    readonly stage1: Stage1Source,
    readonly stage1Model: string,
  ) {
    this.frozen = new Map([['stage1', stage1]]);
  }

  get noiseDim(): number {
    return this.stage1.o.noiseDim;
  }

  get stages(): number[] {
    return [this.stage1.o.resolution, this.G.o.resolution];
  }

  build(): Stage2Generator {
    return new Stage2Generator(this.G.o);
  }

  forward(g: Stage2Generator, z: Tensor, embedding: Tensor, rng?: Generator): GeneratorOutput & { input: Tensor } {
    const out = new StackedGenerator(this.stage1, g).forward(z, embedding, rng);
    return { images: out.stages[1], mu: out.mu, logvar: out.logvar, input: out.stages[0] };
  }

  /** Per caption, a row of Stage-I images (enlarged) above the row of their Stage-II refinements. */
  sampleImages(g: Stage2Generator, z: Tensor, embedding: Tensor, perCondition: number): Tensor {
    const out = new StackedGenerator(this.stage1, g).forward(z, embedding);
    out.mu.dispose();
    out.logvar.dispose();
    using low = out.stages[0];
    using high = out.stages[1];
    const side = this.G.o.resolution;
    using up = F.interpolate(low, { size: [side, side], mode: 'nearest' });
    const rows = z.size(0) / perCondition;
    using a = up.reshape(rows, 1, perCondition * 3 * side * side);
    using b = high.reshape(rows, 1, perCondition * 3 * side * side);
    using both = cat([a, b], 1);
    return both.reshape(rows * 2 * perCondition, 3, side, side);
  }

  metadata(): Record<string, string> {
    return { stage1Model: this.stage1Model, stage1Generator: JSON.stringify(this.stage1.o) };
  }
}

const generatorFields = {
  conditionDim: { kind: 'number', int: true, min: 1, doc: 'N_g: size of the conditioning-augmentation vector ĉ' },
  width: { kind: 'number', int: true, min: 4, doc: 'N_gf: 4·N_gf channels at 16×16 (a multiple of 4)' },
  residualBlocks: { kind: 'number', int: true, min: 0, doc: 'residual blocks at 16×16' },
  imageSkip: {
    kind: 'boolean',
    default: false,
    doc: 'not in the paper: the output adds to the Stage-I image (tanh(atanh(s₀ enlarged) + G₂)), starting as s₀ enlarged',
  },
  detailOnly: {
    kind: 'boolean',
    default: false,
    doc: "with imageSkip (not in the paper): G₂'s change loses its average over each 4×4 block, so the image pools back to s₀ and Stage II adds detail only",
  },
} as const satisfies Schema;
const ownFields = {
  stage1: {
    kind: 'string',
    doc: 'the Stage I to refine: a stackgan-stage1, gan-int-cls, wgan-cls or dfgan run directory (its best checkpoint, else the newest) or checkpoint, or a Stage-II run or file (the Stage I inside it)',
  },
} as const satisfies Schema;

export const stackganStage2: RecipeFactory = {
  model: 'stackgan-stage2',
  schema: stackganSchema(generatorFields, ownFields),
  create(ctx) {
    const config = ctx.config as unknown as StageConfig<typeof generatorFields, typeof ownFields>;
    const ck = loadCheckpoint(resolveRunCheckpoint(config.stage1, true));
    let loaded: ReturnType<typeof stage1FromCheckpoint>;
    try {
      loaded = stage1FromCheckpoint(ck.tensors, ck.metadata, ctx.device);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
    const { G: stage1, model, conditioner, usedEma } = loaded;
    const resolution = config.data.resolution;
    if (resolution !== stage1.o.resolution * 4) {
      stage1.dispose();
      conditioner.module?.dispose();
      throw new Error(
        `Stage II makes 4× the Stage-I side: ${ck.path} makes ${stage1.o.resolution} px, so data.resolution must be ${stage1.o.resolution * 4}, not ${resolution}`,
      );
    }
    ctx.log(`stage 1: ${model} from ${ck.path}${usedEma ? ' (EMA weights)' : ''}, frozen`);
    const g = config.generator;
    const opts: Stage2GeneratorOptions = {
      embeddingDim: conditioner.dim,
      conditionDim: g.conditionDim,
      width: g.width,
      residualBlocks: g.residualBlocks,
      ...(g.imageSkip ? { imageSkip: true } : {}),
      ...(g.detailOnly ? { detailOnly: true } : {}),
      inputResolution: stage1.o.resolution,
      resolution,
    };
    const G = new Stage2Generator(opts).to(ctx.device);
    return new StackGanRecipe('stackgan-stage2', ctx, conditioner, new Stage2(G, stage1, model));
  },
};
