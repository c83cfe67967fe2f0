// Conditional GANs with a matching-aware discriminator, trained as in Reed et al. 2016
// (Algorithm 1, GAN-CLS; §4.3, GAN-INT), and the same objective with a Wasserstein critic and
// gradient penalty (WGAN-CLS) or with attribute tags and ACGAN's auxiliary classifiers (HW3-2).
//   D: L = ℓ_real(D(x, h)) + w·ℓ_fake(D(x, ĥ)) + (1 − w)·ℓ_fake(D(G(z, h), h)) [+ λ·GP] [+ a·CE]
//   G: L = ℓ_gen(D(G(z, h), h)) [+ i·ℓ_gen(D(G(z, h_β), h_β))] [+ k·KL] [+ a·CE]
// with h the matching text, ĥ a mismatching one, h_β = βh₁ + (1 − β)h₂ an interpolation.
import { F, Generator, cat, noGrad, randn, type Device, type Tensor } from '../../engine/index.js';
import { loadCheckpoint, resolveRunCheckpoint, withPrefix } from '../checkpoint.js';
import type { Batch } from '../../data/index.js';
import { ConditionalGenerator, type ConditionalGeneratorOptions } from '../../models/dcgan/conditional-generator.js';
import {
  MatchingAwareDiscriminator,
  type MatchingAwareDiscriminatorOptions,
} from '../../models/dcgan/matching-aware-discriminator.js';
import { ConditioningAugmentation } from '../../models/layers/conditioning-augmentation.js';
import { NORMS } from '../../models/layers/norm.js';
import {
  DamsmConditioner,
  TagConditioner,
  conditionerFromMetadata,
  type Conditioner,
} from '../../models/conditioning.js';
import { DamsmImageEncoder, type DamsmImageEncoderOptions } from '../../models/damsm/index.js';
import { rPrecision } from '../../eval/r-precision.js';
import { loadAttributeClassifier, type LoadedAttributeClassifier } from '../../eval/attribute-accuracy.js';
import { TagEncoder } from '../../models/tag-encoder.js';
import type { Module } from '../../nn/index.js';
import { Adam, type Optimizer } from '../../optim/index.js';
import type { ConfigObject, Schema } from '../config.js';
import { ExponentialMovingAverage } from '../ema.js';
import { tagAccuracyMetrics } from '../tag-accuracy.js';
import {
  ADVERSARIAL_LOSSES,
  gLoss,
  gradientPenalty,
  matchingAwareDLoss,
  type AdversarialLoss,
  minimize,
} from '../losses.js';
import type { Recipe, RecipeContext, RecipeFactory, StepResult } from '../recipe.js';

export const adamSchema: Schema = {
  lr: { kind: 'number', min: 0, doc: 'learning rate' },
  beta1: { kind: 'number', min: 0, max: 1, doc: 'Adam β1' },
  beta2: { kind: 'number', min: 0, max: 1, doc: 'Adam β2' },
};

/** Adam over `params` with the settings of an adamSchema config object. */
export function adamFromConfig(params: Tensor[], o: ConfigObject): Adam {
  return new Adam(params, { lr: o.lr as number, betas: [o.beta1 as number, o.beta2 as number] });
}

const activation = ['leaky_relu', 'relu'] as const;

