// Pre-training AttnGAN's DAMSM encoders (Xu et al. 2018, §3.3): the bidirectional LSTM text
// encoder and the CNN image encoder learn a joint space by retrieving, within each batch, the
// caption of every image and the image of every caption, at sentence and at word level. The text
// encoder then conditions GAN-INT-CLS, WGAN-CLS and StackGAN; both measure R-precision.
// AttnGAN starts the image encoder from ImageNet Inception-v3; no such weights are reachable
// offline, so ours is trained from scratch on the dataset itself. Trained on 40 captioned species
// alone it learns colours more than birds, so two options teach it birds: species supervision (a
// linear classifier on the global image feature, also over uncaptioned birds of other species read
// as an auxiliary stream) and DiffAugment (translation, cutout; never colour: captions name colours).
import { CacheReader, type Batch } from '../../data/index.js';
import { F, cat, noGrad, tensor, tidy, type Tensor } from '../../engine/index.js';
import {
  DamsmImageEncoder,
  DamsmTextEncoder,
  damsmLoss,
  type DamsmImageEncoderOptions,
  type DamsmTextEncoderOptions,
} from '../../models/damsm/index.js';
import { diffAugment } from '../../models/layers/diff-augment.js';
import { Linear, type Module } from '../../nn/index.js';
import { Adam, type Optimizer } from '../../optim/index.js';
import { Vocabulary } from '../../text/index.js';
import type { ConfigOf, Schema } from '../config.js';
import type { CommonConfig } from '../schema.js';
import { gradNorm } from '../losses.js';
import { readExtraImages } from '../extra-images.js';
import type { AuxiliaryData, Recipe, RecipeContext, RecipeFactory, StepOptions, StepResult } from '../recipe.js';
import { validationLoader } from '../validation.js';
import { loadDamsm } from '../../artifacts/damsm.js';

export const damsmSchema = {
  damsm: {
    kind: 'object',
    fields: {
      wordEmbedding: { kind: 'number', int: true, min: 1, doc: 'word-embedding size (AttnGAN: 300)' },
      embeddingDim: { kind: 'number', int: true, min: 2, doc: 'joint feature size D (AttnGAN: 256)' },
      dropout: { kind: 'number', min: 0, max: 1, doc: 'dropout on word embeddings' },
      imageWidth: { kind: 'number', int: true, min: 1, doc: 'channels of the image encoder first layer' },
      imageSize: { kind: 'number', int: true, min: 32, doc: 'side the image encoder sees (multiple of 32)' },
      minWordCount: { kind: 'number', int: true, min: 1, default: 1, doc: 'rarer words become <unk>' },
      gamma1: { kind: 'number', min: 0, doc: 'attention sharpness (Eq. 9)' },
      gamma2: { kind: 'number', min: 0, doc: 'word-match aggregation (Eq. 10)' },
      gamma3: { kind: 'number', min: 0, doc: 'retrieval temperature (Eq. 11)' },
      species: {
        kind: 'number',
        min: 0,
        default: 0,
        doc: "weight of the species cross-entropy on the global image feature (0: off, AttnGAN's DAMSM)",
      },
      extra: {
        kind: 'string',
        nullable: true,
        doc: 'a prepared cache of uncaptioned, labelled images of other species (cub-extra): species loss only',
      },
      extraBatchSize: { kind: 'number', int: true, min: 1, default: 48, doc: 'images of `extra` per step' },
      text: {
        kind: 'string',
        nullable: true,
        doc: "a DAMSM run or checkpoint, or a caption GAN's model file: its text encoder and vocabulary, held fixed, and only the image encoder trains (a pair for a generator whose DAMSM run is gone: its file keeps the text encoder, not the image encoder its DAMSM loss needs)",
      },
    },
  },
  augment: {
    kind: 'object',
    fields: {
      translation: { kind: 'number', min: 0, max: 0.5, default: 0, doc: 'DiffAugment shift of training images' },
      cutout: { kind: 'number', min: 0, max: 0.9, default: 0, doc: 'DiffAugment cutout square of training images' },
    },
  },
  optim: {
    kind: 'object',
    fields: {
      lr: { kind: 'number', min: 0, doc: 'Adam learning rate (AttnGAN: 0.002)' },
      beta1: { kind: 'number', min: 0, max: 1, doc: 'Adam β1' },
      beta2: { kind: 'number', min: 0, max: 1, doc: 'Adam β2' },
      gradClip: { kind: 'number', min: 0, doc: "clip of the text encoder's gradient norm (AttnGAN: 0.25; 0: off)" },
    },
  },
  eval: {
    kind: 'object',
    fields: {
      batches: { kind: 'number', int: true, min: 1, default: 8, doc: 'validation batches per evaluation' },
    },
  },
} as const satisfies Schema;

