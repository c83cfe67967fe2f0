// Adversarial training of one StackGAN stage (Zhang et al. 2017, Eqs. 3–6), shared by Stage I and
// Stage II; what differs (the generator, what it reads, a frozen Stage I) is a `StackGanStage`.
//   D: L = ℓ_real(D(x, φ)) + w·ℓ_fake(D(x, φ̂)) + (1 − w)·ℓ_fake(D(G(·), φ)) [+ u·(ℓ_real(D(x)) + ℓ_fake(D(G(·))))]
//   G: L = ℓ_gen(D(G(·), φ)) [+ u·ℓ_gen(D(G(·)))] + λ·KL(N(μ(φ), Σ(φ)) ‖ N(0, I)) [+ λ_c·L_cons]
// with φ the text embedding, φ̂ one of another class (matching-aware) and u the weight of the
// unconditional logit of the official PyTorch Stage II, and L_cons our optional low-resolution
// consistency of a Stage-II image with the Stage-I image it refines. As in the official code, one
// generator pass per step serves both updates (D sees its images detached), and the learning rates
// halve every `optim.lrDecayEpochs` epochs.
import { discriminatorAugment } from '../augment-config.js';
import { Generator, noGrad, randn, type Device, type Tensor } from '../../engine/index.js';
import type { Batch } from '../../data/index.js';
import type { Conditioner } from '../../models/conditioning.js';
import type { GeneratorOutput } from '../../models/dcgan/conditional-generator.js';
import { ConditioningAugmentation } from '../../models/layers/conditioning-augmentation.js';
import { StackGanDiscriminator, lowResolutionConsistency } from '../../models/stackgan/index.js';
import { colorConsistency, colorConsistencyWeights } from '../../models/stackganpp/index.js';
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../optim/index.js';
import type { ConfigOf, Schema } from '../config.js';
import type { CommonConfig } from '../schema.js';
import { ExponentialMovingAverage } from '../ema.js';
import { dFakeLoss, dRealLoss, gLoss, meanScore, type AdversarialLoss, minimize, weightedSum } from '../losses.js';
import type { Sampler } from '../../eval/checkpoint-metric.js';
import { samplerOf } from '../sampler.js';
import type { Recipe, RecipeContext, StepResult } from '../recipe.js';
import { adamFromConfig, adamSchema, emaSchema } from '../optim-config.js';
import { conditionalGanSchema, sampleCaptions } from './conditional-gan-config.js';

/** The losses a StackGAN stage trains with (a Wasserstein critic would need its gradient penalty). */
const STACKGAN_LOSSES = ['nonsaturating', 'hinge', 'least-squares'] as const;

/** The generator trained at one stage: its options are stored in checkpoints for sampling. */
export interface StageGenerator extends Module {
  readonly o: { resolution: number };
}

/** What one StackGAN stage brings to the shared training loop. */
export interface StackGanStage<G extends StageGenerator> {
  /** The generator to train. */
  readonly G: G;
  /** A fresh generator of G's architecture (the moving average's copy). */
  build(): G;
  readonly noiseDim: number;
  /** Image sides of every stage, smallest first (the last is G's). */
  readonly stages: number[];
  /** Networks saved in checkpoints but not trained (the frozen Stage I). */
  readonly frozen: Map<string, Module>;
  /**
   * Images of generator g at G's resolution with its conditioning Gaussian; `rng` draws the CA noise.
   * A refining stage also returns the image it refined (`input`).
   */
  forward(g: G, z: Tensor, embedding: Tensor, rng?: Generator): GeneratorOutput & { input?: Tensor };
  /** The sample grid's images for fixed inputs (g in eval mode). */
  sampleImages(g: G, z: Tensor, embedding: Tensor, perCondition: number): Tensor;
  /** Strings beyond the generator's options that sampling needs. */
  metadata(): Record<string, string>;
}

