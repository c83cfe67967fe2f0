// The score a GAN's training run keeps its best checkpoint by, measured on the generator a recipe
// exposes (its sampler), so recipes train and src/eval measures: attribute accuracy for tag
// models (HW3-2: are the requested hair and eye colours there?), R-precision for caption models
// (AttnGAN §5: is the image's own caption the best match among 100?).
import { Generator, cat, noGrad, randn, type Device, type Tensor } from '../engine/index.js';
import type { LoadedAttributeClassifier } from '../artifacts/attribute-classifier.js';
import type { Conditioner } from '../models/conditioning.js';
import type { DamsmImageEncoder } from '../models/damsm/index.js';
import type { Module } from '../nn/index.js';
import { comboGroups, pooledAccuracy } from './absent-combos.js';
import { attributeAccuracy, comboKeys } from './attribute-accuracy.js';
import { readReal } from './evaluate.js';
import type { FeatureNetwork } from './feature-network.js';
import { featureStats, frechetDistance, type FeatureStats } from './fid.js';
import { Prng } from '../util/prng.js';
import { rPrecision } from './r-precision.js';

/**
 * Images generated and encoded at a time by default (real ones read as many); the noise is still
 * drawn 64 at a time, so the scores do not depend on it. The trainer keeps freed memory for reuse
 * (retainFreedCpuMemory), so an evaluation's larger blocks stay in the process: on a 128 px DF-GAN
 * checkpoint, 64 at a time peaked at 7.8 GB in 84 s, 8 at a time at 2.9 GB in 58 s, same scores
 * (`npm run bench:eval-memory`, docs/training.md). A run was killed for memory during a 64-at-a-time
 * evaluation.
 */
export const EVAL_CHUNK = 8;

/** s.images(z, captions) in chunks, each handed to use() and freed after it. */
function eachChunk(
  s: Sampler,
  z: Tensor,
  captions: readonly string[],
  chunk: number,
  use: (images: Tensor) => void,
): void {
  for (let i = 0; i < captions.length; i += chunk) {
    const n = Math.min(chunk, captions.length - i);
    using zi = z.narrow(0, i, n);
    using images = s.images(zi, captions.slice(i, i + n));
    use(images);
  }
}

/** A generator as evaluation sees it: images for captions or tag texts from given noise. */
export interface Sampler {
  readonly noiseDim: number;
  readonly device: Device;
  /** What turns the captions into the generator's condition (R-precision also ranks with it). */
  readonly conditioner: Conditioner;
  /** Images [N, 3, R, R] in [-1, 1] (the last stage of stacked models) for noise [N, noiseDim] on `device`. */
  images(z: Tensor, captions: readonly string[]): Tensor;
  /** Runs fn with the networks in eval mode (the mode they were in is restored after). */
  inEvalMode<T>(fn: () => T): T;
  /** The trained network images() runs (the moving average when there is one), for standing statistics. */
  readonly network?: Module;
}

/** The records a metric draws captions, classes, splits and tag combinations from (a CacheReader's). */
export interface MetricRecord {
  captions: string[];
  classId?: string;
  split?: string;
  attributes?: { [k: string]: string };
}

export interface CheckpointMetric {
  /** The key of measure()'s result the best checkpoint is chosen by (higher is better). */
  readonly best: string;
  measure(sampler: Sampler): Record<string, number> | Promise<Record<string, number>>;
  dispose(): void;
}

/**
 * Attribute accuracy over every hair/eye combination both the generator's tags and the classifier
 * know: perCombo faces each, from fixed seeds; `attr_both` picks the checkpoint. Also `attr_unseen_both`,
 * the same over combinations absent from the training split, and `attr_unseen_pairs_both` over those
 * of them whose two colours training faces do show (comboGroups).
 */
export function attributeAccuracyMetric(
  classifier: LoadedAttributeClassifier,
  o: {
    perCombo: number;
    seed: number;
    records: Iterable<MetricRecord>;
    hair: readonly string[];
    eyes: readonly string[];
  },
): CheckpointMetric {
  const knows = (kind: 'hair' | 'eyes', c: string): boolean => classifier.vocabulary[kind].includes(c);
  const combos = o.hair
    .filter((h) => knows('hair', h))
    .flatMap((hair) => o.eyes.filter((e) => knows('eyes', e)).map((eyes) => ({ hair, eyes })));
  if (combos.length === 0) throw new Error(`the classifier ${classifier.source} knows none of the colours`);
  const trainCombos = comboKeys(o.records, 'train');
  return {
    best: 'attr_both',
    measure(s: Sampler): Record<string, number> {
      const source = {
        generate: (captions: readonly string[], g: { seed?: number } = {}): Tensor =>
          noGrad(() => {
            // Drawn on the CPU from the seed, as the pipeline does, so every device scores alike.
            using z0 = randn([captions.length, s.noiseDim], { generator: new Generator(g.seed ?? 0) });
            using z = z0.to(s.device);
            return s.images(z, captions);
          }),
      };
      const r = s.inEvalMode(() =>
        attributeAccuracy(source, classifier, { combos, perCombo: o.perCombo, seed: o.seed, trainCombos }),
      );
      const pairs = pooledAccuracy(comboGroups(r.perCombo).pair);
      return {
        attr_hair: r.hair,
        attr_eyes: r.eyes,
        attr_both: r.both,
        ...(r.unseen ? { attr_unseen_both: r.unseen.both } : {}),
        ...(pairs ? { attr_unseen_pairs_both: pairs.both } : {}),
      };
    },
    dispose: () => classifier.dispose(),
  };
}

