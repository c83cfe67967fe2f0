// Attribute directions in a tag model's noise space (the GAN overview's latent-space play; the
// linear-boundary idea of InterFaceGAN, Shen et al. 2020), found with the attribute classifier over
// sampled latents, and measured: does moving along "hair:blue" make the classifier read blue hair,
// and does it leave the eyes as they were?
//
// The tags decide most of a face's colours, so what the noise adds is the part of the classifier's
// belief that the tags do not explain: the direction for value v is E[z · (p_v(G(z, t)) − E[p_v | t])],
// the covariance of z with that residual (z is drawn independently of t), scaled to unit length.
import { randn, Generator, tensor, type Tensor } from '../engine/index.js';
import type { LoadedAttributeClassifier } from '../artifacts/attribute-classifier.js';
import {
  DIRECTIONS_FORMAT,
  NOISE_PREFIX,
  type DirectionEffect,
  type LatentDirection,
  type LatentDirections,
  type LatentEdit,
  type TruncationEffect,
} from '../inference/latent-edit.js';
import type { TextToImagePipeline } from '../inference/pipeline.js';
import { Prng } from '../util/prng.js';

const BATCH = 64;
const ATTRIBUTES = ['hair', 'eyes'] as const;
type Attribute = (typeof ATTRIBUTES)[number];

export interface FindDirectionsOptions {
  /** Latents sampled to find the directions (default 4096). */
  samples?: number;
  /** Latents per strength to measure them on, drawn apart from those (default 128). */
  measureSamples?: number;
  /** Strengths measured (0 too, as the baseline), also the range clients may ask for (default -4, -2, 2, 4). */
  strengths?: readonly number[];
  seed?: number;
  /** Told after every batch: what is being done, and how far. */
  onProgress?: (phase: 'find' | 'measure', done: number, total: number) => void;
}

type Pipe = Pick<TextToImagePipeline, 'generateFrom' | 'check' | 'noiseDim' | 'source' | 'device' | 'tags'>;

interface Combo {
  hair: string;
  eyes: string;
  text: string;
}

/** The hair/eye pairs both the classifier and the generator can name. */
function combosOf(pipe: Pipe, classifier: LoadedAttributeClassifier): Combo[] {
  const v = classifier.vocabulary;
  const out: Combo[] = [];
  for (const hair of v.hair)
    for (const eyes of v.eyes) {
      const text = v.format({ hair, eyes });
      if (pipe.check(text).error === undefined) out.push({ hair, eyes, text });
    }
  if (out.length === 0) throw new Error(`${pipe.source} reads none of the classifier's hair/eye tags`);
  return out;
}

/** Batch k of a sample: its noise [B, noiseDim] (CPU) and its tag pairs. */
function batchOf(pipe: Pipe, combos: Combo[], seed: number, k: number, size: number): { z: Tensor; tags: Combo[] } {
  const rng = Prng.derive(seed, k);
  const z = randn([size, pipe.noiseDim], { generator: new Generator(Math.floor(rng.next() * 2 ** 32)) });
  return { z, tags: Array.from({ length: size }, () => combos[rng.int(combos.length)]!) };
}

