// Joint training of a tree of generators and one discriminator per scale: StackGAN++ (Zhang et al.,
// TPAMI 2018, §4.2, Eqs. 7–8) and AttnGAN (Xu et al., CVPR 2018, §3.2, Eqs. 3–6).
//   D_i: L = a_r·ℓ_real(D_i(x_i, c)) + a_w·ℓ_fake(D_i(x_i, ĉ)) + a_f·ℓ_fake(D_i(s_i, c))
//            + u_r·ℓ_real(D_i(x_i)) + u_f·ℓ_fake(D_i(s_i))
//   G:   L = Σ_i [g_c·ℓ_gen(D_i(s_i, c)) + g_u·ℓ_gen(D_i(s_i))] + λ_KL·KL
//            [+ StackGAN++: Σ_{i≥1} λ_C·(‖μ_i − μ_{i−1}‖² + 5‖Σ_i − Σ_{i−1}‖²)
//                         + Σ_{i≥1, trained} λ_c·‖AvgPool(s_i) − sg(s_{i−1})‖₁ (ours, as for Stage II)]
//            [+ AttnGAN: λ·L_DAMSM(s_last, text)]
// with s_i the stage-i images of one generator pass, x_i the real images at that scale, c the text
// code D reads (StackGAN++: G's conditioning mean μ, detached; AttnGAN: the sentence embedding) and
// ĉ that of a caption of another class. The weights a, u, g come from the config: each paper's
// averaging is a choice of them. With extra.cache, u_r's real images also include uncaptioned birds
// of other species (an auxiliary stream; the term is the mean over both sets of real images).
import { discriminatorAugment } from '../augment-config.js';
import { Generator, noGrad, randn, type Device, type Tensor } from '../../engine/index.js';
import type { Batch } from '../../data/index.js';
import { DamsmConditioner, type Conditioner } from '../../models/conditioning.js';
import { damsmLoss, type DamsmImageEncoder } from '../../models/damsm/index.js';
import { ConditioningAugmentation } from '../../models/layers/conditioning-augmentation.js';
import { lowResolutionConsistency, StackGanDiscriminator } from '../../models/stackgan/index.js';
import {
  colorConsistency,
  colorConsistencyWeights,
  disposeTreeOutput,
  orthogonalInit,
  stageSides,
  type TextFeatures,
  type TreeGenerator,
  type TreeGeneratorOptions,
} from '../../models/stackganpp/index.js';
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../optim/index.js';
import { buildTreeGenerator, type TreeModel } from '../../artifacts/generators.js';
import { disposeText, encodeText } from '../../inference/text-features.js';
import { stageRows } from '../../inference/stage-rows.js';
import { ExponentialMovingAverage } from '../ema.js';
import { dFakeLoss, dRealLoss, gLoss, meanScore, type AdversarialLoss, minimize, weightedSum } from '../losses.js';
import type { Sampler } from '../../eval/checkpoint-metric.js';
import { samplerOf } from '../sampler.js';
import type {
  AuxiliaryData,
  Recipe,
  RecipeContext,
  RecipeFactory,
  StartedFrom,
  StepOptions,
  StepResult,
} from '../recipe.js';
import { readExtraImages } from '../extra-images.js';
import { readWarmStart, setGeneratorLr, startedFromOf } from '../warm-start.js';
import { withPrefix } from '../../artifacts/checkpoint.js';
import { adamFromConfig } from '../optim-config.js';
import { conditionerFromConfig, sampleCaptions } from './conditional-gan-config.js';
import { treeSchema, type TreeConfig } from './tree-gan-config.js';

/**
 * Whether G's parameter `name` belongs to the first `stages` stages (stage<i>., image<i>.) or to the
 * conditioning augmentation that feeds them: what grow.frozenStages holds.
 */