export const conditionalGanSchema: Schema = {
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
  optim: {
    kind: 'object',
    fields: {
      generator: { kind: 'object', fields: adamSchema },
      discriminator: { kind: 'object', fields: adamSchema },
      criticSteps: { kind: 'number', int: true, min: 1, default: 1, doc: 'D updates per G update' },
      ema: { kind: 'number', min: 0, max: 1, default: 0, doc: "decay of G's moving average (0: off)" },
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
};

/**
 * Builds the conditioner a config asks for (loading a frozen DAMSM text encoder from its run) and,
 * when `withImage`, the DAMSM image encoder from the same checkpoint (for R-precision).
 */
export function conditionerFromConfig(
  config: ConfigObject,
  data: { records: { attributes?: { [k: string]: string } }[] },
  withImage = false,
): { conditioner: Conditioner; image: DamsmImageEncoder | null } {
  const c = config.condition as ConfigObject;
  if (c.source === 'tags') {
    if (withImage) throw new Error('eval.samples (R-precision) needs condition.source damsm');
    return { conditioner: new TagConditioner(new TagEncoder(TagEncoder.vocabularyFor(data.records))), image: null };
  }
  if (typeof c.damsm !== 'string')
    throw new Error('condition.source damsm needs condition.damsm: a DAMSM run directory or checkpoint');
  return loadDamsm(c.damsm, withImage);
}

/** A trained DAMSM: its text encoder as a conditioner, and its image encoder when asked for. */
export function loadDamsm(
  p: string,
  withImage: boolean,
): { conditioner: DamsmConditioner; image: DamsmImageEncoder | null } {
  const ck = loadCheckpoint(resolveRunCheckpoint(p, true));
  try {
    if (ck.metadata.model !== 'damsm')
      throw new Error(`${ck.path} is not a DAMSM checkpoint (model: ${String(ck.metadata.model)})`);
    // A DAMSM checkpoint carries the same vocabulary/textEncoder metadata a GAN stores for its condition.
    const conditioner = conditionerFromMetadata({ ...ck.metadata, condition: 'damsm' }) as DamsmConditioner;
    conditioner.module.loadStateDict(withPrefix(ck.tensors, 'text.'));
    let image: DamsmImageEncoder | null = null;
    if (withImage) {
      image = new DamsmImageEncoder(JSON.parse(ck.metadata.imageEncoder ?? 'null') as DamsmImageEncoderOptions);
      image.loadStateDict(withPrefix(ck.tensors, 'image.'));
      image.eval().requiresGrad_(false);
    }
    return { conditioner, image };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}

export function generatorOptions(config: ConfigObject, conditionDim: number): ConditionalGeneratorOptions {
  const g = config.generator as ConfigObject;
  return {
    noiseDim: g.noiseDim as number,
    conditionDim,
    projectionDim: g.projectionDim as number,
    projectionActivation: g.projectionActivation as 'relu' | 'leaky_relu',
    conditioningAugmentation: g.conditioningAugmentation as boolean,
    width: g.width as number,
    resolution: (config.data as ConfigObject).resolution as number,
    kernel: g.kernel as 4 | 5,
    norm: g.norm as ConditionalGeneratorOptions['norm'],
    spectralNorm: g.spectralNorm as boolean,
  };
}

class ConditionalGanRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep: number;
  readonly G: ConditionalGenerator;
  readonly D: MatchingAwareDiscriminator;
  readonly ema: ExponentialMovingAverage<ConditionalGenerator> | null;
  readonly conditioner: Conditioner;
  readonly loss: AdversarialLoss;
  readonly l: ConfigObject;
  readonly device: Device;
  readonly rng: Generator;
  readonly tagAux: TagConditioner | null;
  readonly fixed: { noise: Tensor; condition: Tensor; captions: string[]; perCondition: number };
  /** DAMSM image encoder for R-precision at evaluation (not trained, not checkpointed). */
  readonly damsmImage: DamsmImageEncoder | null = null;
  /** Colour classifier for attribute accuracy at evaluation (tag conditions; not checkpointed). */
  readonly attrClassifier: LoadedAttributeClassifier | null = null;
  readonly best?: { metric: string; mode: 'min' | 'max' };

  constructor(
    readonly model: string,
    readonly ctx: RecipeContext,
  ) {
    const { config, device } = ctx;
    this.device = device;
    this.rng = ctx.rng;
    this.l = config.loss as ConfigObject;
    this.loss = this.l.adversarial as AdversarialLoss;
    if (this.loss === 'wasserstein' && (this.l.gradientPenalty as number) === 0)
      ctx.log(
        'warning: a Wasserstein critic without gradient penalty is not Lipschitz-constrained (set loss.gradientPenalty, e.g. 10)',
      );
    if ((this.l.realLabel as number) !== 1 && (this.loss === 'hinge' || this.loss === 'wasserstein'))
      throw new Error(
        `loss.realLabel ${this.l.realLabel as number} (one-sided label smoothing) needs a loss with a target label: ` +
          `nonsaturating or least-squares, not ${this.loss}`,
      );
    const d = config.discriminator as ConfigObject;
    if ((this.l.gradientPenalty as number) > 0 && d.norm === 'batch')
      throw new Error(
        'discriminator.norm batch is incompatible with a gradient penalty (it is per sample): use layer, instance or none',
      );
    const evalSamples = (config.eval as ConfigObject).samples as number;
    const { conditioner, image } = conditionerFromConfig(config, ctx.data, evalSamples > 0);
    this.conditioner = conditioner;
    if (image) {
      this.damsmImage = image.to(device);
      this.best = { metric: 'rprec', mode: 'max' };
    }
    const useAux = (this.l.auxiliary as number) > 0;
    if (useAux && this.conditioner.kind !== 'tags')
      throw new Error('loss.auxiliary (ACGAN) needs condition.source tags');
    this.tagAux = useAux ? (this.conditioner as TagConditioner) : null;
    this.conditioner.module?.to(device);
    const classifier = (config.eval as ConfigObject).classifier as string | null;
    if (classifier !== null) {
      if (this.conditioner.kind !== 'tags')
        throw new Error('eval.classifier (attribute accuracy) needs condition.source tags');
      this.attrClassifier = loadAttributeClassifier(classifier, device);
      this.best = { metric: 'attr_both', mode: 'max' };
    }

    this.G = new ConditionalGenerator(generatorOptions(config, this.conditioner.dim)).to(device);
    const dOpts: MatchingAwareDiscriminatorOptions = {
      conditionDim: this.conditioner.dim,
      projectionDim: d.projectionDim as number,
      projectionActivation: d.projectionActivation as 'relu' | 'leaky_relu',
      width: d.width as number,
      resolution: (config.data as ConfigObject).resolution as number,
      kernel: d.kernel as 4 | 5,
      norm: d.norm as MatchingAwareDiscriminatorOptions['norm'],
      spectralNorm: d.spectralNorm as boolean,
      minibatchKernels: d.minibatchKernels as number,
      minibatchKernelDim: d.minibatchKernelDim as number,
      auxClasses: useAux ? (this.conditioner as TagConditioner).encoder.classes : [],
    };
    this.D = new MatchingAwareDiscriminator(dOpts).to(device);
    this.modules.set('G', this.G).set('D', this.D);
    const o = config.optim as ConfigObject;
    const decay = o.ema as number;
    this.ema =
      decay > 0
        ? new ExponentialMovingAverage(this.G, () => new ConditionalGenerator(this.G.o).to(device), decay)
        : null;
    if (this.ema) this.modules.set('G_ema', this.ema.shadow);
    if (this.conditioner.module) this.modules.set('text', this.conditioner.module);
    const og = o.generator as ConfigObject;
    const od = o.discriminator as ConfigObject;
    this.optimizers.set('G', adamFromConfig(this.G.parameters(), og));
    this.optimizers.set('D', adamFromConfig(this.D.parameters(), od));
    this.batchesPerStep = o.criticSteps as number;
    this.fixed = this.#fixedInputs();
    ctx.log(
      `${this.model}: G ${(this.G.numParameters() / 1e6).toFixed(2)}M, D ${(this.D.numParameters() / 1e6).toFixed(2)}M parameters; condition ${this.conditioner.kind} (${this.conditioner.dim})`,
    );
  }

  #fixedInputs(): ConditionalGanRecipe['fixed'] {
    const per = (this.ctx.config.samples as ConfigObject).perCondition as number;
    const captions = sampleCaptions(this.ctx);
    const seed = (this.ctx.config.seed as number) + 1000;
    const gen = new Generator(seed, this.device);
    const expanded = captions.flatMap((c) => new Array<string>(per).fill(c));
    const noise = randn([expanded.length, this.G.o.noiseDim], { generator: gen, device: this.device });
    const condition = this.conditioner.encode({ captions: expanded }, this.device);
    return { noise, condition, captions, perCondition: per };
  }

  #noise(n: number): Tensor {
    return randn([n, this.G.o.noiseDim], { generator: this.rng, device: this.device });
  }

  step(batches: Batch[], _step: number, { logging }: { logging: boolean }): StepResult {
    const scalars: Record<string, number> = {};
    const gp = this.l.gradientPenalty as number;
    const aux = this.l.auxiliary as number;
    const optD = this.optimizers.get('D')!;
    const optG = this.optimizers.get('G')!;
    let images = 0;
    let last: { h: Tensor; labels: [Tensor, Tensor] | null } | null = null;
    for (const batch of batches) {
      const x = batch.images.values().next().value!;
      const n = x.size(0);
      images += n;
      const h = this.conditioner.encode({ captions: batch.captions, attributes: batch.attributes }, this.device);
      const hWrong = this.conditioner.encode(
        { captions: batch.wrongCaptions, attributes: batch.wrongAttributes },
        this.device,
      );
      const labels = this.tagAux
        ? this.tagAux.encoder.labels(
            this.tagAux.tags({ captions: batch.captions, attributes: batch.attributes }),
            this.device,
          )
        : null;
      const stats = noGrad(() => {
        using z = this.#noise(n);
        const out = this.G.forward(z, h, this.rng);
        out.mu?.dispose();
        out.logvar?.dispose();
        return out.images;
      });
      using fake = stats;
      const dl = (() => {
        using fx = this.D.features(x);
        const real = this.D.score(fx, h);
        const terms: Tensor[] = [];
        const weights: number[] = [];
        let gpIndex = -1;
        const wrongW = this.l.matchingAware ? (this.l.wrongWeight as number) : 0;
        const wrong = wrongW > 0 ? this.D.score(fx, hWrong) : null;
        const fk = this.D.forward(fake, h);
        terms.push(
          matchingAwareDLoss(
            this.loss,
            { real: real.score, wrong: wrong?.score ?? null, fake: fk.score },
            wrongW,
            this.l.realLabel as number,
          ),
        );
        weights.push(1);
        if (gp > 0) {
          gpIndex = terms.length;
          terms.push(
            gradientPenalty(
              (xi) => {
                const s = this.D.forward(xi, h);
                for (const a of s.aux) a.dispose();
                return s.score;
              },
              x,
              fake,
              this.rng,
              this.ctx.precision.lossScale,
            ),
          );
          weights.push(gp);
        }
        if (labels && aux > 0) {
          for (let k = 0; k < labels.length; k++) {
            terms.push(F.crossEntropy(real.aux[k]!, labels[k]!), F.crossEntropy(fk.aux[k]!, labels[k]!));
            weights.push(aux, aux);
          }
        }
        if (logging) {
          const m = (t: Tensor): number =>
            noGrad(() => {
              using v = this.loss === 'nonsaturating' ? t.sigmoid() : t.alias();
              using mm = v.mean();
              return mm.item();
            });
          scalars['D/real'] = m(real.score);
          scalars['D/fake'] = m(fk.score);
          if (wrong) scalars['D/wrong'] = m(wrong.score);
          if (labels) scalars['D/aux_acc_real'] = auxAccuracy(real.aux, labels);
        }
        const total = weightedSum(terms, weights);
        if (logging && gpIndex >= 0) scalars['loss/gp'] = terms[gpIndex]!.item();
        for (const t of [
          ...terms,
          real.score,
          ...real.aux,
          fk.score,
          ...fk.aux,
          ...(wrong ? [wrong.score, ...wrong.aux] : []),
        ])
          t.dispose();
        return total;
      })();
      minimize(optD, dl, 'D', scalars, logging, this.ctx.precision);
      hWrong.dispose();
      last?.h.dispose();
      last?.labels?.forEach((t) => t.dispose());
      last = { h, labels };
    }

    // Generator step on the last batch's conditions, with fresh noise.
    const { h, labels } = last!;
    const n = h.size(0);
    const gl = (() => {
      using z = this.#noise(n);
      const out = this.G.forward(z, h, this.rng);
      using fake = out.images;
      const s = this.D.forward(fake, h);
      const terms: Tensor[] = [gLoss(this.loss, s.score)];
      const weights = [1];
      const interp = this.l.interpolation as number;
      if (interp > 0) {
        // GAN-INT: conditions between pairs of captions need not be real sentences, so the
        // discriminator's "matching" judgement is the only teacher for them.
        const beta = this.l.interpolationBeta as number;
        using head = h.narrow(0, n - 1, 1);
        using tail = h.narrow(0, 0, n - 1);
        using hr = cat([head, tail], 0); // pair each caption with its neighbour
        using hb = h.mul(beta);
        using hi = hb.add(hr, 1 - beta);
        using zi = this.#noise(n);
        const oi = this.G.forward(zi, hi, this.rng);
        using fi = oi.images;
        const si = this.D.forward(fi, hi);
        terms.push(gLoss(this.loss, si.score));
        weights.push(interp);
        si.score.dispose();
        si.aux.forEach((t) => t.dispose());
        if (oi.mu) {
          terms.push(ConditioningAugmentation.klLoss(oi.mu, oi.logvar!));
          weights.push((this.l.kl as number) * interp);
          oi.mu.dispose();
          oi.logvar!.dispose();
        }
      }
      if (out.mu) {
        terms.push(ConditioningAugmentation.klLoss(out.mu, out.logvar!));
        weights.push(this.l.kl as number);
        if (logging) scalars['loss/kl'] = terms[terms.length - 1]!.item();
        out.mu.dispose();
        out.logvar!.dispose();
      }
      if (labels && aux > 0) {
        for (let k = 0; k < labels.length; k++) {
          terms.push(F.crossEntropy(s.aux[k]!, labels[k]!));
          weights.push(aux);
        }
        if (logging) scalars['G/aux_acc_fake'] = auxAccuracy(s.aux, labels);
      }
      const total = weightedSum(terms, weights);
      for (const t of [...terms, s.score, ...s.aux]) t.dispose();
      return total;
    })();
    // D's parameters get gradients from the G loss too; they are cleared at its next zeroGrad.
    minimize(optG, gl, 'G', scalars, logging, this.ctx.precision);
    h.dispose();
    labels?.forEach((t) => t.dispose());
    this.ema?.update();
    if (logging) {
      scalars['lr/G'] = optG.lr;
      scalars['lr/D'] = optD.lr;
    }
    return { scalars, images };
  }

  /** Samples from the EMA generator when there is one, in eval mode (running batch statistics). */
  samples(): { images: Tensor; nrow: number } {
    const g = this.ema?.shadow ?? this.G;
    return g.inEvalMode(() =>
      noGrad(() => {
        const out = g.forward(this.fixed.noise, this.fixed.condition);
        out.mu?.dispose();
        out.logvar?.dispose();
        return { images: out.images, nrow: this.fixed.perCondition };
      }),
    );
  }

  metadata(): Record<string, string> {
    return {
      model: this.model,
      generator: JSON.stringify(this.G.o),
      sampleCaptions: JSON.stringify(this.fixed.captions),
      ...this.conditioner.metadata(),
    };
  }

  /**
   * How often the classifier reads the requested colours on faces generated for every hair/eye
   * combination both the generator and the classifier know (eval.perCombo each, fixed seeds), and
   * the same over combinations absent from the training split.
   */
  #attributeAccuracy(classifier: LoadedAttributeClassifier): Record<string, number> {
    return tagAccuracyMetrics(
      this.ema?.shadow ?? this.G,
      this.G.o.noiseDim,
      this.conditioner as TagConditioner,
      this.device,
      classifier,
      {
        perCombo: (this.ctx.config.eval as ConfigObject).perCombo as number,
        seed: (this.ctx.config.seed as number) + 3000,
        records: this.ctx.data.records,
      },
    );
  }

  /**
   * R-precision of images generated for held-out captions (the first caption of the first
   * eval.samples validation records), ranked by the DAMSM encoders against 99 mismatched captions.
   */
  async evaluate(): Promise<Record<string, number>> {
    if (this.attrClassifier !== null) return this.#attributeAccuracy(this.attrClassifier);
    if (this.damsmImage === null) return {};
    const recs = this.ctx.data.records;
    const split = recs.some((r) => r.split === 'val') ? 'val' : 'test';
    const held = recs.filter((r) => r.split === split);
    const chosen = held.slice(0, (this.ctx.config.eval as ConfigObject).samples as number);
    const pool = held.flatMap((r) => r.captions.slice(0, 2).map((c) => ({ c, cls: r.classId })));
    const candidates = Math.min(100, pool.length);
    const g = this.ema?.shadow ?? this.G;
    const was = g.training;
    g.eval();
    const gen = new Generator((this.ctx.config.seed as number) + 2000, this.device);
    const imgF: Tensor[] = [];
    const txtF: Tensor[] = [];
    const poolF: Tensor[] = [];
    try {
      noGrad(() => {
        for (let i = 0; i < chosen.length; i += 64) {
          const caps = chosen.slice(i, i + 64).map((r) => r.captions[0]!);
          using z = randn([caps.length, this.G.o.noiseDim], { generator: gen, device: this.device });
          const h = this.conditioner.encode({ captions: caps }, this.device);
          const out = g.forward(z, h);
          out.mu?.dispose();
          out.logvar?.dispose();
          using images = out.images;
          const f = this.damsmImage!.forward(images);
          f.regions.dispose();
          imgF.push(f.global);
          txtF.push(h);
        }
        for (let i = 0; i < pool.length; i += 256)
          poolF.push(this.conditioner.encode({ captions: pool.slice(i, i + 256).map((p) => p.c) }, this.device));
      });
      using a = cat(imgF, 0);
      using b = cat(txtF, 0);
      using c = cat(poolF, 0);
      const r = rPrecision(a, b, c, {
        candidates,
        splits: 10,
        seed: 0,
        poolClasses: pool.map((p) => p.cls),
        sampleClasses: chosen.map((r) => r.classId),
      });
      return { rprec: r.mean, rprec_std: r.std };
    } finally {
      g.train(was);
      for (const t of [...imgF, ...txtF, ...poolF]) t.dispose();
    }
  }

  dispose(): void {
    this.damsmImage?.dispose();
    this.attrClassifier?.dispose();
    this.fixed.noise.dispose();
    this.fixed.condition.dispose();
  }
}