/** Finds a direction per hair and eye colour, then measures each at every strength. */
export function findDirections(
  pipe: Pipe,
  classifier: LoadedAttributeClassifier,
  o: FindDirectionsOptions = {},
): LatentDirections {
  const samples = o.samples ?? 4096;
  const measureSamples = o.measureSamples ?? 128;
  const strengths = [...(o.strengths ?? [-4, -2, 2, 4])].sort((a, b) => a - b);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(samples) || samples < BATCH) throw new RangeError(`samples must be an integer ≥ ${BATCH}`);
  if (!Number.isInteger(measureSamples) || measureSamples < 1)
    throw new RangeError('measureSamples must be a positive integer');
  if (!strengths.some((s) => s < 0) || !strengths.some((s) => s > 0) || strengths.some((s) => !Number.isFinite(s)))
    throw new RangeError('strengths need at least one negative and one positive finite value');
  const combos = combosOf(pipe, classifier);
  const voc = classifier.vocabulary;
  const dim = pipe.noiseDim;

  // 1. Sample: noise, tags and the classifier's probabilities.
  const zs: Float32Array[] = [];
  const tagsOf: Combo[] = [];
  const probs: Record<Attribute, Float32Array[]> = { hair: [], eyes: [] };
  const batches = Math.ceil(samples / BATCH);
  for (let k = 0; k < batches; k++) {
    const size = Math.min(BATCH, samples - k * BATCH);
    const { z, tags } = batchOf(pipe, combos, seed, k, size);
    using zc = z;
    using zd = zc.to(pipe.device);
    using images = pipe.generateFrom(
      zd,
      tags.map((t) => t.text),
    );
    const p = classifier.probabilities(images);
    const flat = zc.toTypedArray() as Float32Array;
    for (let i = 0; i < size; i++) zs.push(flat.slice(i * dim, (i + 1) * dim));
    tagsOf.push(...tags);
    probs.hair.push(...p.hair);
    probs.eyes.push(...p.eyes);
    o.onProgress?.('find', k + 1, batches);
  }

  // 2. Per value: covariance of z with the classifier's belief beyond what the tags explain.
  const found: LatentDirection[] = [];
  for (const attribute of ATTRIBUTES) {
    const values = voc[attribute];
    const mean = new Map<string, { sum: Float64Array; n: number }>();
    tagsOf.forEach((t, i) => {
      const m = mean.get(t.text) ?? { sum: new Float64Array(values.length), n: 0 };
      probs[attribute][i]!.forEach((p, j) => (m.sum[j]! += p));
      m.n++;
      mean.set(t.text, m);
    });
    values.forEach((value, j) => {
      const d = new Float64Array(dim);
      tagsOf.forEach((t, i) => {
        const m = mean.get(t.text)!;
        const r = probs[attribute][i]![j]! - m.sum[j]! / m.n;
        const z = zs[i]!;
        for (let c = 0; c < dim; c++) d[c]! += z[c]! * r;
      });
      const norm = Math.hypot(...d);
      if (!(norm > 0)) return; // a colour the classifier never wavers on gives no direction
      found.push({
        name: `${NOISE_PREFIX}${attribute}:${value}`,
        attribute,
        value,
        vector: Array.from(d, (x) => x / norm),
      });
    });
  }

  // 3. Measure on fresh latents: at each strength, how often the direction's value is read where the
  // tags ask for another, and how often the other attribute reads as at strength 0.
  const measuredAt = strengths.includes(0) ? strengths : [...strengths, 0].sort((a, b) => a - b);
  const blends = ATTRIBUTES.flatMap((attribute) =>
    voc[attribute].map((value) => ({ name: `${attribute}:${value}`, attribute, value })),
  );
  const measured = measure(
    pipe,
    classifier,
    combos,
    [...found, ...blends],
    [measuredAt, BLEND_STRENGTHS],
    measureSamples,
    seed + 1,
    o.onProgress,
  );
  return {
    format: DIRECTIONS_FORMAT,
    model: pipe.source,
    noiseDim: dim,
    strengths: { min: strengths[0]!, max: strengths.at(-1)! },
    method: { samples, classifier: classifier.source, seed },
    directions: found.map((d, i) => ({ ...d, measured: measured[i]! })),
    blends: blends.map((b, i) => ({ ...b, measured: measured[found.length + i]! })),
    truncation: measureTruncation(pipe, classifier, combos, measureSamples, seed + 2),
  };
}

/** The ψ the truncation trick is measured at. */
const PSI = [1, 0.8, 0.6, 0.4];

/**
 * The truncation trick, z·ψ, at each ψ: both colours right (the classifier), and the variety left
 * among faces that share their tags and differ in noise: the mean per-pixel standard deviation over
 * 8 faces per tag pair, on [-1, 1] pixels.
 */