/** The config sections both stages share (`generator` and the stage's own keys differ). */
const stackganSections = {
  discriminator: {
    kind: 'object',
    fields: {
      projectionDim: { kind: 'number', int: true, min: 1, doc: 'N_d: width of the compressed text embedding in D' },
      width: { kind: 'number', int: true, min: 1, doc: 'N_df: channels of the first down-sampling block' },
    },
  },
  loss: {
    kind: 'object',
    fields: {
      adversarial: { kind: 'string', choices: STACKGAN_LOSSES, doc: 'adversarial objective' },
      wrongWeight: { kind: 'number', min: 0, max: 1, default: 0.5, doc: 'weight w of the (real, wrong text) term' },
      kl: { kind: 'number', min: 0, doc: 'λ: weight of the conditioning-augmentation KL term (per dimension)' },
      unconditional: {
        kind: 'number',
        min: 0,
        default: 0,
        doc: 'weight of the unconditional (image-only) logit in D and G (0: off)',
      },
      consistency: {
        kind: 'number',
        min: 0,
        default: 0,
        doc: 'λ_c: L1 between the Stage-II image pooled to the Stage-I side and the Stage-I image (Stage II only; 0: off; not in the paper)',
      },
      colorConsistency: {
        kind: 'number',
        min: 0,
        default: 0,
        doc: "λ_C: StackGAN++'s colour consistency (per-image colour mean, and 5× covariance) between the Stage-II image and the Stage-I image (Stage II only; 0: off)",
      },
    },
  },
  optim: {
    kind: 'object',
    fields: {
      generator: { kind: 'object', fields: adamSchema },
      discriminator: { kind: 'object', fields: adamSchema },
      lrDecayEpochs: {
        kind: 'number',
        int: true,
        min: 0,
        default: 0,
        doc: 'multiply both learning rates by lrDecay every this many epochs (0: constant)',
      },
      lrDecay: { kind: 'number', min: 0, max: 1, default: 0.5, doc: 'the factor of each decay' },
      ...emaSchema(0),
    },
  },
  augment: conditionalGanSchema.augment,
  eval: conditionalGanSchema.eval,
  samples: conditionalGanSchema.samples,
} as const satisfies Schema;

/** What the shared StackGAN recipe reads of a stage's config (typed from the schemas). */
export type StackGanConfig = CommonConfig & ConfigOf<typeof stackganSections>;

/** A stage's config: the shared sections, its generator's fields and its own keys. */
export type StageConfig<G extends Schema, E extends Schema> = StackGanConfig & ConfigOf<E> & { generator: ConfigOf<G> };

/** The config sections of a stage: `generator` differs between Stage I and Stage II. */
export function stackganSchema<G extends Schema, E extends Schema>(generator: G, extra: E) {
  return { ...extra, generator: { kind: 'object', fields: generator } as const, ...stackganSections } satisfies Schema;
}