/** A resolved DAMSM config, typed from the schemas (checked by resolveConfig). */
type DamsmConfig = CommonConfig & ConfigOf<typeof damsmSchema>;

class DamsmRecipe implements Recipe {
  readonly modules = new Map<string, Module>();
  readonly optimizers = new Map<string, Optimizer>();
  readonly batchesPerStep = 1;
  readonly best = { metric: 'val_loss', mode: 'min' as const };
  readonly vocabulary: Vocabulary;
  readonly text: DamsmTextEncoder;
  /** The text encoder came from damsm.text: it stays in eval mode and has no optimizer. */
  readonly textFixed: boolean;
  readonly image: DamsmImageEncoder;
  readonly textOptions: DamsmTextEncoderOptions;
  readonly imageOptions: DamsmImageEncoderOptions;
  readonly d: DamsmConfig['damsm'];
  readonly augment: DamsmConfig['augment'];
  readonly clip: number;
  /** Species the classifier names: the captioned training species, then those of `extra`. */
  readonly species: string[] = [];
  /** species id → its row of the classifier (built once; every training step looks its batch up). */
  readonly #speciesIndex = new Map<string, number>();
  readonly speciesHead: Linear | null;
  readonly auxiliary?: AuxiliaryData;

  constructor(readonly ctx: RecipeContext) {
    const { device, data } = ctx;
    const config = ctx.config as unknown as DamsmConfig;
    this.d = config.damsm;
    const trainCaptions = data.records.filter((r) => r.split === 'train').flatMap((r) => r.captions);
    if (trainCaptions.length === 0) throw new Error(`${data.dir} has no training captions`);
    // A fixed text encoder (damsm.text) brings its vocabulary and options; the image encoder learns its space.
    const fixed = this.d.text === null ? null : loadDamsm(this.d.text, false).conditioner;
    if (fixed !== null && fixed.options.hiddenSize !== this.d.embeddingDim)
      throw new Error(
        `damsm.text: ${this.d.text} encodes sentences in ${fixed.options.hiddenSize} dimensions, damsm.embeddingDim is ${this.d.embeddingDim}`,
      );
    this.vocabulary = fixed?.vocabulary ?? Vocabulary.build(trainCaptions, { minCount: this.d.minWordCount });
    this.textOptions = fixed?.options ?? {
      vocabSize: this.vocabulary.size,
      embeddingDim: this.d.wordEmbedding,
      hiddenSize: this.d.embeddingDim,
      dropout: this.d.dropout,
    };
    this.imageOptions = {
      embeddingDim: this.d.embeddingDim,
      width: this.d.imageWidth,
      inputSize: this.d.imageSize,
    };
    this.augment = config.augment;
    if (this.d.extra !== null && this.d.species === 0)
      throw new Error('damsm.extra needs damsm.species > 0: uncaptioned images teach only through the species loss');
    this.speciesHead = null;
    if (this.d.species > 0) {
      this.species = speciesOf(data, this.d.extra);
      this.species.forEach((s, i) => this.#speciesIndex.set(s, i));
      this.speciesHead = new Linear(this.d.embeddingDim, this.species.length).to(device);
      this.modules.set('species', this.speciesHead);
    }
    if (this.d.extra !== null) this.auxiliary = { cache: this.d.extra, batchSize: this.d.extraBatchSize };
    // The conditioner's text encoder comes in eval mode without gradients: it stays so.
    this.text = fixed?.module.to(device) ?? new DamsmTextEncoder(this.textOptions).to(device);
    this.textFixed = fixed !== null;
    this.image = new DamsmImageEncoder(this.imageOptions).to(device);
    this.modules.set('text', this.text).set('image', this.image);
    const o = config.optim;
    const betas: [number, number] = [o.beta1, o.beta2];
    if (!this.textFixed) this.optimizers.set('text', new Adam(this.text.parameters(), { lr: o.lr, betas }));
    const imageParams = [...this.image.parameters(), ...(this.speciesHead?.parameters() ?? [])];
    this.optimizers.set('image', new Adam(imageParams, { lr: o.lr, betas }));
    this.clip = o.gradClip;
    ctx.log(
      `damsm: vocabulary ${this.vocabulary.size} words; text ${(this.text.numParameters() / 1e6).toFixed(2)}M, image ${(this.image.numParameters() / 1e6).toFixed(2)}M parameters` +
        (this.speciesHead ? `; species loss over ${this.species.length} species` : '') +
        (this.d.extra !== null ? ` (${this.d.extra} beside the captioned birds)` : '') +
        (fixed !== null ? `; text encoder of ${this.d.text}, held fixed` : ''),
    );
  }

  #gammas(): { gamma1: number; gamma2: number; gamma3: number } {
    return { gamma1: this.d.gamma1, gamma2: this.d.gamma2, gamma3: this.d.gamma3 };
  }

