// DF-GAN (Tao et al., CVPR 2022): one generator straight to the full-size image, the sentence fused
// into every block; a one-way discriminator with the matching-aware gradient penalty; hinge loss.
//   D: L = E[max(0, 1 − D(x, e))] + ½(E[max(0, 1 + D(G(z, e), e))] + E[max(0, 1 + D(x, ẽ))])
//          + k·E[‖(∇ₓD(x, e), ∇ₑD(x, e))‖₂^p]
//   G: L = −E[D(G(z, e), e)] + λ_ms·L_ms
// L_ms (loss.modeSeeking = λ_ms, Mao et al. 2019; off by default) pairs the batch's halves, drawn for
// the same sentences with different noise. e is the caption's DAMSM sentence embedding (frozen); ẽ another image's (the batch shifted by
// one, as the official code pairs them). With augment ratios above 0, every image D sees goes
// through DiffAugment (translation and cutout, never colour: colour is in the captions).
import { Generator, cat, noGrad, randn, tidy, type Device, type Tensor } from '../../engine/index.js';
import type { Batch } from '../../data/index.js';
import type { Sampler } from '../../eval/checkpoint-metric.js';
import type { Conditioner } from '../../models/conditioning.js';
import { withPrefix } from '../../artifacts/checkpoint.js';
import {
  DfDiscriminator,
  DfGenerator,
  growDiscriminator,
  growGenerator,
  type DfGeneratorOptions,
} from '../../models/dfgan/index.js';
import { diffAugment } from '../../models/layers/diff-augment.js';
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../optim/index.js';
import type { ConfigOf, Schema } from '../config.js';
import { ExponentialMovingAverage } from '../ema.js';
import {
  dFakeLoss,
  dRealLoss,
  gLoss,
  matchingAwarePenaltyOf,
  minimize,
  addModeSeeking,
  weightedSum,
} from '../losses.js';
import { adamFromConfig, adamSchema, emaSchema } from '../optim-config.js';
import { fidSchema } from '../checkpoint-metric.js';
import { initSchema, setGeneratorLr, readWarmStart, startFrom, startedFromOf } from '../warm-start.js';
import type { Recipe, RecipeContext, RecipeFactory, StartedFrom, StepResult } from '../recipe.js';
import { conditionVectorSampler, fixedSamples } from '../sampler.js';
import type { CommonConfig } from '../schema.js';
import { conditionerFromConfig } from './conditional-gan-config.js';

export const dfganSchema = {
  condition: {
    kind: 'object',
    fields: {
      source: { kind: 'string', choices: ['damsm'], default: 'damsm', doc: 'the sentence embedding of a DAMSM' },
      damsm: { kind: 'string', nullable: true, doc: 'a DAMSM run directory or checkpoint' },
    },
  },
  generator: {
    kind: 'object',
    fields: {
      noiseDim: { kind: 'number', int: true, min: 1, default: 100, doc: 'length of z' },
      width: { kind: 'number', int: true, min: 1, doc: 'nf: channels of the last block (the first has 8nf)' },
    },
  },
  discriminator: {
    kind: 'object',
    fields: {
      width: { kind: 'number', int: true, min: 1, doc: 'nf: channels after the first convolution (8nf at 4×4)' },
    },
  },
  grow: {
    kind: 'object',
    fields: {
      from: {
        kind: 'string',
        nullable: true,
        doc: 'a smaller DF-GAN run (its best checkpoint) or checkpoint whose G, D and EMA start this run (models/dfgan/grow.ts)',
      },
      base: {
        kind: 'number',
        int: true,
        min: 0,
        default: 0,
        doc: "side up to which the layout is the official code's, nf-channel blocks above it (the grown-from model's side; 0: the official layout)",
      },
    },
  },
  init: { kind: 'object', fields: initSchema },
  loss: {
    kind: 'object',
    fields: {
      gpWeight: { kind: 'number', min: 0, default: 2, doc: 'k of the matching-aware gradient penalty' },
      gpPower: { kind: 'number', min: 1, default: 6, doc: 'p of the matching-aware gradient penalty' },
      modeSeeking: {
        kind: 'number',
        min: 0,
        default: 0,
        doc: "weight of the mode-seeking term in G's loss (MSGAN; the batch's halves share sentences; 0: off)",
      },
    },
  },
  augment: {
    kind: 'object',
    fields: {
      translation: { kind: 'number', min: 0, max: 0.5, default: 0.125, doc: 'DiffAugment shift, fraction of the side' },
      cutout: { kind: 'number', min: 0, max: 1, default: 0, doc: 'DiffAugment cutout square, fraction of the side' },
    },
  },
  optim: {
    kind: 'object',
    fields: {
      generator: { kind: 'object', fields: adamSchema },
      discriminator: { kind: 'object', fields: adamSchema },
      ...emaSchema(0.999),
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
        doc: 'validation captions for R-precision at each checkpoint (0: off); picks the best checkpoint',
      },
      damsm: { kind: 'string', nullable: true, doc: 'the DAMSM that ranks them (default: condition.damsm)' },
      fid: fidSchema("generated and training images for FID (that DAMSM's image features) at each checkpoint (0: off)"),
    },
  },
  samples: {
    kind: 'object',
    fields: {
      rows: {
        kind: 'number',
        int: true,
        min: 1,
        default: 8,
        doc: 'captions of the sample grid (the first validation ones)',
      },
      perCondition: { kind: 'number', int: true, min: 1, default: 8, doc: 'images per caption' },
    },
  },
} as const satisfies Schema;