export class StackGanRecipe<G extends StageGenerator> implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep = 1;
  readonly G: G;
  readonly D: StackGanDiscriminator;
  readonly ema: ExponentialMovingAverage<G> | null;
  readonly loss: AdversarialLoss;
  readonly l: StackGanConfig['loss'];
  readonly c: StackGanConfig;
  readonly device: Device;
  /** DiffAugment of D's inputs (an alias when off). */
  readonly augment: (x: Tensor) => Tensor;
  readonly fixed: { noise: Tensor; embedding: Tensor; captions: string[]; perCondition: number };
  readonly #lr: { G: number; D: number; decayEpochs: number; decay: number; batchesPerEpoch: number };

  constructor(
    readonly model: string,
    readonly ctx: RecipeContext,
    readonly conditioner: Conditioner,
    readonly stage: StackGanStage<G>,
  ) {
    const { device } = ctx;
    const config = (this.c = ctx.config as unknown as StackGanConfig);
    this.device = device;
    this.augment = discriminatorAugment(config.augment, ctx.rng);
    this.l = config.loss;
    for (const term of ['consistency', 'colorConsistency'] as const)
      if (this.l[term] > 0 && stage.stages.length < 2)
        throw new Error(
          `loss.${term} holds a refined image to the image it refines: ${model} refines none (Stage II only)`,
        );
    this.loss = this.l.adversarial;
    this.G = stage.G;
    const d = config.discriminator;
    this.D = new StackGanDiscriminator({
      embeddingDim: conditioner.dim,
      projectionDim: d.projectionDim,
      width: d.width,
      resolution: this.G.o.resolution,
      unconditional: this.l.unconditional > 0,
    }).to(device);
    this.modules.set('G', this.G).set('D', this.D);
    const o = config.optim;
    this.ema = ExponentialMovingAverage.fromConfig(this.G, () => stage.build().to(device), o);
    if (this.ema) this.modules.set('G_ema', this.ema.shadow);
    for (const [name, m] of stage.frozen) this.modules.set(name, m);
    if (conditioner.module) this.modules.set('text', conditioner.module);
    const og = o.generator;
    const od = o.discriminator;
    this.optimizers.set('G', adamFromConfig(this.G.parameters(), og));
    this.optimizers.set('D', adamFromConfig(this.D.parameters(), od));
    const batchSize = config.data.batchSize;
    this.#lr = {
      G: og.lr,
      D: od.lr,
      decayEpochs: o.lrDecayEpochs,
      decay: o.lrDecay,
      // The loader's epoch: full batches of the training split.
      batchesPerEpoch: Math.max(1, Math.floor(ctx.data.indices('train').length / batchSize)),
    };
    this.fixed = this.#fixedInputs();
    ctx.log(
      `${model}: G ${(this.G.numParameters() / 1e6).toFixed(2)}M, D ${(this.D.numParameters() / 1e6).toFixed(2)}M parameters; stages ${stage.stages.join(' → ')}; condition ${conditioner.kind} (${conditioner.dim})`,
    );
  }

  #fixedInputs(): StackGanRecipe<G>['fixed'] {
    const per = this.c.samples.perCondition;
    const captions = sampleCaptions(this.ctx);
    const gen = new Generator(this.c.seed + 1000, this.device);
    const expanded = captions.flatMap((c) => new Array<string>(per).fill(c));
    const noise = randn([expanded.length, this.stage.noiseDim], { generator: gen, device: this.device });
    const embedding = this.conditioner.encode({ captions: expanded }, this.device);
    return { noise, embedding, captions, perCondition: per };
  }

  /** The learning rates of this step: a function of the step alone, so resuming continues it exactly. */
  #schedule(step: number): void {
    const { G, D, decayEpochs, decay, batchesPerEpoch } = this.#lr;
    const epoch = Math.floor(step / batchesPerEpoch);
    const f = decayEpochs > 0 ? decay ** Math.floor(epoch / decayEpochs) : 1;
    this.optimizers.get('G')!.lr = G * f;
    this.optimizers.get('D')!.lr = D * f;
  }

  step(batches: Batch[], step: number, { logging }: { logging: boolean }): StepResult {
    this.#schedule(step);
    const scalars: Record<string, number> = {};
    const optD = this.optimizers.get('D')!;
    const optG = this.optimizers.get('G')!;
    const batch = batches[0]!;
    const x = batch.images.get(this.G.o.resolution);
    if (x === undefined) throw new Error(`the batch has no ${this.G.o.resolution} px images`);
    const n = x.size(0);
    const wrongW = this.l.wrongWeight;
    const u = this.l.unconditional;
    using h = this.conditioner.encode({ captions: batch.captions, attributes: batch.attributes }, this.device);
    using hWrong = this.conditioner.encode(
      { captions: batch.wrongCaptions, attributes: batch.wrongAttributes },
      this.device,
    );
    using z = randn([n, this.stage.noiseDim], { generator: this.ctx.rng, device: this.device });
    const out = this.stage.forward(this.G, z, h, this.ctx.rng);
    using fake = out.images;
    using mu = out.mu!;
    using logvar = out.logvar!;
    using input = out.input;

    // DiffAugment (when on): every image D sees, in the D and the G step.
    using xa = this.augment(x);
    const dl = (() => {
      using fakeD = fake.detach();
      using fda = this.augment(fakeD);
      using fx = this.D.features(xa);
      using ff = this.D.features(fda);
      using real = this.D.score(fx, h);
      using wrong = this.D.score(fx, hWrong);
      using fk = this.D.score(ff, h);
      const terms = [dRealLoss(this.loss, real), dFakeLoss(this.loss, wrong), dFakeLoss(this.loss, fk)];
      const weights = [1, wrongW, 1 - wrongW];
      if (u > 0) {
        using ru = this.D.unconditionalScore(fx);
        using fu = this.D.unconditionalScore(ff);
        terms.push(dRealLoss(this.loss, ru), dFakeLoss(this.loss, fu));
        weights.push(u, u);
      }
      if (logging) {
        scalars['D/real'] = meanScore(this.loss, real);
        scalars['D/wrong'] = meanScore(this.loss, wrong);
        scalars['D/fake'] = meanScore(this.loss, fk);
      }
      const total = weightedSum(terms, weights);
      terms.forEach((t) => t.dispose());
      return total;
    })();
    minimize(optD, dl, 'D', scalars, logging, this.ctx.precision);

    const gl = (() => {
      using fa = this.augment(fake);
      using ff = this.D.features(fa);
      using s = this.D.score(ff, h);
      const terms = [gLoss(this.loss, s)];
      const weights = [1];
      if (u > 0) {
        using su = this.D.unconditionalScore(ff);
        terms.push(gLoss(this.loss, su));
        weights.push(u);
      }
      terms.push(ConditioningAugmentation.klLossPerDimension(mu, logvar));
      weights.push(this.l.kl);
      if (logging) scalars['loss/kl'] = terms[terms.length - 1]!.item();
      if (this.l.consistency > 0) {
        terms.push(lowResolutionConsistency(fake, input!));
        weights.push(this.l.consistency);
        if (logging) scalars['loss/consistency'] = terms[terms.length - 1]!.item();
      }
      if (this.l.colorConsistency > 0) {
        const { mean, covariance } = colorConsistency(fake, input!);
        terms.push(mean, covariance);
        const colour = colorConsistencyWeights(this.l.colorConsistency);
        weights.push(colour.mean, colour.covariance);
        if (logging) {
          scalars['loss/color_mean'] = mean.item();
          scalars['loss/color_cov'] = covariance.item();
        }
      }
      const total = weightedSum(terms, weights);
      terms.forEach((t) => t.dispose());
      return total;
    })();
    // D's parameters get gradients from the G loss too; they are cleared at its next zeroGrad.
    minimize(optG, gl, 'G', scalars, logging, this.ctx.precision);
    this.ema?.update(step);
    if (logging) {
      scalars['lr/G'] = optG.lr;
      scalars['lr/D'] = optD.lr;
    }
    return { scalars, images: n };
  }

  /** Samples from the moving average when there is one, in eval mode (running batch statistics). */
  samples(): { images: Tensor; nrow: number } {
    const g = this.ema?.shadow ?? this.G;
    const { noise, embedding, perCondition } = this.fixed;
    return g.inEvalMode(() => ({
      images: noGrad(() => this.stage.sampleImages(g, noise, embedding, perCondition)),
      nrow: perCondition,
    }));
  }

  /** G as src/eval measures it (the moving average when there is one; Stage II on its frozen Stage I). */
  sampler(): Sampler {
    const g = this.ema?.shadow ?? this.G;
    const o = { noiseDim: this.stage.noiseDim, device: this.device, conditioner: this.conditioner };
    return samplerOf(g, o, (z, captions) => {
      using embedding = this.conditioner.encode({ captions }, this.device);
      const out = this.stage.forward(g, z, embedding);
      out.mu?.dispose();
      out.logvar?.dispose();
      out.input?.dispose();
      return out.images;
    });
  }

  metadata(): Record<string, string> {
    return {
      model: this.model,
      generator: JSON.stringify(this.G.o),
      stages: JSON.stringify(this.stage.stages),
      sampleCaptions: JSON.stringify(this.fixed.captions),
      ...this.stage.metadata(),
      ...this.conditioner.metadata(),
    };
  }

  dispose(): void {
    this.fixed.noise.dispose();
    this.fixed.embedding.dispose();
  }
}