function heldByGrowth(name: string, stages: number): boolean {
  if (stages === 0) return false;
  if (name.startsWith('ca.')) return true;
  const m = /^(?:stage|image)(\d+)\./.exec(name);
  return m !== null && Number(m[1]) < stages;
}

class TreeGanRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep = 1;
  readonly G: TreeGenerator;
  readonly Ds: StackGanDiscriminator[];
  readonly ema: ExponentialMovingAverage<TreeGenerator> | null;
  readonly conditioner: Conditioner;
  readonly damsmImage: DamsmImageEncoder | null;
  readonly loss: AdversarialLoss;
  readonly l: TreeConfig['loss'];
  readonly c: TreeConfig;
  readonly dCondition: 'mu' | 'sentence';
  readonly device: Device;
  /** DiffAugment of D's inputs (an alias when off). */
  readonly augment: (x: Tensor) => Tensor;
  readonly resolutions: number[];
  readonly fixed: { noise: Tensor; text: TextFeatures; captions: string[]; perCondition: number };
  /** G's first stages held fixed (grow.frozenStages): their discriminators sit idle. */
  readonly frozenStages: number;
  readonly auxiliary?: AuxiliaryData;

  constructor(
    readonly model: TreeModel,
    readonly ctx: RecipeContext,
  ) {
    const { device } = ctx;
    const config = (this.c = ctx.config as unknown as TreeConfig);
    this.device = device;
    this.augment = discriminatorAugment(config.augment, ctx.rng);
    this.l = config.loss;
    // The config's own contradictions are refused before anything is built, so nothing is left behind.
    const sides = stageSides({ branches: config.generator.branches, resolution: config.data.resolution });
    this.frozenStages = config.grow.frozenStages;
    if (this.frozenStages >= sides.length)
      throw new Error(
        `grow.frozenStages is ${this.frozenStages}: it would hold every stage of ${sides.join(', ')} (one at least must train)`,
      );
    if ((this.l.consistency ?? 0) > 0 && sides.length < 2)
      throw new Error(
        `loss.consistency holds a stage to the stage below it: a tree of one stage has none (generator.branches is ${sides.length})`,
      );
    const extra = config.extra;
    if (extra.cache !== null) {
      const has = readExtraImages(ctx.data, extra.cache).resolutions;
      const stages = sides.filter((r) => has.includes(r));
      if (stages.length === 0)
        throw new Error(
          `extra.cache ${extra.cache} has ${has.join(', ')} px images, none of the stages ${sides.join(', ')}: prepare it with --sizes ${sides.join(',')}`,
        );
      this.auxiliary = { cache: extra.cache, batchSize: extra.batchSize, resolutions: stages };
    }
    this.loss = this.l.adversarial;
    const withDamsm = model === 'attngan' && (this.l.damsm ?? 0) > 0;
    const { conditioner, image } = conditionerFromConfig(ctx.config, ctx.data, withDamsm);
    if (model === 'attngan' && !(conditioner instanceof DamsmConditioner))
      throw new Error('attngan needs condition.source damsm: it attends to the DAMSM word features');
    this.conditioner = conditioner;
    conditioner.module?.to(device);
    this.damsmImage = image?.to(device) ?? null;
    const g = config.generator;
    const opts: TreeGeneratorOptions & { wordDim?: number } = {
      noiseDim: g.noiseDim,
      embeddingDim: conditioner.dim,
      conditionDim: g.conditionDim,
      width: g.width,
      residualBlocks: g.residualBlocks,
      branches: g.branches,
      resolution: config.data.resolution,
      ...(conditioner instanceof DamsmConditioner ? { wordDim: conditioner.dim } : {}),
    };
    this.G = buildTreeGenerator(model, opts).to(device);
    this.resolutions = this.G.stages;
    const d = config.discriminator;
    this.dCondition = d.condition;
    const textDim = this.dCondition === 'mu' ? opts.conditionDim : conditioner.dim;
    this.Ds = this.G.stages.map((resolution) => {
      const D = new StackGanDiscriminator({
        embeddingDim: textDim,
        projectionDim: 0,
        width: d.width,
        resolution,
        unconditional: true,
      });
      orthogonalInit(D);
      return D.to(device);
    });
    this.modules.set('G', this.G);
    this.Ds.forEach((D, i) => this.modules.set(`D${i}`, D));
    const o = config.optim;
    this.ema = ExponentialMovingAverage.fromConfig(this.G, () => buildTreeGenerator(model, opts).to(device), o);
    if (this.ema) this.modules.set('G_ema', this.ema.shadow);
    if (conditioner.module) this.modules.set('text', conditioner.module);
    for (const [name, p] of this.G.namedParameters()) if (heldByGrowth(name, this.frozenStages)) p.requiresGrad_(false);
    const trained = this.G.parameters().filter((p) => p.requiresGrad);
    this.optimizers.set('G', adamFromConfig(trained, o.generator));
    this.Ds.forEach((D, i) => {
      if (i >= this.frozenStages) this.optimizers.set(`D${i}`, adamFromConfig(D.parameters(), o.discriminator));
    });
    this.fixed = this.#fixedInputs();
    const dParams = this.Ds.reduce((s, D) => s + D.numParameters(), 0);
    ctx.log(
      `${model}: G ${(this.G.numParameters() / 1e6).toFixed(2)}M, ${this.Ds.length} D ${(dParams / 1e6).toFixed(2)}M parameters; stages ${this.G.stages.join(' → ')}; condition ${conditioner.kind} (${conditioner.dim}); D reads ${this.dCondition}`,
    );
  }

  /**
   * A new run with grow.from starts from a tree of fewer stages (progressive growing, issue 19), with
   * init.from from a model file of the same stages (its run's checkpoints gone): its G (shared stages
   * by name), EMA and the discriminators it holds; added stages, and the discriminators of a file
   * exported without them, start fresh.
   */
  initialize(): StartedFrom | void {
    const { grow, init } = this.c;
    if (grow.from !== null && init.from !== null) throw new Error('grow.from and init.from both start G: give one');
    const option = grow.from !== null ? 'grow.from' : 'init.from';
    const from = grow.from ?? init.from;
    if (from === null) {
      if (this.frozenStages > 0)
        throw new Error('grow.frozenStages holds trained stages: it needs grow.from (or init.from)');
      return;
    }
    const ck = readWarmStart(from, this.model, this.conditioner.module, option);
    try {
      const source = JSON.parse(ck.metadata.generator ?? 'null') as TreeGeneratorOptions;
      const mine = this.G.o;
      for (const k of ['noiseDim', 'embeddingDim', 'conditionDim', 'width', 'residualBlocks'] as const)
        if (source[k] !== mine[k])
          throw new Error(`${option}: generator.${k} is ${mine[k]} here, ${source[k]} in ${ck.path}`);
      const sides = stageSides(source);
      if (this.frozenStages > source.branches)
        throw new Error(
          `grow.frozenStages is ${this.frozenStages}; ${ck.path} has ${source.branches} stage(s): only trained stages can be held`,
        );
      const fits = option === 'grow.from' ? source.branches < mine.branches : source.branches === mine.branches;
      if (!fits || sides[0] !== this.G.stages[0])
        throw new Error(
          `${option}: ${ck.path} has stages ${sides.join(', ')}; this run's (${this.G.stages.join(', ')}) must ` +
            (option === 'grow.from' ? 'start with them and add more' : 'be the same (grow.from adds stages)'),
        );
      const added = (k: string): boolean => {
        const m = /^(?:stage|image)(\d+)\./.exec(k);
        return m !== null && Number(m[1]) >= source.branches;
      };
      const load = (target: TreeGenerator, prefix: string): void => {
        target.loadStateDict(withPrefix(ck.tensors, prefix), { fresh: added });
      };
      load(this.G, 'G.');
      const hadEma = [...ck.tensors.keys()].some((k) => k.startsWith('G_ema.'));
      if (this.ema) load(this.ema.shadow, hadEma ? 'G_ema.' : 'G.');
      const freshDs: number[] = [];
      for (let i = 0; i < source.branches; i++) {
        const D = withPrefix(ck.tensors, `D${i}.`);
        if (D.size > 0) this.Ds[i]!.loadStateDict(D);
        else freshDs.push(this.G.stages[i]!);
      }
      const steps = init.discriminatorSteps;
      this.ctx.log(
        `${option === 'grow.from' ? 'grew' : 'started'} from ${ck.path} (stages ${sides.join(', ')}, step ${ck.metadata.step ?? '?'})` +
          (option === 'grow.from' ? `: stages ${this.G.stages.slice(source.branches).join(', ')} added` : '') +
          (freshDs.length > 0 ? `; it holds no D for ${freshDs.join(', ')} px: fresh` : '') +
          (this.frozenStages > 0 ? `; stages ${this.G.stages.slice(0, this.frozenStages).join(', ')} held` : '') +
          (steps > 0 ? `; D alone for the first ${steps} steps` : ''),
      );
      return startedFromOf(ck);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  }

  #fixedInputs(): TreeGanRecipe['fixed'] {
    const per = this.c.samples.perCondition;
    const captions = sampleCaptions(this.ctx);
    const gen = new Generator(this.c.seed + 1000, this.device);
    const expanded = captions.flatMap((c) => new Array<string>(per).fill(c));
    const noise = randn([expanded.length, this.G.o.noiseDim], { generator: gen, device: this.device });
    const text = encodeText(this.G, this.conditioner, expanded, this.device);
    return { noise, text, captions, perCondition: per };
  }

  /** The text code each discriminator reads for these sentence embeddings (no gradient). */
  #dCode(sentence: Tensor, mu?: Tensor): Tensor {
    if (this.dCondition === 'sentence') return sentence.alias();
    return noGrad(() => (mu ? mu.detach() : this.G.conditionMean(sentence)));
  }

  step(batches: Batch[], step: number, { logging, auxiliary }: StepOptions): StepResult {
    const scalars: Record<string, number> = {};
    const batch = batches[0]!;
    const reals = this.G.stages.map((r) => {
      const x = batch.images.get(r);
      if (x === undefined) throw new Error(`the batch has no ${r} px images`);
      return x;
    });
    const n = reals[0]!.size(0);
    const text = encodeText(this.G, this.conditioner, batch.captions, this.device);
    const wrongText = this.conditioner.encode(
      { captions: batch.wrongCaptions, attributes: batch.wrongAttributes },
      this.device,
    );
    using z = randn([n, this.G.o.noiseDim], { generator: this.ctx.rng, device: this.device });
    // The first init.discriminatorSteps steps update the discriminators alone (fresh ones facing a
    // trained G): G's pass needs no graph then, and G and its average stay as they are.
    const dAlone = step < this.c.init.discriminatorSteps;
    const out = dAlone ? noGrad(() => this.G.forward(z, text, this.ctx.rng)) : this.G.forward(z, text, this.ctx.rng);
    try {
      using c = this.#dCode(text.sentence, out.mu);
      using cWrong = this.#dCode(wrongText);
      this.Ds.forEach((D, i) => {
        if (i < this.frozenStages) return;
        const extra = auxiliary?.images.get(this.G.stages[i]!);
        this.#stepD(i, D, { real: reals[i]!, extra }, out.stages[i]!, c, cWrong, scalars, logging);
      });
      if (!dAlone) this.#stepG(out, text, batch, c, step, scalars, logging);
    } finally {
      disposeTreeOutput(out);
      disposeText(text);
      wrongText.dispose();
    }
    if (!dAlone) this.ema?.update(step);
    return { scalars, images: n + (auxiliary?.indices.length ?? 0) };
  }

  #stepD(
    i: number,
    D: StackGanDiscriminator,
    { real, extra }: { real: Tensor; extra: Tensor | undefined },
    fake: Tensor,
    c: Tensor,
    cWrong: Tensor,
    scalars: Record<string, number>,
    logging: boolean,
  ): void {
    const w = this.l.discriminator;
    const opt = this.optimizers.get(`D${i}`)!;
    const dl = (() => {
      using fakeD = fake.detach();
      // DiffAugment (when on): every image each D sees, in the D and the G step.
      using ra = this.augment(real);
      using fda = this.augment(fakeD);
      using fx = D.features(ra);
      using ff = D.features(fda);
      using sReal = D.score(fx, c);
      using sWrong = D.score(fx, cWrong);
      using sFake = D.score(ff, c);
      using uReal = D.unconditionalScore(fx);
      using uFake = D.unconditionalScore(ff);
      const terms = [
        dRealLoss(this.loss, sReal),
        dFakeLoss(this.loss, sWrong),
        dFakeLoss(this.loss, sFake),
        dRealLoss(this.loss, uReal),
        dFakeLoss(this.loss, uFake),
      ];
      const weights = [w.real, w.wrong, w.fake, w.unconditionalReal, w.unconditionalFake];
      if (extra !== undefined) {
        // u_r over captioned and extra reals alike: each set weighted by its share of the images.
        using ea = this.augment(extra);
        using fe = D.features(ea);
        using uExtra = D.unconditionalScore(fe);
        const n = real.size(0);
        const m = extra.size(0);
        terms.push(dRealLoss(this.loss, uExtra));
        weights[3] = (w.unconditionalReal * n) / (n + m);
        weights.push((w.unconditionalReal * m) / (n + m));
        if (logging) scalars[`D${i}/extra`] = meanScore(this.loss, uExtra);
      }
      if (logging) {
        scalars[`D${i}/real`] = meanScore(this.loss, sReal);
        scalars[`D${i}/wrong`] = meanScore(this.loss, sWrong);
        scalars[`D${i}/fake`] = meanScore(this.loss, sFake);
      }
      const total = weightedSum(terms, weights);
      terms.forEach((t) => t.dispose());
      return total;
    })();
    minimize(opt, dl, `D${i}`, scalars, logging, this.ctx.precision);
  }

  #stepG(
    out: ReturnType<TreeGenerator['forward']>,
    text: TextFeatures & { lengths?: number[] },
    batch: Batch,
    c: Tensor,
    step: number,
    scalars: Record<string, number>,
    logging: boolean,
  ): void {
    const w = this.l.generator;
    const opt = this.optimizers.get('G')!;
    setGeneratorLr(opt, this.c.optim.generator.lr, this.c.init, step, scalars, logging);
    const terms: Tensor[] = [];
    const weights: number[] = [];
    const add = (t: Tensor, k: number, name?: string): void => {
      terms.push(t);
      weights.push(k);
      if (logging && name) scalars[name] = t.item();
    };
    let gl: Tensor;
    try {
      this.Ds.forEach((D, i) => {
        if (i < this.frozenStages) return;
        using fa = this.augment(out.stages[i]!);
        using ff = D.features(fa);
        using s = D.score(ff, c);
        using u = D.unconditionalScore(ff);
        add(gLoss(this.loss, s), w.conditional);
        add(gLoss(this.loss, u), w.unconditional);
      });
      add(ConditioningAugmentation.klLossPerDimension(out.mu, out.logvar), this.l.kl, 'loss/kl');
      const colour = colorConsistencyWeights(this.l.colorConsistency ?? 0);
      if (colour.mean > 0)
        for (let i = 1; i < out.stages.length; i++) {
          const { mean, covariance } = colorConsistency(out.stages[i]!, out.stages[i - 1]!);
          add(mean, colour.mean, `loss/color_mean${i}`);
          add(covariance, colour.covariance, `loss/color_cov${i}`);
        }
      // The hold Stage II needed (lowResolutionConsistency): a stage may add detail, not move the
      // image below it, which is held (detached) so that it is not pulled towards the stage above.
      const hold = this.l.consistency ?? 0;
      if (hold > 0)
        for (let i = Math.max(1, this.frozenStages); i < out.stages.length; i++) {
          using below = out.stages[i - 1]!.detach();
          add(lowResolutionConsistency(out.stages[i]!, below), hold, `loss/consistency${i}`);
        }
      if (this.damsmImage !== null) {
        const last = out.stages[out.stages.length - 1]!;
        const image = this.damsmImage.forward(last);
        try {
          const r = damsmLoss(image, { words: text.words!, sentence: text.sentence }, text.lengths!, batch.classIds, {
            gamma1: this.l.gamma1!,
            gamma2: this.l.gamma2!,
            gamma3: this.l.gamma3!,
          });
          r.attention.forEach((t) => t.dispose());
          [r.word.imageToText, r.word.textToImage, r.sentence.imageToText, r.sentence.textToImage].forEach((t) =>
            t.dispose(),
          );
          add(r.loss, this.l.damsm!, 'loss/damsm');
        } finally {
          image.regions.dispose();
          image.global.dispose();
        }
      }
      gl = weightedSum(terms, weights);
    } finally {
      terms.forEach((t) => t.dispose());
    }
    // The discriminators get gradients from this loss too; they are cleared at their next zeroGrad.
    minimize(opt, gl, 'G', scalars, logging, this.ctx.precision);
    if (logging) scalars['lr/G'] = opt.lr;
  }

  /** Per caption, one row per stage (enlarged to the last side), the same noise in each column. */
  samples(): { images: Tensor; nrow: number } {
    const g = this.ema?.shadow ?? this.G;
    const { noise, text, perCondition } = this.fixed;
    const images = g.inEvalMode(() =>
      noGrad(() => {
        const out = g.forward(noise, text);
        try {
          return stageRows(out.stages, perCondition);
        } finally {
          disposeTreeOutput(out);
        }
      }),
    );
    return { images, nrow: perCondition };
  }

  /** G as src/eval measures it (the moving average when there is one): the last, largest stage. */
  sampler(): Sampler {
    const g = this.ema?.shadow ?? this.G;
    const o = { noiseDim: this.G.o.noiseDim, device: this.device, conditioner: this.conditioner };
    return samplerOf(g, o, (z, captions) => {
      const text = encodeText(g, this.conditioner, captions, this.device);
      try {
        const out = g.forward(z, text);
        const last = out.stages.pop()!;
        disposeTreeOutput(out);
        return last;
      } finally {
        disposeText(text);
      }
    });
  }

  metadata(): Record<string, string> {
    return {
      model: this.model,
      generator: JSON.stringify(this.G.o),
      stages: JSON.stringify(this.G.stages),
      discriminatorCondition: this.dCondition,
      sampleCaptions: JSON.stringify(this.fixed.captions),
      ...this.conditioner.metadata(),
    };
  }

  dispose(): void {
    this.fixed.noise.dispose();
    disposeText(this.fixed.text);
    this.damsmImage?.dispose();
  }
}

function factory(model: TreeModel): RecipeFactory {
  // bench:models, bf16 on 2 CPU cores: StackGAN++ 2.76 img/s in the default layout vs 2.31 in
  // channels-last, AttnGAN 2.44 vs 1.62 (docs/results.md).
  return {
    model,
    schema: treeSchema(model),
    memoryFormat: 'contiguous',
    create: (ctx) => new TreeGanRecipe(model, ctx),
  };
}

export const stackganPlusPlus = factory('stackgan-pp');
export const attngan = factory('attngan');
