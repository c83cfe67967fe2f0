// One evaluation of a trained generator, as `creativeai eval` runs it: generates images for the
// captions of the dataset's held-out split, reads them and the real held-out images with the
// chosen networks, and computes the requested metrics. The caller picks and loads the networks
// (feature-network.ts); this file only checks that each metric has what it needs.
import { CacheReader, type CacheRecord, type SplitName } from '../data/index.js';
import { cat, noGrad, tensor, type Tensor } from '../engine/index.js';
import type { DamsmConditioner } from '../models/conditioning.js';
import type { DamsmImageEncoder } from '../models/damsm/index.js';
import type { TextToImagePipeline } from '../inference/pipeline.js';
import { Prng } from '../util/prng.js';
import { Progress } from '../util/progress.js';
import type { LoadedAttributeClassifier } from '../artifacts/attribute-classifier.js';
import { attributeAccuracy, comboKeys, type AttributeAccuracyResult } from './attribute-accuracy.js';
import { detailEnergy, detailRatio, type DetailResult } from './detail.js';
import { DEFAULT_COLLAPSE_RATIO, diversity, type DiversityResult } from './diversity.js';
import { metricLabel, type FeatureNetwork } from './feature-network.js';
import { featureStats, frechetDistance } from './fid.js';
import { inceptionScore, type InceptionScoreResult } from './inception-score.js';
import { kid, type KidOptions, type KidResult } from './kid.js';
import { rPrecision, type RPrecisionResult } from './r-precision.js';
import { readReal } from './real-images.js';
import {
  encodeCaptions,
  evaluateEncoders,
  heldOutCaptions,
  mismatchPool,
  type EncoderEvaluation,
} from './real-retrieval.js';

export { readReal } from './real-images.js';

export const METRICS = ['fid', 'kid', 'is', 'rprec', 'attr', 'div', 'detail'] as const;
export type Metric = (typeof METRICS)[number];

/** What a metric is missing: the CLI turns it into a usage error naming the option to pass. */
export class MissingInputError extends Error {}

export interface EvaluateOptions {
  metrics: readonly Metric[];
  /** A prepared cache: held-out captions and real images (fid, kid, is, rprec, div); attr: seen combinations. */
  dataset?: string;
  /** Held-out splits to read (default ['test']). */
  splits?: readonly SplitName[];
  /** Generated images for fid, kid, is and rprec (default 1000). */
  n?: number;
  seed?: number;
  /** Images per generator / network forward pass (default 50); batch k's noise is seeded from (seed, k). */
  batchSize?: number;
  /** The network of fid, kid and div. */
  features?: FeatureNetwork;
  /** The classifier of is (the Inception-v3, or a project classifier). */
  scorer?: FeatureNetwork;
  /** The DAMSM encoders of rprec, and the name they are reported under. */
  damsm?: { conditioner: DamsmConditioner; image: DamsmImageEncoder; name: string };
  /** The attribute classifier of attr. */
  classifier?: LoadedAttributeClassifier;
  /** attr: images per hair/eyes combination (default 16). */
  perCombo?: number;
  /**
   * div: captions (held-out classes: a seeded choice of that many, or 'all' with two or more real
   * images), images per caption (defaults 20, 10) and the collapse threshold.
   */
  diversity?: { captions?: number | 'all'; perCaption?: number; threshold?: number };
  /** detail: the side the fine detail is measured above (default 64, the side our DAMSM reads). */
  detailBase?: number;
  kid?: KidOptions;
  /** IS: parts the predictions are cut into (default 10). */
  isSplits?: number;
  /**
   * A split whose real images stand in for generated ones (up to n of them, a seeded choice): fid,
   * kid and is of real data against the held-out images, the scale the generator's numbers are
   * read on (project-feature values mean nothing alone).
   */
  reference?: SplitName;
  /**
   * The side of the stage to score, for stacked models (StackGAN Stage II: 64 or 256; StackGAN++ and
   * AttnGAN: 64, 128 or 256); real images are read at that side. Default: the last stage.
   */
  stage?: number;
  /** Progress bars on stderr. */
  progress?: boolean;
}

