// The tag GAN built for attribute tags: a projection discriminator (Miyato & Koyama 2018) split
// by attribute, hinge loss, DiffAugment (Zhao et al. 2020) on every discriminator input, and an
// exponential moving average of G for sampling.
//   D: L = E[max(0, 1 − D(T(x), y))] + E[max(0, 1 + D(T(G(z, y_G)), y_G))] + m·E[max(0, 1 + D(T(x), ỹ))]
//   G: L = −E[D(T(G(z, y_G)), y_G)] + λ_ms·L_ms
// L_ms (loss.modeSeeking = λ_ms, Mao et al. 2019) pairs the batch's two halves, same tags and
// different noise, and grows when their images are alike.
// T draws a new translation and cutout for each call; ỹ is y with one attribute (hair or eyes,
// at random) changed to another colour: a real face with a wrong tag must score as a fake. y_G is
// the real batch's y, or (loss.fakeTags: uniform) colours drawn uniformly, as BigGAN draws classes,
// from the colours the training faces have.
import {
  Generator,
  cat,
  noGrad,
  rand,
  randint,
  randn,
  tensor,
  tidy,
  type Device,
  type Tensor,
} from '../../engine/index.js';
import type { Batch } from '../../data/index.js';
import type { Sampler } from '../../eval/checkpoint-metric.js';
import { conditionVectorSampler, fixedSamples } from '../sampler.js';
import { TagConditioner } from '../../models/conditioning.js';
import { diffAugment } from '../../models/layers/diff-augment.js';
import { ProjectionDiscriminator, TagGenerator, type TagGeneratorOptions } from '../../models/projection/index.js';
import { tagText } from '../../text/index.js';
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../optim/index.js';
import type { ConfigOf, Schema } from '../config.js';
import type { CommonConfig } from '../schema.js';
import { ExponentialMovingAverage } from '../ema.js';
import { dFakeLoss, dRealLoss, gLoss, minimize, addModeSeeking } from '../losses.js';
import { initSchema, setGeneratorLr, startFrom } from '../warm-start.js';
import type { Recipe, RecipeContext, RecipeFactory, StartedFrom, StepResult } from '../recipe.js';
import { adamFromConfig, adamSchema, emaSchema } from '../optim-config.js';
import { fidSchema } from '../checkpoint-metric.js';

export const tagProjectionSchema = {
  generator: {
    kind: 'object',
    fields: {
      noiseDim: { kind: 'number', int: true, min: 1, default: 128, doc: 'length of z' },
      width: { kind: 'number', int: true, min: 1, doc: 'channels of the last block (the first has 8×)' },
    },
  },
  discriminator: {
    kind: 'object',
    fields: {
      width: { kind: 'number', int: true, min: 1, doc: 'channels of the first block (the last has 8×)' },
    },
  },
  init: { kind: 'object', fields: initSchema },
  loss: {
    kind: 'object',
    fields: {
      mismatch: {
        kind: 'number',
        min: 0,
        default: 0.5,
        doc: 'weight of the real-face-with-one-wrong-tag term in the D loss (0: off)',
      },
      modeSeeking: {
        kind: 'number',
        min: 0,
        default: 0,
        doc: "weight of the mode-seeking term in G's loss (MSGAN; the batch's halves share tags; 0: off)",
      },
      fakeTags: {
        kind: 'string',
        choices: ['batch', 'uniform'],
        default: 'batch',
        doc: "the tags G draws faces for: the real batch's ('batch'), or each colour the training faces have uniformly and independently ('uniform': rare colours and pairs absent from the data as often as any)",
      },
    },
  },
  augment: {
    kind: 'object',
    fields: {
      translation: {
        kind: 'number',
        min: 0,
        max: 0.99,
        default: 0.125,
        doc: 'DiffAugment translation (fraction of the side; 0: off)',
      },
      cutout: {
        kind: 'number',
        min: 0,
        max: 0.99,
        default: 0.5,
        doc: 'DiffAugment cutout square (fraction of the side; 0: off)',
      },
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
      classifier: {
        kind: 'string',
        nullable: true,
        doc: 'an attribute-classifier run: each checkpoint is scored by attribute accuracy and the best kept',
      },
      perCombo: { kind: 'number', int: true, min: 1, default: 4, doc: 'faces per hair/eye combination scored' },
      fid: fidSchema(
        'with a classifier: also FID on its features, this many generated against as many real faces (0: off)',
      ),
    },
  },
  samples: {
    kind: 'object',
    fields: {
      tags: {
        kind: 'strings',
        default: [],
        doc: 'tag texts of the sample grid rows ("blue hair red eyes"); empty: the first combinations of the data',
      },
      perCondition: { kind: 'number', int: true, min: 1, default: 8, doc: 'faces per row' },
      rows: { kind: 'number', int: true, min: 1, default: 8, doc: 'rows when tags is empty' },
    },
  },
} as const satisfies Schema;

/** A resolved tag-projection config, typed from the schemas (checked by resolveConfig). */
type TagProjectionConfig = CommonConfig & ConfigOf<typeof tagProjectionSchema>;