type DfganConfig = CommonConfig & ConfigOf<typeof dfganSchema>;

const meanOf = (t: Tensor): number => noGrad(() => tidy(() => t.mean().item()));

class DfganRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep = 1;
  readonly c: DfganConfig;
  readonly G: DfGenerator;
  readonly D: DfDiscriminator;
  readonly ema: ExponentialMovingAverage<DfGenerator> | null;
  readonly conditioner: Conditioner;
  readonly device: Device;
  readonly rng: Generator;
  readonly fixed: { noise: Tensor; condition: Tensor; perCondition: number };

  constructor(readonly ctx: RecipeContext) {
    const { device } = ctx;
    const config = (this.c = ctx.config as unknown as DfganConfig);
    this.device = device;
    this.rng = ctx.rng;
    this.conditioner = conditionerFromConfig(ctx.config, ctx.data).conditioner;
    this.conditioner.module?.to(device);
    if (config.grow.from !== null && config.grow.base === 0)
      throw new Error("grow.from needs grow.base: the side of the model it grows from (the layout's base)");
    // Only grown layouts record a base side: checkpoints of the official layout keep their metadata.
    const base = config.grow.base === 0 ? {} : { baseResolution: config.grow.base };
    const gOpts: DfGeneratorOptions = {
      noiseDim: config.generator.noiseDim,
      condDim: this.conditioner.dim,
      width: config.generator.width,
      resolution: config.data.resolution,
      ...base,
    };
    this.G = new DfGenerator(gOpts).to(device);
    this.D = new DfDiscriminator({
      width: config.discriminator.width,
      resolution: config.data.resolution,
      condDim: this.conditioner.dim,
      ...base,
    }).to(device);
    this.modules.set('G', this.G).set('D', this.D);
    // The text encoder is frozen; it is kept in the checkpoint so that the model samples on its own.
    if (this.conditioner.module) this.modules.set('text', this.conditioner.module);
    const o = config.optim;
    this.ema = ExponentialMovingAverage.fromConfig(this.G, () => new DfGenerator(gOpts).to(device), o);
    if (this.ema) this.modules.set('G_ema', this.ema.shadow);
    this.optimizers.set('G', adamFromConfig(this.G.parameters(), o.generator));
    this.optimizers.set('D', adamFromConfig(this.D.parameters(), o.discriminator));
    this.fixed = this.#fixedInputs();
    ctx.log(
      `dfgan: G ${(this.G.numParameters() / 1e6).toFixed(2)}M, D ${(this.D.numParameters() / 1e6).toFixed(2)}M parameters; ${config.data.resolution} px; sentence ${this.conditioner.dim}`,
    );
  }

  /**
   * A new run with grow.from starts from that smaller DF-GAN's G, D and EMA (models/dfgan/grow.ts);
   * with init.from from a model of this layout.
   */
  initialize(): StartedFrom | void {
    const from = this.c.grow.from;
    if (from !== null && this.c.init.from !== null) throw new Error('grow.from and init.from both start G: give one');
    if (this.c.init.from !== null) {
      const nets = { G: this.G, shadow: this.ema?.shadow ?? null, D: this.D, conditioner: this.conditioner };
      const started = startFrom(this.c.init.from, 'dfgan', nets, this.c.init.discriminatorSteps);
      this.ctx.log(started.log);
      return started.startedFrom;
    }
    if (from === null) return;
    const ck = readWarmStart(from, 'dfgan', this.conditioner.module);
    try {
      const m = ck.metadata;
      const generator = JSON.parse(m.generator ?? 'null') as DfGeneratorOptions;
      // Checkpoints before the discriminator's options were recorded have its width in their config.
      const d =
        m.discriminator !== undefined
          ? (JSON.parse(m.discriminator) as { width: number })
          : (JSON.parse(m.config ?? '{}') as { discriminator?: { width: number } }).discriminator;
      if (d === undefined) throw new Error(`grow.from: ${ck.path} records no discriminator width`);
      const discriminatorWidth = d.width;
      const G = withPrefix(ck.tensors, 'G.');
      const added = growGenerator(this.G, generator, G);
      growDiscriminator(this.D, { generator, discriminatorWidth }, withPrefix(ck.tensors, 'D.'));
      const shadow = withPrefix(ck.tensors, 'G_ema.');
      if (this.ema) growGenerator(this.ema.shadow, generator, shadow.size > 0 ? shadow : G);
      this.ctx.log(
        `grew from ${ck.path} (${generator.resolution} px, step ${m.step ?? '?'}): ` +
          `${added} new G block(s), ` +
          `its D, EMA${this.ema && shadow.size === 0 ? ' (from G: it had none)' : ''} and layout kept`,
      );
      return startedFromOf(ck);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  }

  #fixedInputs(): DfganRecipe['fixed'] {
    const s = this.c.samples;
    const records = this.ctx.data.records;
    const held = records.filter((r) => r.split === 'val' || r.split === 'test');
    const captions = (held.length > 0 ? held : records).slice(0, s.rows).map((r) => r.captions[0]!);
    const expanded = captions.flatMap((t) => new Array<string>(s.perCondition).fill(t));
    const gen = new Generator(this.c.seed + 1000, this.device);
    const noise = randn([expanded.length, this.G.o.noiseDim], { generator: gen, device: this.device });
    const condition = noGrad(() => this.conditioner.encode({ captions: expanded }, this.device));
    return { noise, condition, perCondition: s.perCondition };
  }

  #augment(x: Tensor): Tensor {
    const a = this.c.augment;
    return diffAugment(x, { translation: a.translation, cutout: a.cutout, generator: this.rng });
  }

  step(batches: Batch[], step: number, { logging }: { logging: boolean }): StepResult {
    const batch = batches[0]!;
    const real = batch.images.get(this.G.o.resolution)!;
    const n = real.size(0);
    if (n < 2) throw new Error('DF-GAN needs batches of at least 2 (the mismatched pairs shift the batch by one)');
    const scalars: Record<string, number> = {};
    const e = noGrad(() => this.conditioner.encode({ captions: batch.captions }, this.device));
    const l = this.c.loss;
    const ms = l.modeSeeking;
    if (ms > 0 && n % 2 !== 0)
      throw new Error(`loss.modeSeeking pairs the batch's halves: the batch (${n}) must be even`);
    // The sentences G draws for: the batch's own, or with mode seeking the first half's twice, so
    // that each pair (i, i + n/2) differs only in its noise.
    const eG = ms > 0 ? tidy(() => cat([e.narrow(0, 0, n / 2), e.narrow(0, 0, n / 2)])) : e.alias();
    const z = randn([n, this.G.o.noiseDim], { generator: this.rng, device: this.device });
    // The first init.discriminatorSteps steps update D alone: G's pass needs no graph then.
    const dAlone = step < this.c.init.discriminatorSteps;
    const fake = dAlone ? noGrad(() => this.G.forward(z, eG).images) : this.G.forward(z, eG).images;
    // Every D call sees a freshly augmented image; gradients pass through the augmentation.
    const critic = (x: Tensor, s: Tensor): Tensor => {
      using a = this.#augment(x);
      return this.D.forward(a, s);
    };
    try {
      // D step: real and matching, fake, real with another image's sentence, and the penalty. The
      // real pass serves the hinge term and the penalty (as the official code does it); fake and
      // mismatched pairs go through D in one call (D normalises nothing across the batch, so this is
      // the two calls' arithmetic). The penalty's double backward stays on the real pass alone.
      {
        using x = real.detach().requiresGrad_(true);
        using ex = e.detach().requiresGrad_(true);
        using sReal = critic(x, ex);
        using fd = fake.detach();
        using realRest = real.narrow(0, 1, n - 1);
        using eRest = e.narrow(0, 0, n - 1);
        using negatives = cat([fd, realRest], 0);
        using negativeSentences = cat([eG, eRest], 0);
        using sNegative = critic(negatives, negativeSentences);
        using sFake = sNegative.narrow(0, 0, n);
        using sWrong = sNegative.narrow(0, n, n - 1);
        using lReal = dRealLoss('hinge', sReal);
        using lFake = dFakeLoss('hinge', sFake);
        using lWrong = dFakeLoss('hinge', sWrong);
        using gp = matchingAwarePenaltyOf(sReal, x, ex, { k: l.gpWeight, p: l.gpPower });
        const loss = weightedSum([lReal, lFake, lWrong, gp], [1, 0.5, 0.5, 1]);
        if (logging) {
          scalars['D/real'] = meanOf(sReal);
          scalars['D/fake'] = meanOf(sFake);
          scalars['D/wrong'] = meanOf(sWrong);
          scalars['D/ma_gp'] = meanOf(gp);
        }
        minimize(this.optimizers.get('D')!, loss, 'D', scalars, logging, this.ctx.precision);
      }
      // G step: through the updated D, on the same images.
      if (!dAlone) {
        using s = critic(fake, eG);
        const g = gLoss('hinge', s);
        const loss = ms > 0 ? addModeSeeking(g, fake, z, ms, scalars, logging) : g;
        const optG = this.optimizers.get('G')!;
        setGeneratorLr(optG, this.c.optim.generator.lr, this.c.init, step, scalars, logging);
        minimize(optG, loss, 'G', scalars, logging, this.ctx.precision);
        this.ema?.update(step);
      }
    } finally {
      for (const t of [e, eG, z, fake]) t.dispose();
    }
    return { scalars, images: n };
  }

  samples(): { images: Tensor; nrow: number } {
    return fixedSamples(this.ema?.shadow ?? this.G, this.fixed);
  }

  /** G as src/eval measures it (the moving average when there is one): R-precision picks the best checkpoint. */
  sampler(): Sampler {
    const o = { noiseDim: this.G.o.noiseDim, device: this.device, conditioner: this.conditioner };
    return conditionVectorSampler(this.ema?.shadow ?? this.G, o);
  }

  metadata(): Record<string, string> {
    return {
      model: 'dfgan',
      generator: JSON.stringify(this.G.o),
      discriminator: JSON.stringify(this.D.o),
      ...this.conditioner.metadata(),
    };
  }

  dispose(): void {
    this.fixed.noise.dispose();
    this.fixed.condition.dispose();
  }
}

export const dfgan: RecipeFactory = {
  model: 'dfgan',
  schema: dfganSchema,
  create: (ctx) => new DfganRecipe(ctx),
};