export interface EvaluationResult {
  model: string;
  dataset: string | null;
  splits: SplitName[];
  seed: number;
  /** Generated images behind fid, kid, is and rprec (0 when none of them was asked for). */
  n: number;
  /** The side of the stage scored, and every stage the model has (smallest first). */
  stage: number;
  stages: number[];
  /** The network of fid/kid/div. */
  features: { name: string; standard: boolean; source: string; dim: number } | null;
  /** Real held-out images read. */
  realImages: number;
  fid?: { label: string; value: number; generated: number; real: number };
  kid?: KidResult & { label: string; subsets: number };
  is?: InceptionScoreResult & { label: string; scorer: string };
  /** With `real`: the same score and retrieval of the real held-out images through the same DAMSM. */
  rprec?: RPrecisionResult & { label: string; real: Omit<EncoderEvaluation, 'seconds'> };
  div?: DiversityResult & { label: string };
  detail?: DetailResult & { label: string };
  attr?: AttributeAccuracyResult & { label: string; classifier: string };
  /** fid, kid and is of real images of another split, computed like the generator's. */
  reference?: {
    split: SplitName;
    images: number;
    fid?: EvaluationResult['fid'];
    kid?: EvaluationResult['kid'];
    is?: EvaluationResult['is'];
  };
  seconds: number;
}

const NEEDS_DATASET: readonly Metric[] = ['fid', 'kid', 'is', 'rprec', 'div', 'detail'];

/** detail's default base: our DAMSM image encoder reads 64 px, so R-precision sees nothing above it. */
export const DEFAULT_DETAIL_BASE = 64;

function check(pipeline: TextToImagePipeline, o: EvaluateOptions): void {
  const m = new Set(o.metrics);
  const unknown = o.metrics.filter((x) => !(METRICS as readonly string[]).includes(x));
  if (unknown.length > 0) throw new MissingInputError(`unknown metric(s) ${unknown.join(', ')}`);
  const needData = NEEDS_DATASET.filter((x) => m.has(x));
  if (needData.length > 0 && o.dataset === undefined)
    throw new MissingInputError(`${needData.join(', ')} need(s) a dataset cache for held-out captions and images`);
  if ((m.has('fid') || m.has('kid') || m.has('div')) && !o.features)
    throw new MissingInputError('fid, kid and div need a feature network');
  if (m.has('is') && !(o.scorer && o.scorer.classes > 0)) throw new MissingInputError('is needs a classifier');
  if (m.has('rprec') && !o.damsm) throw new MissingInputError('rprec needs the DAMSM encoders');
  if (m.has('rprec') && pipeline.conditioner.kind !== 'damsm')
    throw new MissingInputError(`${pipeline.source} is conditioned on tags: rprec needs a caption (DAMSM) model`);
  if (m.has('attr') && !o.classifier) throw new MissingInputError('attr needs an attribute classifier');
  if (m.has('attr') && pipeline.conditioner.kind !== 'tags')
    throw new MissingInputError(`${pipeline.source} is not a tag model: attr needs one`);
  if (o.stage !== undefined && !pipeline.stages.includes(o.stage))
    throw new MissingInputError(
      `${pipeline.source} has no ${o.stage} px stage: its stages are ${pipeline.stages.join(', ')} px`,
    );
  if (m.has('attr') && o.stage !== undefined && o.stage !== pipeline.resolution)
    throw new MissingInputError('attr scores the last stage only');
  if (m.has('detail')) {
    const base = o.detailBase ?? DEFAULT_DETAIL_BASE;
    const side = o.stage ?? pipeline.resolution;
    if (!(Number.isInteger(side / base) && side / base >= 2))
      throw new MissingInputError(
        `detail measures what a ${side} px stage draws above ${base} px: it needs a stage of a multiple ≥ 2 of ${base} px`,
      );
  }
}

/** 32-bit noise seed of generation batch k: the same options give the same images. */
function batchSeed(seed: number, k: number): number {
  return Math.floor(Prng.derive(seed, k).next() * 2 ** 32);
}

function bar(on: boolean | undefined, label: string, total: number): Progress | null {
  return on ? new Progress({ label, total, unit: 'img' }) : null;
}