function measureTruncation(
  pipe: Pipe,
  classifier: LoadedAttributeClassifier,
  combos: Combo[],
  n: number,
  seed: number,
): TruncationEffect[] {
  const perPair = 8;
  const pairs = Math.max(1, Math.floor(n / perPair));
  const rng = Prng.derive(seed, 0);
  const tags = Array.from({ length: pairs }, () => combos[rng.int(combos.length)]!).flatMap((c) =>
    new Array<Combo>(perPair).fill(c),
  );
  using z0 = randn([tags.length, pipe.noiseDim], { generator: new Generator(seed) });
  using z = z0.to(pipe.device);
  return PSI.map((psi) => {
    using images = pipe.generateFrom(
      z,
      tags.map((t) => t.text),
      { psi },
    );
    const got = classifier.classify(images);
    const both = tags.filter((t, i) => got.hair[i] === t.hair && got.eyes[i] === t.eyes).length / tags.length;
    const [, c, h, w] = images.shape as [number, number, number, number];
    using grouped = images.reshape(pairs, perPair, c, h, w);
    using spread = grouped.std(1);
    using mean = spread.mean();
    return { psi, both, pixelStd: mean.item() };
  });
}

/** Strengths the tag blends are measured at (0 is the baseline). */
const BLEND_STRENGTHS = [0, 0.25, 0.5, 0.75, 1];

type Item = { name: string; attribute: string; value: string; vector?: number[] };

/** Per item, per strength: noise items at strengths[0], tag blends at strengths[1]. */
function measure(
  pipe: Pipe,
  classifier: LoadedAttributeClassifier,
  combos: Combo[],
  items: Item[],
  [noiseStrengths, blendStrengths]: [number[], number[]],
  n: number,
  seed: number,
  onProgress: FindDirectionsOptions['onProgress'],
): DirectionEffect[][] {
  const dim = pipe.noiseDim;
  const batches = Math.ceil(n / BATCH);
  const strengthsOf = (d: Item): number[] => (d.vector !== undefined ? noiseStrengths : blendStrengths);
  const moving = items.reduce((a, d) => a + strengthsOf(d).filter((s) => s !== 0).length, 0);
  const total = batches * (1 + moving);
  let done = 0;
  const read = (z: Tensor, tags: Combo[], edit?: LatentEdit): { hair: string[]; eyes: string[] } => {
    using zd = z.to(pipe.device);
    using images = pipe.generateFrom(
      zd,
      tags.map((t) => t.text),
      edit,
    );
    onProgress?.('measure', ++done, total);
    return classifier.classify(images);
  };
  const counts = items.map((d) => strengthsOf(d).map(() => ({ target: 0, asked: 0, kept: 0, n: 0 })));
  for (let k = 0; k < batches; k++) {
    const size = Math.min(BATCH, n - k * BATCH);
    const { z, tags } = batchOf(pipe, combos, seed, k, size);
    using z0 = z;
    const base = read(z0, tags);
    items.forEach((d, di) => {
      const other: Attribute = d.attribute === 'hair' ? 'eyes' : 'hair';
      strengthsOf(d).forEach((s, si) => {
        let got = base;
        if (s !== 0 && d.vector !== undefined) {
          using step = tensor(
            Float32Array.from(d.vector, (x) => x * s),
            { shape: [1, dim] },
          );
          using moved = z0.add(step);
          got = read(moved, tags);
        } else if (s !== 0) got = read(z0, tags, { directions: { [d.name]: s } });
        const c = counts[di]![si]!;
        for (let i = 0; i < size; i++) {
          const asked = tags[i]![d.attribute as Attribute];
          if (asked !== d.value) {
            c.asked++;
            c.target += Number(got[d.attribute as Attribute][i] === d.value);
          }
          c.kept += Number(got[other][i] === base[other][i]);
          c.n++;
        }
      });
    });
  }
  return counts.map((row, di) =>
    row.map((c, si) => ({
      strength: strengthsOf(items[di]!)[si]!,
      target: c.asked > 0 ? c.target / c.asked : 0,
      othersKept: c.kept / c.n,
    })),
  );
}
