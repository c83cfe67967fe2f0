// Conditional GANs with a matching-aware discriminator, trained as in Reed et al. 2016
// (Algorithm 1, GAN-CLS; §4.3, GAN-INT), and the same objective with a Wasserstein critic and
// gradient penalty (WGAN-CLS) or with attribute tags and ACGAN's auxiliary classifiers (HW3-2).
//   D: L = ℓ_real(D(x, h)) + w·ℓ_fake(D(x, ĥ)) + (1 − w)·ℓ_fake(D(G(z, h), h)) [+ λ·GP] [+ a·CE]
//   G: L = ℓ_gen(D(G(z, h), h)) [+ i·ℓ_gen(D(G(z, h_β), h_β))] [+ k·KL] [+ a·CE]
// with h the matching text, ĥ a mismatching one, h_β = βh₁ + (1 − β)h₂ an interpolation.
import { discriminatorAugment } from '../augment-config.js';
import { F, Generator, cat, noGrad, randn, type Device, type Tensor } from '../../engine/index.js';
import type { Batch } from '../../data/index.js';
import { ConditionalGenerator } from '../../models/dcgan/conditional-generator.js';
import {
  MatchingAwareDiscriminator,
  type MatchingAwareDiscriminatorOptions,
} from '../../models/dcgan/matching-aware-discriminator.js';
import { ConditioningAugmentation } from '../../models/layers/conditioning-augmentation.js';
import { TagConditioner, type Conditioner } from '../../models/conditioning.js';
import type { Sampler } from '../../eval/checkpoint-metric.js';
import { conditionVectorSampler, fixedSamples } from '../sampler.js';
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../optim/index.js';
import { ExponentialMovingAverage } from '../ema.js';
import { gLoss, gradientPenalty, matchingAwareDLoss, type AdversarialLoss, minimize, weightedSum } from '../losses.js';
import { adamFromConfig } from '../optim-config.js';
import {
  conditionalGanSchema,
  conditionerFromConfig,
  generatorOptions,
  sampleCaptions,
  type ConditionalGanConfig,
} from './conditional-gan-config.js';
import type { Recipe, RecipeContext, RecipeFactory, StepResult } from '../recipe.js';

class ConditionalGanRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep: number;
  readonly G: ConditionalGenerator;
  readonly D: MatchingAwareDiscriminator;
  readonly ema: ExponentialMovingAverage<ConditionalGenerator> | null;
  readonly conditioner: Conditioner;
  readonly loss: AdversarialLoss;
  readonly l: ConditionalGanConfig['loss'];
  readonly c: ConditionalGanConfig;
  readonly device: Device;
  readonly rng: Generator;
  /** DiffAugment of D's inputs (an alias when off). */
  readonly augment: (x: Tensor) => Tensor;
  readonly tagAux: TagConditioner | null;
  readonly fixed: { noise: Tensor; condition: Tensor; captions: string[]; perCondition: number };

  constructor(
    readonly model: string,
    readonly ctx: RecipeContext,
  ) {
    const { device } = ctx;
    const config = (this.c = ctx.config as unknown as ConditionalGanConfig);
    this.device = device;
    this.rng = ctx.rng;
    this.augment = discriminatorAugment(config.augment, ctx.rng);
    this.l = config.loss;
    this.loss = this.l.adversarial;
    if (this.loss === 'wasserstein' && this.l.gradientPenalty === 0)
      ctx.log(
        'warning: a Wasserstein critic without gradient penalty is not Lipschitz-constrained (set loss.gradientPenalty, e.g. 10)',
      );
    if (this.l.realLabel !== 1 && (this.loss === 'hinge' || this.loss === 'wasserstein'))
      throw new Error(
        `loss.realLabel ${this.l.realLabel} (one-sided label smoothing) needs a loss with a target label: ` +
          `nonsaturating or least-squares, not ${this.loss}`,
      );
    const d = config.discriminator;
    if (this.l.gradientPenalty > 0 && d.norm === 'batch')
      throw new Error(
        'discriminator.norm batch is incompatible with a gradient penalty (it is per sample): use layer, instance or none',
      );
    this.conditioner = conditionerFromConfig(ctx.config, ctx.data).conditioner;
    const useAux = this.l.auxiliary > 0;
    if (useAux && this.conditioner.kind !== 'tags')
      throw new Error('loss.auxiliary (ACGAN) needs condition.source tags');
    this.tagAux = useAux ? (this.conditioner as TagConditioner) : null;
    this.conditioner.module?.to(device);

    this.G = new ConditionalGenerator(generatorOptions(config, this.conditioner.dim)).to(device);
    const dOpts: MatchingAwareDiscriminatorOptions = {
      conditionDim: this.conditioner.dim,
      projectionDim: d.projectionDim,
      projectionActivation: d.projectionActivation,
      width: d.width,
      resolution: config.data.resolution,
      kernel: d.kernel as 4 | 5, // a number in the schema; the networks take 4 or 5
      norm: d.norm,
      spectralNorm: d.spectralNorm,
      minibatchKernels: d.minibatchKernels,
      minibatchKernelDim: d.minibatchKernelDim,
      auxClasses: useAux ? (this.conditioner as TagConditioner).encoder.classes : [],
    };
    this.D = new MatchingAwareDiscriminator(dOpts).to(device);
    this.modules.set('G', this.G).set('D', this.D);
    const o = config.optim;
    this.ema = ExponentialMovingAverage.fromConfig(this.G, () => new ConditionalGenerator(this.G.o).to(device), o);
    if (this.ema) this.modules.set('G_ema', this.ema.shadow);
    if (this.conditioner.module) this.modules.set('text', this.conditioner.module);
    const og = o.generator;
    const od = o.discriminator;
    this.optimizers.set('G', adamFromConfig(this.G.parameters(), og));
    this.optimizers.set('D', adamFromConfig(this.D.parameters(), od));
    this.batchesPerStep = o.criticSteps;
    this.fixed = this.#fixedInputs();
    ctx.log(
      `${this.model}: G ${(this.G.numParameters() / 1e6).toFixed(2)}M, D ${(this.D.numParameters() / 1e6).toFixed(2)}M parameters; condition ${this.conditioner.kind} (${this.conditioner.dim})`,
    );
  }

  #fixedInputs(): ConditionalGanRecipe['fixed'] {
    const per = this.c.samples.perCondition;
    const captions = sampleCaptions(this.ctx);
    const seed = this.c.seed + 1000;
    const gen = new Generator(seed, this.device);
    const expanded = captions.flatMap((c) => new Array<string>(per).fill(c));
    const noise = randn([expanded.length, this.G.o.noiseDim], { generator: gen, device: this.device });
    const condition = this.conditioner.encode({ captions: expanded }, this.device);
    return { noise, condition, captions, perCondition: per };
  }

  #noise(n: number): Tensor {
    return randn([n, this.G.o.noiseDim], { generator: this.rng, device: this.device });
  }

  step(batches: Batch[], step: number, { logging }: { logging: boolean }): StepResult {
    const scalars: Record<string, number> = {};
    let images = 0;
    let last: { h: Tensor; labels: [Tensor, Tensor] | null } | null = null;
    // One D step per batch (WGAN's critic steps: several), then one G step on the last batch's text.
    for (const batch of batches) {
      const x = batch.images.values().next().value!;
      images += x.size(0);
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
      this.#stepD(x, h, hWrong, labels, scalars, logging);
      hWrong.dispose();
      last?.h.dispose();
      last?.labels?.forEach((t) => t.dispose());
      last = { h, labels };
    }
    this.#stepG(last!.h, last!.labels, scalars, logging);
    last!.h.dispose();
    last!.labels?.forEach((t) => t.dispose());
    this.ema?.update(step);
    if (logging) {
      scalars['lr/G'] = this.optimizers.get('G')!.lr;
      scalars['lr/D'] = this.optimizers.get('D')!.lr;
    }
    return { scalars, images };
  }

  /**
   * D step: L_D = ℓ_real(D(x, h)) + w·ℓ_fake(D(x, ĥ)) + (1 − w)·ℓ_fake(D(G(z, h), h)) [+ λ·GP] [+ a·CE],
   * on images G draws for this batch's text (no gradient to G).
   */
  #stepD(
    x: Tensor,
    h: Tensor,
    hWrong: Tensor,
    labels: [Tensor, Tensor] | null,
    scalars: Record<string, number>,
    logging: boolean,
  ): void {
    const gp = this.l.gradientPenalty;
    const aux = this.l.auxiliary;
    using fake = noGrad(() => {
      using z = this.#noise(x.size(0));
      const out = this.G.forward(z, h, this.rng);
      out.mu?.dispose();
      out.logvar?.dispose();
      return out.images;
    });
    // DiffAugment (when on): every image D sees, real, generated and the penalty's interpolates.
    using xa = this.augment(x);
    using fa = this.augment(fake);
    const dl = (() => {
      using fx = this.D.features(xa);
      const real = this.D.score(fx, h);
      const terms: Tensor[] = [];
      const weights: number[] = [];
      let gpIndex = -1;
      const wrongW = this.l.matchingAware ? this.l.wrongWeight : 0;
      const wrong = wrongW > 0 ? this.D.score(fx, hWrong) : null;
      const fk = this.D.forward(fa, h);
      terms.push(
        matchingAwareDLoss(
          this.loss,
          { real: real.score, wrong: wrong?.score ?? null, fake: fk.score },
          wrongW,
          this.l.realLabel,
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
            xa,
            fa,
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
    minimize(this.optimizers.get('D')!, dl, 'D', scalars, logging, this.ctx.precision);
  }

  /**
   * G step with fresh noise: L_G = ℓ_gen(D(G(z, h), h)) [+ i·ℓ_gen(D(G(z, h_β), h_β))] [+ k·KL] [+ a·CE].
   * D's parameters get gradients from it too; they are cleared at D's next zeroGrad.
   */
  #stepG(h: Tensor, labels: [Tensor, Tensor] | null, scalars: Record<string, number>, logging: boolean): void {
    const aux = this.l.auxiliary;
    const n = h.size(0);
    const gl = (() => {
      using z = this.#noise(n);
      const out = this.G.forward(z, h, this.rng);
      using fake = out.images;
      using fa = this.augment(fake);
      const s = this.D.forward(fa, h);
      const terms: Tensor[] = [gLoss(this.loss, s.score)];
      const weights = [1];
      const interp = this.l.interpolation;
      if (interp > 0) {
        // GAN-INT: conditions between pairs of captions need not be real sentences, so the
        // discriminator's "matching" judgement is the only teacher for them.
        const beta = this.l.interpolationBeta;
        using head = h.narrow(0, n - 1, 1);
        using tail = h.narrow(0, 0, n - 1);
        using hr = cat([head, tail], 0); // pair each caption with its neighbour
        using hb = h.mul(beta);
        using hi = hb.add(hr, 1 - beta);
        using zi = this.#noise(n);
        const oi = this.G.forward(zi, hi, this.rng);
        using fi = oi.images;
        using fia = this.augment(fi);
        const si = this.D.forward(fia, hi);
        terms.push(gLoss(this.loss, si.score));
        weights.push(interp);
        si.score.dispose();
        si.aux.forEach((t) => t.dispose());
        if (oi.mu) {
          terms.push(ConditioningAugmentation.klLoss(oi.mu, oi.logvar!));
          weights.push(this.l.kl * interp);
          oi.mu.dispose();
          oi.logvar!.dispose();
        }
      }
      if (out.mu) {
        terms.push(ConditioningAugmentation.klLoss(out.mu, out.logvar!));
        weights.push(this.l.kl);
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
    minimize(this.optimizers.get('G')!, gl, 'G', scalars, logging, this.ctx.precision);
  }

  /** Samples from the EMA generator when there is one, in eval mode (running batch statistics). */
  samples(): { images: Tensor; nrow: number } {
    return fixedSamples(this.ema?.shadow ?? this.G, this.fixed);
  }

  metadata(): Record<string, string> {
    return {
      model: this.model,
      generator: JSON.stringify(this.G.o),
      sampleCaptions: JSON.stringify(this.fixed.captions),
      ...this.conditioner.metadata(),
    };
  }

  /** G as src/eval measures it (the moving average when there is one): the trainer picks the best checkpoint by it. */
  sampler(): Sampler {
    const o = { noiseDim: this.G.o.noiseDim, device: this.device, conditioner: this.conditioner };
    return conditionVectorSampler(this.ema?.shadow ?? this.G, o);
  }

  dispose(): void {
    this.fixed.noise.dispose();
    this.fixed.condition.dispose();
  }
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