export async function evaluateGenerator(pipeline: TextToImagePipeline, o: EvaluateOptions): Promise<EvaluationResult> {
  check(pipeline, o);
  const started = Date.now();
  const m = new Set(o.metrics);
  const seed = o.seed ?? 0;
  const batch = o.batchSize ?? 50;
  if (!(Number.isInteger(batch) && batch >= 1))
    throw new RangeError(`batchSize must be a positive integer, got ${batch}`);
  const splits = [...(o.splits ?? ['test'])];
  const stage = o.stage ?? pipeline.resolution;
  const owned: Tensor[] = [];
  const keepT = (t: Tensor): Tensor => (owned.push(t), t);
  const result: EvaluationResult = {
    model: pipeline.source,
    dataset: o.dataset ?? null,
    splits,
    seed,
    n: 0,
    stage,
    stages: pipeline.stages,
    features: o.features
      ? { name: o.features.name, standard: o.features.standard, source: o.features.source, dim: o.features.dim }
      : null,
    realImages: 0,
    seconds: 0,
  };
  try {
    // The cache is read once: its records (held-out captions, attr's training combinations) and sides.
    let all: readonly CacheRecord[] = [];
    let held: CacheRecord[] = [];
    if (o.dataset !== undefined) {
      const reader = CacheReader.open(o.dataset);
      all = reader.records;
      const sides = reader.manifest.resolutions;
      reader.close();
      held = all.filter((r) => r.split !== undefined && splits.includes(r.split));
      if (held.length === 0 && NEEDS_DATASET.some((x) => m.has(x)))
        throw new MissingInputError(
          `${o.dataset} has no records in split(s) ${splits.join(', ')} (it has ${[...new Set(all.map((r) => r.split))].join(', ')})`,
        );
      // detail compares with real images at the stage's own side: a cache without that side would
      // give enlarged images, whose detail is not the real one. Checked before any image is generated.
      if (m.has('detail') && !sides.includes(stage))
        throw new MissingInputError(
          `detail compares with real ${stage} px images: ${o.dataset} holds ${sides.join(', ')} px (prepare --sizes)`,
        );
    }

    // ---- generated images for the captions of the held-out records --------------------------
    const wantGenerated = m.has('fid') || m.has('kid') || m.has('is') || m.has('rprec') || m.has('detail');
    const n = wantGenerated ? (o.n ?? 1000) : 0;
    if (wantGenerated && !(Number.isInteger(n) && n >= 2)) throw new RangeError(`n must be an integer ≥ 2, got ${n}`);
    // The real split's class distribution, and IS splits that are not one class each.
    const { captions, classes } = heldOutCaptions(held, n, seed);
    const genFeatures: Tensor[] = [];
    const genProbs: Tensor[] = [];
    const genDamsm: Tensor[] = [];
    const genDetail: number[] = [];
    const detailBase = o.detailBase ?? DEFAULT_DETAIL_BASE;
    const pb = bar(o.progress, 'generated', n);
    const scorerIsFeatures = o.scorer !== undefined && o.scorer === o.features;
    for (let start = 0, k = 0; start < n; start += batch, k++) {
      const caps = captions.slice(start, start + batch);
      using images = pipeline.generate(caps, { seed: batchSeed(seed, k), stage });
      if ((m.has('fid') || m.has('kid') || (m.has('is') && scorerIsFeatures)) && o.features) {
        const f = o.features.extract(images);
        genFeatures.push(keepT(f.features));
        if (f.probs) {
          if (m.has('is') && scorerIsFeatures) genProbs.push(keepT(f.probs));
          else f.probs.dispose();
        }
      }
      if (m.has('is') && !scorerIsFeatures) {
        const s = o.scorer!.extract(images);
        s.features.dispose();
        genProbs.push(keepT(s.probs!));
      }
      if (m.has('rprec')) {
        const d = o.damsm!;
        const f = noGrad(() => d.image.forward(images));
        f.regions.dispose();
        genDamsm.push(keepT(f.global));
      }
      if (m.has('detail')) genDetail.push(...detailEnergy(images, detailBase));
      pb?.tick(caps.length);
    }
    pb?.finish();
    result.n = n;

    // ---- real held-out images ------------------------------------------------------------------
    let realFeatures: Tensor | null = null;
    let realClasses: string[] = [];
    if ((m.has('fid') || m.has('kid') || m.has('div')) && o.features) {
      const parts: Tensor[] = [];
      const rb = bar(o.progress, 'real', held.length);
      for (const split of splits)
        await readReal(o.dataset!, split, pipeline.device, stage, batch, { limit: Infinity }, (b, images) => {
          const f = o.features!.extract(images);
          f.probs?.dispose();
          parts.push(keepT(f.features));
          realClasses = realClasses.concat(b.classIds);
          rb?.tick(b.indices.length);
        });
      rb?.finish();
      realFeatures = keepT(cat(parts, 0));
      result.realImages = realClasses.length;
    }

    // ---- metrics ---------------------------------------------------------------------------------
    if (m.has('fid') || m.has('kid')) {
      using gen = cat(genFeatures, 0);
      Object.assign(result, distances(o, realFeatures!, gen, seed));
    }
    if (m.has('is')) {
      using p = cat(genProbs, 0);
      result.is = {
        label: metricLabel('IS', o.scorer!),
        scorer: o.scorer!.name,
        ...inceptionScore(p, { splits: Math.min(o.isSplits ?? 10, n) }),
      };
    }

    // ---- real images of another split in place of generated ones: the scale of the numbers -------
    if (o.reference !== undefined && (m.has('fid') || m.has('kid') || m.has('is'))) {
      const feats: Tensor[] = [];
      const probs: Tensor[] = [];
      let count = 0;
      const rb = bar(o.progress, `reference (${o.reference})`, n);
      await readReal(o.dataset!, o.reference, pipeline.device, stage, batch, { limit: n, seed }, (b, images) => {
        if ((m.has('fid') || m.has('kid')) && o.features) {
          const f = o.features.extract(images);
          f.probs?.dispose();
          feats.push(keepT(f.features));
        }
        if (m.has('is')) {
          const f = o.scorer!.extract(images);
          f.features.dispose();
          probs.push(keepT(f.probs!));
        }
        count += b.indices.length;
        rb?.tick(b.indices.length);
      });
      rb?.finish();
      if (count < 2) throw new MissingInputError(`--reference ${o.reference}: the split has ${count} image(s)`);
      const ref: NonNullable<EvaluationResult['reference']> = { split: o.reference, images: count };
      if (feats.length > 0) {
        using f = cat(feats, 0);
        Object.assign(ref, distances(o, realFeatures!, f, seed));
      }
      if (probs.length > 0) {
        using p = cat(probs, 0);
        ref.is = {
          label: metricLabel('IS', o.scorer!),
          scorer: o.scorer!.name,
          ...inceptionScore(p, { splits: Math.min(o.isSplits ?? 10, count) }),
        };
      }
      result.reference = ref;
    }
    if (m.has('rprec')) {
      const d = o.damsm!;
      // Mismatched captions come from other classes of the same held-out records (AttnGAN's protocol).
      const pool = mismatchPool(held);
      using img = cat(genDamsm, 0);
      using txt = encodeCaptions(d, captions, pipeline.device);
      using pf = encodeCaptions(d, pool.captions, pipeline.device);
      const score = rPrecision(img, txt, pf, {
        candidates: Math.min(100, pool.captions.length),
        splits: 10,
        seed,
        poolClasses: pool.classes,
        sampleClasses: classes,
      });
      // The real images' figure, through the same encoders on the same captions: the scale to read it on.
      // Its time is part of this evaluation's `seconds`.
      const { seconds: _, ...real } = await evaluateEncoders(d, {
        dataset: o.dataset!,
        splits,
        device: pipeline.device,
        n,
        seed,
        side: stage,
        batchSize: batch,
        encoded: { captions: txt, pool: pf },
      });
      result.rprec = { label: `R-precision (DAMSM: ${d.name})`, ...score, real };
    }
    if (m.has('detail')) {
      // Up to as many real images as generated ones (a seeded choice), at the stage's side (checked above).
      const real: number[] = [];
      const rb = bar(o.progress, 'detail (real)', n);
      for (const split of splits)
        await readReal(
          o.dataset!,
          split,
          pipeline.device,
          stage,
          batch,
          { limit: n - real.length, seed },
          (b, images) => {
            real.push(...detailEnergy(images, detailBase));
            rb?.tick(b.indices.length);
          },
        );
      rb?.finish();
      result.detail = { label: `Detail above ${detailBase} px`, ...detailRatio(genDetail, real, detailBase, stage) };
    }
    if (m.has('div')) result.div = diversityOf(pipeline, o, held, realFeatures!, realClasses, seed, batch, stage);
    if (m.has('attr')) {
      const cls = o.classifier!;
      const combos = cls.vocabulary.hair.flatMap((hair) => cls.vocabulary.eyes.map((eyes) => ({ hair, eyes })));
      const trainCombos = o.dataset !== undefined ? comboKeys(all) : undefined;
      result.attr = {
        label: 'Attribute accuracy',
        classifier: cls.source,
        ...attributeAccuracy(pipeline, cls, {
          combos,
          perCombo: o.perCombo ?? 16,
          seed,
          ...(trainCombos ? { trainCombos } : {}),
        }),
      };
    }
    result.seconds = (Date.now() - started) / 1000;
    return result;
  } finally {
    for (const t of owned) t.dispose();
  }
}