  /** Training images through DiffAugment when it is on (a fresh draw per call). */
  #augmented(x: Tensor): Tensor {
    const { translation, cutout } = this.augment;
    if (translation === 0 && cutout === 0) return x.alias();
    return diffAugment(x, { translation, cutout, generator: this.ctx.rng });
  }

  /** Species indices of a batch's class ids. */
  #speciesTargets(classIds: string[]): Tensor {
    const ids = classIds.map((c) => {
      const i = this.#speciesIndex.get(c);
      if (i === undefined) throw new Error(`species ${c} is not among the ${this.species.length} the classifier names`);
      return BigInt(i);
    });
    return tensor(BigInt64Array.from(ids), { shape: [ids.length], device: this.ctx.device });
  }

  /**
   * DAMSM's four matching terms on a captioned batch; in training, with the species loss on it and
   * on the auxiliary batch (one image-encoder pass over both, so batch norm sees all of them).
   */
  #loss(batch: Batch, o: { training: boolean; auxiliary?: Batch }) {
    const x = batch.images.values().next().value!;
    const extra = o.auxiliary?.images.values().next().value;
    const { ids, lengths } = this.vocabulary.encodeBatch(batch.captions, { device: this.ctx.device });
    const classIds = extra ? batch.classIds.concat(o.auxiliary!.classIds) : batch.classIds;
    const targets = o.training && this.speciesHead ? this.#speciesTargets(classIds) : null;
    try {
      return tidy(() => {
        const text = this.text.forward(ids, lengths);
        const input = extra ? cat([x, extra], 0) : x.alias();
        const seen = o.training ? this.#augmented(input) : input;
        const all = this.image.forward(seen);
        const b = x.size(0);
        const image = extra ? { regions: all.regions.narrow(0, 0, b), global: all.global.narrow(0, 0, b) } : all;
        const out = damsmLoss(image, text, lengths, batch.classIds, this.#gammas());
        out.attention.forEach((a) => a.dispose());
        let species: { loss: Tensor; accuracy: number } | null = null;
        if (targets !== null) {
          const logits = this.speciesHead!.forward(all.global);
          const loss = F.crossEntropy(logits, targets);
          species = { loss, accuracy: noGrad(() => logits.argmax(1).eq(targets).float().mean().item()) };
        }
        const total = species ? out.loss.add(species.loss.mul(this.d.species)) : out.loss.alias();
        return { out, text, image, species, total };
      });
    } finally {
      ids.dispose();
      lengths.dispose();
      targets?.dispose();
    }
  }

  step(batches: Batch[], _step: number, { logging, auxiliary }: StepOptions): StepResult {
    const batch = batches[0]!;
    const { out, text, image, species, total } = this.#loss(batch, {
      training: true,
      ...(auxiliary ? { auxiliary } : {}),
    });
    const optT = this.optimizers.get('text');
    const optI = this.optimizers.get('image')!;
    const opts = this.textFixed ? [optI] : [optT!, optI];
    opts.forEach((o) => o.zeroGrad());
    const overflow = this.ctx.precision.backward(total, ...opts);
    const scalars: Record<string, number> = {};
    if (logging && !overflow) {
      if (optT) scalars['grad/text'] = gradNorm(optT.params);
      scalars['grad/image'] = gradNorm(optI.params);
    }
    // AttnGAN clips the RNN's gradients (exploding gradients through time).
    if (optT && this.clip > 0) optT.clipGradNorm(this.clip);
    if (!overflow) opts.forEach((o) => o.step());
    if (logging) {
      scalars['loss/total'] = out.loss.item();
      scalars['loss/w_i2t'] = out.word.imageToText.item();
      scalars['loss/w_t2i'] = out.word.textToImage.item();
      scalars['loss/s_i2t'] = out.sentence.imageToText.item();
      scalars['loss/s_t2i'] = out.sentence.textToImage.item();
      scalars['acc/s_i2t'] = top1(image.global, text.sentence);
      if (species) {
        scalars['loss/species'] = species.loss.item();
        scalars['acc/species'] = species.accuracy;
      }
      scalars.lr = optI.lr;
    }
    disposeAll(out, text, image);
    total.dispose();
    species?.loss.dispose();
    return { scalars, images: batch.indices.length + (auxiliary?.indices.length ?? 0) };
  }

  /** Mean loss on the validation split and in-batch image→text top-1 retrieval accuracy. */
  async evaluate(): Promise<Record<string, number>> {
    const config = this.ctx.config as unknown as DamsmConfig;
    const loader = validationLoader(this.ctx);
    if (loader === null) return {};
    this.text.eval();
    this.image.eval();
    let loss = 0;
    let acc = 0;
    let n = 0;
    try {
      for await (const batch of loader.epoch(0)) {
        noGrad(() => {
          const { out, text, image, total } = this.#loss(batch, { training: false });
          loss += out.loss.item();
          acc += top1(image.global, text.sentence);
          disposeAll(out, text, image);
          total.dispose();
        });
        batch.dispose();
        if (++n >= config.eval.batches) break;
      }
    } finally {
      if (!this.textFixed) this.text.train();
      this.image.train();
      await loader.close();
    }
    return n === 0 ? {} : { val_loss: loss / n, val_top1_i2t: acc / n };
  }

  metadata(): Record<string, string> {
    return {
      model: 'damsm',
      vocabulary: JSON.stringify(this.vocabulary.toJSON()),
      textEncoder: JSON.stringify(this.textOptions),
      imageEncoder: JSON.stringify(this.imageOptions),
      ...(this.species.length > 0 ? { species: JSON.stringify(this.species) } : {}),
    };
  }

  dispose(): void {}
}

