// Training the image → latent encoder (models/latent-encoder.ts) on a frozen generator's images:
// draw z and a real face's tags, render x = G(z, tags), and regress E(x) onto z. Validation is what
// the encoder is for: the real held-out faces redrawn from E's guess, G(E(x), tags) against x, and
// generated faces, whose true z is known. The best checkpoint is the one that redraws real faces best.
import type { Batch } from '../../data/index.js';
import { F, Generator, noGrad, randn, tidy, type Tensor } from '../../engine/index.js';
import { TextToImagePipeline } from '../../inference/pipeline.js';
import { tagText } from '../../text/index.js';
import { LatentEncoder, type LatentEncoderOptions } from '../../models/latent-encoder.js';
import type { Module } from '../../nn/index.js';
import { Adam, type Optimizer } from '../../optim/index.js';
import type { ConfigOf, Schema } from '../config.js';
import type { CommonConfig } from '../schema.js';
import { gradNorm } from '../losses.js';
import type { Recipe, RecipeContext, RecipeFactory, StepResult } from '../recipe.js';
import { validationLoader } from '../validation.js';

export const latentEncoderSchema = {
  encoder: {
    kind: 'object',
    fields: {
      generator: { kind: 'string', doc: 'the tag model whose latents it learns: an export, a run or a checkpoint' },
      width: { kind: 'number', int: true, min: 1, default: 32, doc: 'channels of the first layer' },
    },
  },
  optim: {
    kind: 'object',
    fields: {
      lr: { kind: 'number', min: 0, doc: 'Adam learning rate' },
      beta1: { kind: 'number', min: 0, max: 1, doc: 'Adam β1' },
      beta2: { kind: 'number', min: 0, max: 1, doc: 'Adam β2' },
    },
  },
  eval: {
    kind: 'object',
    fields: {
      batches: {
        kind: 'number',
        int: true,
        min: 1,
        default: 4,
        doc: 'validation batches of real faces per evaluation',
      },
      generated: { kind: 'number', int: true, min: 1, default: 256, doc: 'generated faces per evaluation' },
    },
  },
} as const satisfies Schema;

type EncoderConfig = CommonConfig & ConfigOf<typeof latentEncoderSchema>;

/** A batch's tags as the generator reads them ("blue hair red eyes"). */
function tagTexts(batch: Batch): string[] {
  return batch.attributes.map((a, i) => {
    if (a?.hair === undefined || a.eyes === undefined)
      throw new Error(`image ${batch.indices[i]} has no hair/eyes tags: the latent encoder needs a tag dataset`);
    return tagText({ hair: a.hair, eyes: a.eyes });
  });
}

class LatentEncoderRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep = 1;
  readonly best = { metric: 'val_mse', mode: 'min' as const };
  readonly G: TextToImagePipeline;
  readonly net: LatentEncoder;
  readonly options: LatentEncoderOptions;

  constructor(readonly ctx: RecipeContext) {
    const config = ctx.config as unknown as EncoderConfig;
    this.G = TextToImagePipeline.load(config.encoder.generator, ctx.device);
    if (this.G.tags === undefined) {
      this.G.dispose();
      throw new Error(`${config.encoder.generator} is a caption model: the latent encoder learns tag models`);
    }
    if (this.G.resolution !== config.data.resolution) {
      this.G.dispose();
      throw new Error(`the generator draws ${this.G.resolution} px; data.resolution is ${config.data.resolution}`);
    }
    this.options = { noiseDim: this.G.noiseDim, width: config.encoder.width, resolution: config.data.resolution };
    this.net = new LatentEncoder(this.options).to(ctx.device);
    this.modules.set('encoder', this.net);
    const o = config.optim;
    this.optimizers.set('encoder', new Adam(this.net.parameters(), { lr: o.lr, betas: [o.beta1, o.beta2] }));
    ctx.log(
      `latent-encoder: ${(this.net.numParameters() / 1e6).toFixed(2)}M parameters, learning the ${this.G.noiseDim}-wide noise of ${this.G.source}`,
    );
  }

  step(batches: Batch[], _step: number, { logging }: { logging: boolean }): StepResult {
    const batch = batches[0]!;
    const texts = tagTexts(batch);
    const opt = this.optimizers.get('encoder')!;
    using z0 = randn([texts.length, this.G.noiseDim], { generator: this.ctx.rng });
    using z = z0.to(this.ctx.device);
    using x = this.G.generateFrom(z, texts);
    using loss = tidy(() => F.mseLoss(this.net.forward(x), z));
    opt.zeroGrad();
    const overflow = this.ctx.precision.backward(loss, opt);
    const scalars: Record<string, number> = {};
    if (logging && !overflow) scalars['grad/encoder'] = gradNorm(opt.params);
    if (!overflow) opt.step();
    if (logging) {
      scalars['loss/z_mse'] = loss.item();
      scalars.lr = opt.lr;
    }
    return { scalars, images: texts.length };
  }

  /** Pixel error of G(E(x)) on real held-out faces; latent and pixel error on generated ones. */
  async evaluate(): Promise<Record<string, number>> {
    const config = this.ctx.config as unknown as EncoderConfig;
    this.net.eval();
    try {
      const out: Record<string, number> = {};
      const loader = validationLoader(this.ctx, { dropLast: false });
      if (loader !== null) {
        let sum = 0;
        let n = 0;
        let batches = 0;
        try {
          for await (const batch of loader.epoch(0)) {
            const texts = tagTexts(batch);
            const x = batch.images.get(this.options.resolution!)!;
            sum += noGrad(() => this.redrawError(x, texts)) * texts.length;
            n += texts.length;
            batch.dispose();
            if (++batches >= config.eval.batches) break;
          }
        } finally {
          await loader.close();
        }
        if (n > 0) out.val_mse = sum / n;
      }
      // Generated faces from fixed draws: the same every evaluation.
      const g = new Generator(20261202);
      const tagsOf = this.ctx.data.records
        .slice(0, config.eval.generated)
        .map((r) => tagText({ hair: r.attributes?.hair ?? '', eyes: r.attributes?.eyes ?? '' }));
      noGrad(() => {
        using z0 = randn([tagsOf.length, this.G.noiseDim], { generator: g });
        using z = z0.to(this.ctx.device);
        using x = this.G.generateFrom(z, tagsOf);
        using guess = this.net.forward(x);
        using zErr = F.mseLoss(guess, z);
        out.gen_z_mse = zErr.item();
        out.gen_mse = this.redrawError(x, tagsOf);
      });
      return out;
    } finally {
      this.net.train();
    }
  }

  /** Mean squared pixel error of G(E(x), tags) against x. */
  private redrawError(x: Tensor, texts: string[]): number {
    using guess = this.net.forward(x);
    using redrawn = this.G.generateFrom(guess, texts);
    using err = F.mseLoss(redrawn, x);
    return err.item();
  }

  metadata(): Record<string, string> {
    return {
      model: 'latent-encoder',
      encoder: JSON.stringify(this.options),
      generatorSource: this.G.source,
    };
  }

  dispose(): void {
    this.G.dispose();
  }
}

export const latentEncoder: RecipeFactory = {
  model: 'latent-encoder',
  schema: latentEncoderSchema,
  memoryFormat: 'contiguous',
  create: (ctx) => new LatentEncoderRecipe(ctx),
};