/**
 * R-precision of images generated for held-out captions (the first caption of the first `samples`
 * validation records, else test records), each ranked by a DAMSM's encoders (image and text, one
 * trained pair) against 99 captions of other classes; `rprec` (mean over 10 splits) picks the
 * checkpoint, `rprec_std` is its spread.
 */
export function rPrecisionMetric(
  damsm: { text: Conditioner; image: DamsmImageEncoder },
  o: { samples: number; seed: number; records: readonly MetricRecord[]; chunk?: number },
): CheckpointMetric {
  const chunk = o.chunk ?? EVAL_CHUNK;
  const split = o.records.some((r) => r.split === 'val') ? 'val' : 'test';
  const held = o.records.filter((r) => r.split === split);
  if (held.length === 0) throw new Error('R-precision needs validation or test records; the data has neither');
  const chosen = held.slice(0, o.samples);
  const pool = held.flatMap((r) => r.captions.slice(0, 2).map((c) => ({ c, cls: r.classId ?? '' })));
  return {
    best: 'rprec',
    measure(s: Sampler): Record<string, number> {
      const gen = new Generator(o.seed, s.device);
      const imgF: Tensor[] = [];
      const txtF: Tensor[] = [];
      const poolF: Tensor[] = [];
      try {
        s.inEvalMode(() =>
          noGrad(() => {
            for (let i = 0; i < chosen.length; i += 64) {
              const caps = chosen.slice(i, i + 64).map((r) => r.captions[0]!);
              using z = randn([caps.length, s.noiseDim], { generator: gen, device: s.device });
              eachChunk(s, z, caps, chunk, (images) => {
                const f = damsm.image.forward(images);
                f.regions.dispose();
                imgF.push(f.global);
              });
              txtF.push(damsm.text.encode({ captions: caps }, s.device));
            }
            for (let i = 0; i < pool.length; i += 256)
              poolF.push(damsm.text.encode({ captions: pool.slice(i, i + 256).map((p) => p.c) }, s.device));
          }),
        );
        using a = cat(imgF, 0);
        using b = cat(txtF, 0);
        using c = cat(poolF, 0);
        const r = rPrecision(a, b, c, {
          candidates: Math.min(100, pool.length),
          splits: 10,
          seed: 0,
          poolClasses: pool.map((p) => p.cls),
          sampleClasses: chosen.map((r) => r.classId ?? ''),
        });
        return { rprec: r.mean, rprec_std: r.std };
      } finally {
        for (const t of [...imgF, ...txtF, ...poolF]) t.dispose();
      }
    },
    dispose: () => {
      damsm.image.dispose();
      damsm.text.module?.dispose();
    },
  };
}

/**
 * `inner`, and beside it `fid`: the Fréchet distance between `samples` generated images and as many
 * real training images on a feature network (for tag models the attribute classifier's pool
 * features, so "FID (project features: …)", not a standard FID). The conditions are the records'
 * own captions or tags in a seeded order, so the generated set follows the data's distribution; the
 * real images' statistics are read once, at the first checkpoint. The best checkpoint is still
 * chosen by `inner.best`.
 */
export function withFid(
  inner: CheckpointMetric,
  net: FeatureNetwork,
  o: {
    dataset: string;
    side: number;
    samples: number;
    seed: number;
    records: readonly MetricRecord[];
    chunk?: number;
  },
): CheckpointMetric {
  const chunk = o.chunk ?? EVAL_CHUNK;
  if (!(Number.isInteger(o.samples) && o.samples >= 2)) throw new RangeError(`eval.fid must be ≥ 2, got ${o.samples}`);
  const pool = o.records.filter((r) => (r.split ?? 'train') === 'train' && r.captions.length > 0);
  if (pool.length === 0) throw new Error('FID at checkpoints needs training records with captions or tags');
  const order = Prng.derive(o.seed, 0xf1d).permutation(pool.length);
  let real: FeatureStats | null = null;
  return {
    best: inner.best,
    async measure(s: Sampler): Promise<Record<string, number>> {
      const out = await inner.measure(s);
      if (real === null) {
        const parts: Tensor[] = [];
        await readReal(o.dataset, 'train', 'cpu', o.side, chunk, { limit: o.samples, seed: o.seed }, (_b, images) => {
          const f = net.extract(images);
          f.probs?.dispose();
          parts.push(f.features);
        });
        using all = cat(parts, 0);
        parts.forEach((t) => t.dispose());
        using first = all.narrow(0, 0, Math.min(o.samples, all.size(0)));
        real = featureStats(first, { features: net.name });
      }
      const feats: Tensor[] = [];
      try {
        s.inEvalMode(() =>
          noGrad(() => {
            for (let start = 0, k = 0; start < o.samples; start += 64, k++) {
              const caps = Array.from(
                { length: Math.min(64, o.samples - start) },
                (_, i) => pool[order[(start + i) % pool.length]!]!.captions[0]!,
              );
              using z0 = randn([caps.length, s.noiseDim], { generator: new Generator(o.seed + k) });
              using z = z0.to(s.device);
              eachChunk(s, z, caps, chunk, (images) => {
                const f = net.extract(images);
                f.probs?.dispose();
                feats.push(f.features);
              });
            }
          }),
        );
        using gen = cat(feats, 0);
        out.fid = frechetDistance(real, featureStats(gen, { features: net.name }));
      } finally {
        feats.forEach((t) => t.dispose());
      }
      return out;
    },
    dispose: () => {
      inner.dispose();
      net.dispose();
    },
  };
}