/**
 * The fixed captions of a recipe's sample grids (config `samples`): the configured ones, else the
 * first captions of distinct classes from held-out data (what the model has not seen).
 */
export function sampleCaptions(ctx: RecipeContext): string[] {
  const s = ctx.config.samples as ConfigObject;
  const rows = s.rows as number;
  let captions = s.captions as string[];
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

/** Σ wₖ·termₖ as a new tensor (the terms stay the caller's). */
export function weightedSum(terms: Tensor[], weights: number[]): Tensor {
  let total = terms[0]!.mul(weights[0]!);
  for (let k = 1; k < terms.length; k++) {
    const next = total.add(terms[k]!, weights[k]!);
    total.dispose();
    total = next;
  }
  return total;
}

function auxAccuracy(logits: Tensor[], labels: [Tensor, Tensor]): number {
  return noGrad(() => {
    let acc = 0;
    logits.forEach((l, k) => {
      using p = l.argmax(1);
      using eq = p.eq(labels[k]!);
      using f = eq.float();
      using m = f.mean();
      acc += m.item();
    });
    return acc / logits.length;
  });
}

export function conditionalGan(model: 'gan-int-cls' | 'wgan-cls' | 'tag-gan'): RecipeFactory {
  return {
    model,
    schema: conditionalGanSchema,
    create: (ctx) => new ConditionalGanRecipe(model, ctx),
  };
}

/** Rebuilds a trained generator and its conditioner from checkpoint tensors and metadata. */
export function generatorFromCheckpoint(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): { G: ConditionalGenerator; conditioner: Conditioner; usedEma: boolean } {
  const opts = JSON.parse(metadata.generator ?? 'null') as ConditionalGeneratorOptions | null;
  if (opts === null) throw new Error('the checkpoint has no generator description (is it a GAN checkpoint?)');
  const conditioner = conditionerFromMetadata(metadata);
  const G = new ConditionalGenerator(opts);
  const ema = withPrefix(tensors, 'G_ema.');
  const usedEma = ema.size > 0;
  G.loadStateDict(usedEma ? ema : withPrefix(tensors, 'G.'));
  // Exported fp16 weights are computed in float32.
  G.to('float32').to(device).eval();
  if (conditioner.module) {
    conditioner.module.loadStateDict(withPrefix(tensors, 'text.'));
    conditioner.module.to('float32').to(device);
  }
  return { G, conditioner, usedEma };
}