/**
 * Labels [n] per attribute, each of the attribute's `allowed` values (class indices) equally likely,
 * attributes drawn independently. Allowed are the colours the training faces have: a colour D
 * never sees on a real face (HW3-2's gray eyes) only teaches D that it means fake.
 */
export function uniformTagLabels(
  allowed: readonly (readonly number[])[],
  n: number,
  generator: Generator,
  device: Device,
): Tensor[] {
  return allowed.map((values) =>
    noGrad(() => {
      const r = randint(0, values.length, [n], { generator, device });
      if (values.every((v, i) => v === i)) return r;
      using r_ = r;
      using table = tensor(BigInt64Array.from(values, BigInt), { device });
      return table.indexSelect(0, r_);
    }),
  );
}

/** The mean of a score tensor, for logging. */
function meanOf(t: Tensor): number {
  return noGrad(() => tidy(() => t.mean().item()));
}

class TagProjectionRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly c: TagProjectionConfig;
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep = 1;
  readonly G: TagGenerator;
  readonly D: ProjectionDiscriminator;
  readonly ema: ExponentialMovingAverage<TagGenerator> | null;
  readonly conditioner: TagConditioner;
  readonly device: Device;
  readonly rng: Generator;
  readonly fixed: { noise: Tensor; condition: Tensor; perCondition: number };
  /** The class indices loss.fakeTags uniform draws from: the colours of the training faces. */
  readonly #fakeTagValues: number[][];

  constructor(readonly ctx: RecipeContext) {
    const { device } = ctx;
    const config = (this.c = ctx.config as unknown as TagProjectionConfig);
    this.device = device;
    this.rng = ctx.rng;
    this.conditioner = TagConditioner.forTraining(ctx.data.records);
    const vocab = this.conditioner.encoder.vocabulary;
    const inData = this.conditioner.inData ?? vocab;
    this.#fakeTagValues = [inData.hair.map((c) => vocab.hairId(c)), inData.eyes.map((c) => vocab.eyesId(c))];
    const classes = this.conditioner.encoder.classes;
    const resolution = config.data.resolution;
    const g = config.generator;
    const gOpts: TagGeneratorOptions = {
      noiseDim: g.noiseDim,
      width: g.width,
      classes,
      resolution,
    };
    this.G = new TagGenerator(gOpts).to(device);
    const d = config.discriminator;
    this.D = new ProjectionDiscriminator({ width: d.width, classes, resolution }).to(device);
    this.modules.set('G', this.G).set('D', this.D);
    const o = config.optim;
    this.ema = ExponentialMovingAverage.fromConfig(this.G, () => new TagGenerator(gOpts).to(device), o);
    if (this.ema) this.modules.set('G_ema', this.ema.shadow);
    this.optimizers.set('G', adamFromConfig(this.G.parameters(), o.generator));
    this.optimizers.set('D', adamFromConfig(this.D.parameters(), o.discriminator));
    this.fixed = this.#fixedInputs();
    ctx.log(
      `tag-projection-gan: G ${(this.G.numParameters() / 1e6).toFixed(2)}M, D ${(this.D.numParameters() / 1e6).toFixed(2)}M parameters; ${classes[0]} hair × ${classes[1]} eye colours`,
    );
  }

  /** With init.from, a new run starts from that model file (train/warm-start.ts). */
  initialize(): StartedFrom | void {
    if (this.c.init.from === null) return;
    const nets = { G: this.G, shadow: this.ema?.shadow ?? null, D: this.D, conditioner: this.conditioner };
    const started = startFrom(this.c.init.from, 'tag-projection-gan', nets, this.c.init.discriminatorSteps);
    this.ctx.log(started.log);
    return started.startedFrom;
  }

  #fixedInputs(): TagProjectionRecipe['fixed'] {
    const s = this.c.samples;
    const per = s.perCondition;
    let tags = [...s.tags];
    if (tags.length === 0) {
      const seen: string[] = [];
      for (const r of this.ctx.data.records) {
        const key = r.attributes ? tagText({ hair: r.attributes.hair ?? '', eyes: r.attributes.eyes ?? '' }) : null;
        if (key !== null && !seen.includes(key)) seen.push(key);
        if (seen.length >= s.rows) break;
      }
      tags = seen;
    }
    const gen = new Generator(this.c.seed + 1000, this.device);
    const expanded = tags.flatMap((t) => new Array<string>(per).fill(t));
    const noise = randn([expanded.length, this.G.o.noiseDim], { generator: gen, device: this.device });
    const condition = this.conditioner.encode({ captions: expanded }, this.device);
    return { noise, condition, perCondition: per };
  }

  #augment(x: Tensor): Tensor {
    const a = this.c.augment;
    return diffAugment(x, { translation: a.translation, cutout: a.cutout, generator: this.rng });
  }

  /** The batch's labels with one attribute per face (hair or eyes, at random) changed to another value. */
  #mismatched(labels: Tensor[]): Tensor[] {
    const classes = this.conditioner.encoder.classes;
    const [hair, eyes] = labels.map((l) => Array.from(l.toFloat32Array(), Math.round)) as [number[], number[]];
    using u = noGrad(() => rand([hair.length * 2], { generator: this.rng }));
    const r = u.toFloat32Array();
    for (let i = 0; i < hair.length; i++) {
      const which = r[2 * i]! < 0.5 ? hair : eyes;
      const n = classes[which === hair ? 0 : 1]!;
      // A uniform draw among the n - 1 other values.
      which[i] = (which[i]! + 1 + Math.floor(r[2 * i + 1]! * (n - 1))) % n;
    }
    return [hair, eyes].map((v) => tensor(BigInt64Array.from(v, BigInt), { device: this.device }));
  }

  step(batches: Batch[], step: number, { logging }: { logging: boolean }): StepResult {
    const batch = batches[0]!;
    const real = batch.images.get(this.G.o.resolution)!;
    const n = real.size(0);
    const scalars: Record<string, number> = {};
    const tags = this.conditioner.tags({ captions: batch.captions, attributes: batch.attributes });
    const labels = this.conditioner.encoder.labels(tags, this.device);
    const wrong = this.#mismatched(labels);
    const l = this.c.loss;
    // y_G: the tags G is asked for (the real batch's, or uniform over colours).
    const ms = l.modeSeeking;
    if (ms > 0 && n % 2 !== 0)
      throw new Error(`loss.modeSeeking pairs the batch's halves: the batch (${n}) must be even`);
    // With mode seeking, the second half of the batch is asked for the first half's tags.
    const drawn =
      l.fakeTags === 'uniform'
        ? uniformTagLabels(this.#fakeTagValues, ms > 0 ? n / 2 : n, this.rng, this.device)
        : labels.map((t) => (ms > 0 ? t.narrow(0, 0, n / 2) : t.alias()));
    const yG = ms > 0 ? drawn.map((t) => cat([t, t])) : drawn;
    if (ms > 0) for (const t of drawn) t.dispose();
    const z = randn([n, this.G.o.noiseDim], { generator: this.rng, device: this.device });
    // The first init.discriminatorSteps steps update D alone: G's pass needs no graph then.
    const dAlone = step < this.c.init.discriminatorSteps;
    const fake = dAlone ? noGrad(() => this.G.generate(z, yG)) : this.G.generate(z, yG);
    const m = l.mismatch;
    try {
      // D step: hinge on (real, right tags), (fake, right tags) and (real, one wrong tag).
      {
        using xr = this.#augment(real);
        using sReal = this.D.forward(xr, labels);
        using fd = fake.detach();
        using xf = this.#augment(fd);
        using sFake = this.D.forward(xf, yG);
        using lReal = dRealLoss('hinge', sReal);
        using lFake = dFakeLoss('hinge', sFake);
        let loss = lReal.add(lFake);
        if (m > 0) {
          using xw = this.#augment(real);
          using sWrong = this.D.forward(xw, wrong);
          using lWrong = dFakeLoss('hinge', sWrong);
          const total = loss.add(lWrong, m);
          loss.dispose();
          loss = total;
          if (logging) scalars['D/wrong'] = meanOf(sWrong);
        }
        if (logging) {
          scalars['D/real'] = meanOf(sReal);
          scalars['D/fake'] = meanOf(sFake);
        }
        minimize(this.optimizers.get('D')!, loss, 'D', scalars, logging, this.ctx.precision);
      }
      // G step: through the updated D, on the same fakes.
      if (!dAlone) {
        using xf = this.#augment(fake);
        using s = this.D.forward(xf, yG);
        const g = gLoss('hinge', s);
        const loss = ms > 0 ? addModeSeeking(g, fake, z, ms, scalars, logging) : g;
        const optG = this.optimizers.get('G')!;
        setGeneratorLr(optG, this.c.optim.generator.lr, this.c.init, step, scalars, logging);
        minimize(optG, loss, 'G', scalars, logging, this.ctx.precision);
        this.ema?.update(step);
      }
    } finally {
      for (const t of [z, fake, ...labels, ...wrong, ...yG]) t.dispose();
    }
    return { scalars, images: n };
  }

  samples(): { images: Tensor; nrow: number } {
    return fixedSamples(this.ema?.shadow ?? this.G, this.fixed);
  }

  /** G as src/eval measures it (the moving average when there is one): the trainer picks the best checkpoint by it. */
  sampler(): Sampler {
    const o = { noiseDim: this.G.o.noiseDim, device: this.device, conditioner: this.conditioner };
    return conditionVectorSampler(this.ema?.shadow ?? this.G, o);
  }

  metadata(): Record<string, string> {
    return {
      model: 'tag-projection-gan',
      generator: JSON.stringify(this.G.o),
      ...this.conditioner.metadata(),
    };
  }

  dispose(): void {
    this.fixed.noise.dispose();
    this.fixed.condition.dispose();
  }
}

export const tagProjectionGan: RecipeFactory = {
  model: 'tag-projection-gan',
  schema: tagProjectionSchema,
  create: (ctx) => new TagProjectionRecipe(ctx),
};