/**
 * Diversity: `captions` held-out classes with at least two real images (a seeded choice; 'all':
 * every one, so no sampling of classes adds to the spread), one
 * caption each (its first record's first), `perCaption` images per caption, against the real
 * images of those classes.
 */
function diversityOf(
  pipeline: TextToImagePipeline,
  o: EvaluateOptions,
  held: CacheRecord[],
  realFeatures: Tensor,
  realClasses: string[],
  seed: number,
  batch: number,
  stage: number,
): DiversityResult & { label: string } {
  const net = o.features!;
  const nCaptions = o.diversity?.captions ?? 20;
  const per = o.diversity?.perCaption ?? 10;
  if (nCaptions !== 'all' && !(Number.isInteger(nCaptions) && nCaptions >= 1))
    throw new RangeError(`div captions must be ≥ 1 or 'all', got ${nCaptions}`);
  if (!(Number.isInteger(per) && per >= 2)) throw new RangeError(`div samples per caption must be ≥ 2, got ${per}`);
  const rows = new Map<string, number[]>();
  realClasses.forEach((c, i) => rows.set(c, [...(rows.get(c) ?? []), i]));
  const first = new Map<string, CacheRecord>();
  for (const r of held) if (!first.has(r.classId)) first.set(r.classId, r);
  const eligible = [...first.keys()].filter((c) => (rows.get(c)?.length ?? 0) >= 2);
  if (eligible.length === 0)
    throw new MissingInputError('div needs held-out classes with at least two real images each: none has');
  const order = Prng.derive(seed, 0xd1).permutation(eligible.length);
  const count = nCaptions === 'all' ? eligible.length : Math.min(nCaptions, eligible.length);
  const chosen = Array.from(order.subarray(0, count), (i) => eligible[i]!);
  const gen: Tensor[] = [];
  const real: Tensor[] = [];
  const pb = bar(o.progress, 'diversity', chosen.length * per);
  try {
    chosen.forEach((c, j) => {
      const caption = first.get(c)!.captions[0]!;
      const parts: Tensor[] = [];
      for (let s = 0; s < per; s += batch) {
        const k = Math.min(batch, per - s);
        // Seeds apart from the FID batches' (keys ≥ 2^20), so the two sets share no noise.
        using images = pipeline.generate(new Array<string>(k).fill(caption), {
          seed: batchSeed(seed, 2 ** 20 + j * 2 ** 10 + s / batch),
          stage,
        });
        const f = net.extract(images);
        f.probs?.dispose();
        parts.push(f.features);
        pb?.tick(k);
      }
      gen.push(cat(parts, 0));
      parts.forEach((t) => t.dispose());
      using idx = tensor(BigInt64Array.from(rows.get(c)!, BigInt));
      real.push(realFeatures.indexSelect(0, idx));
    });
    pb?.finish();
    return {
      label: metricLabel('Diversity', net),
      ...diversity(gen, real, o.diversity?.threshold ?? DEFAULT_COLLAPSE_RATIO),
    };
  } finally {
    for (const t of [...gen, ...real]) t.dispose();
  }
}

/** FID and KID (those asked for) of a feature set against the real held-out features. */
function distances(
  o: EvaluateOptions,
  real: Tensor,
  other: Tensor,
  seed: number,
): Pick<EvaluationResult, 'fid' | 'kid'> {
  const net = o.features!;
  const out: Pick<EvaluationResult, 'fid' | 'kid'> = {};
  if (o.metrics.includes('fid')) {
    const a = featureStats(real, { features: net.name });
    const b = featureStats(other, { features: net.name });
    out.fid = { label: metricLabel('FID', net), value: frechetDistance(b, a), generated: b.n, real: a.n };
  }
  if (o.metrics.includes('kid'))
    out.kid = {
      label: metricLabel('KID', net),
      ...kid(real, other, { seed, ...o.kid }),
      subsets: o.kid?.subsets ?? 100,
    };
  return out;
}