/**
 * The species a classifier names: the captioned cache's training species, then the extra cache's.
 * Throws when the extra cache holds a species of the captioned validation or test split: an image
 * encoder that has learnt those birds would flatter every held-out score read through it.
 */
function speciesOf(data: CacheReader, extra: string | null): string[] {
  const train = new Set(data.records.filter((r) => r.split === 'train').map((r) => r.classId));
  const out = [...train].sort();
  if (extra !== null) for (const c of readExtraImages(data, extra).species) if (!train.has(c)) out.push(c);
  return out;
}

/** Fraction of images whose best-matching sentence (cosine) in the batch is their own. */
function top1(img: Tensor, sent: Tensor): number {
  return noGrad(() =>
    tidy(() => {
      const a = img.div(img.norm(2, 1, true).clamp(1e-8));
      const b = sent.div(sent.norm(2, 1, true).clamp(1e-8));
      const sim = a.matmul(b.t());
      const pred = sim.argmax(1);
      const n = img.size(0);
      let hits = 0;
      const p = pred.toTypedArray();
      for (let i = 0; i < n; i++) if (Number(p[i]) === i) hits++;
      return hits / n;
    }),
  );
}

function disposeAll(
  out: {
    loss: Tensor;
    word: { imageToText: Tensor; textToImage: Tensor };
    sentence: { imageToText: Tensor; textToImage: Tensor };
  },
  text: { words: Tensor; sentence: Tensor },
  image: { regions: Tensor; global: Tensor },
): void {
  for (const t of [
    out.loss,
    out.word.imageToText,
    out.word.textToImage,
    out.sentence.imageToText,
    out.sentence.textToImage,
    text.words,
    text.sentence,
    image.regions,
    image.global,
  ])
    t.dispose();
}

export const damsm: RecipeFactory = {
  model: 'damsm',
  schema: damsmSchema,
  // bench:models, bf16 on 2 CPU cores: 85.3 img/s in the default layout, 78.2 in channels-last.
  memoryFormat: 'contiguous',
  create: (ctx) => new DamsmRecipe(ctx),
};
