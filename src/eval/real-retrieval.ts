// What the DAMSM encoders make of *real* held-out birds: image→caption and caption→image retrieval
// over the whole held-out split, and R-precision with real images in place of generated ones (the
// same captions, the same mismatched pool, the same draws as a generator's score). A generator's
// R-precision is read against this figure: it is what a perfect generator would score through
// these encoders.
import { cat, noGrad, tensor, tidy, type Device, type Tensor } from '../engine/index.js';
import { CacheReader, type CacheRecord, type SplitName } from '../data/index.js';
import type { DamsmConditioner } from '../models/conditioning.js';
import type { DamsmImageEncoder } from '../models/damsm/index.js';
import { Prng } from '../util/prng.js';
import { readReal } from './real-images.js';
import { rPrecision, type RPrecisionResult } from './r-precision.js';

/** Fraction of queries whose relevant item ranks in the first 1, 5 and 10. */
export interface Recall {
  r1: number;
  r5: number;
  r10: number;
}

export interface EncoderEvaluation {
  /** The DAMSM scored (run@step/global). */
  encoders: string;
  dataset: string;
  splits: SplitName[];
  seed: number;
  /** Side the real images were read at. */
  side: number;
  images: number;
  /** Every caption of every held-out image: the retrieval gallery. */
  captions: number;
  /** Each image against all held-out captions: a hit when one of its own ranks in the first K. */
  imageToText: Recall;
  /** Each caption against all held-out images: a hit when its own image ranks in the first K. */
  textToImage: Recall;
  /** R-precision as generators are scored, with the real image of each caption's record. */
  rprec: RPrecisionResult & { label: string };
  seconds: number;
}

export interface DamsmEncoders {
  conditioner: DamsmConditioner;
  image: DamsmImageEncoder;
  name: string;
}

/**
 * The captions a generator is scored on: held-out records in a seeded order (caches list them by
 * class), cycled through, then each record's captions in turn, so the conditions follow the split's
 * class distribution. `record[i]` is the position in `held` of sample i's record.
 */
export function heldOutCaptions(
  held: readonly CacheRecord[],
  n: number,
  seed: number,
): { captions: string[]; classes: string[]; record: number[] } {
  const order = Prng.derive(seed, 0xca).permutation(held.length);
  const captions: string[] = [];
  const classes: string[] = [];
  const record: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = order[i % held.length]!;
    const r = held[k]!;
    captions.push(r.captions[Math.floor(i / held.length) % r.captions.length]!);
    classes.push(r.classId);
    record.push(k);
  }
  return { captions, classes, record };
}

/** The mismatched-caption pool of R-precision (AttnGAN's protocol): two captions of each held-out record. */
export function mismatchPool(held: readonly CacheRecord[]): { captions: string[]; classes: string[] } {
  const pool = held.flatMap((r) => r.captions.slice(0, 2).map((c) => ({ c, cls: r.classId })));
  return { captions: pool.map((p) => p.c), classes: pool.map((p) => p.cls) };
}

/** Sentence features of many captions, 256 at a time. */
export function encodeCaptions(d: DamsmEncoders, captions: readonly string[], device: Device): Tensor {
  const parts: Tensor[] = [];
  try {
    for (let i = 0; i < captions.length; i += 256)
      parts.push(noGrad(() => d.conditioner.encode({ captions: captions.slice(i, i + 256) }, device)));
    return cat(parts, 0);
  } finally {
    for (const p of parts) p.dispose();
  }
}

/**
 * Recall at 1, 5 and 10 both ways from cosine similarities of images [H, D] and captions [C, D],
 * `owner[c]` the image row of caption c. Ties count against the query (a caption as close as the
 * right one outranks it), as R-precision counts them.
 */
export function retrievalRecall(
  images: Tensor,
  captions: Tensor,
  owner: readonly number[],
): {
  imageToText: Recall;
  textToImage: Recall;
} {
  const h = images.size(0);
  const c = captions.size(0);
  if (owner.length !== c) throw new Error(`retrievalRecall: ${c} captions but ${owner.length} owners`);
  const sim = noGrad(() =>
    tidy(() => {
      const unit = (t: Tensor): Tensor => t.float().div(t.float().norm(2, 1, true).clamp(1e-8));
      return unit(images).matmul(unit(captions).t()).toFloat32Array();
    }),
  );
  const hits = (ranks: number[]): Recall => {
    const at = (k: number): number => ranks.filter((r) => r < k).length / ranks.length;
    return { r1: at(1), r5: at(5), r10: at(10) };
  };
  // Image → text: the rank of its best own caption among all captions.
  const i2t: number[] = [];
  for (let i = 0; i < h; i++) {
    const row = sim.subarray(i * c, (i + 1) * c);
    let best = -Infinity;
    for (let j = 0; j < c; j++) if (owner[j] === i && row[j]! > best) best = row[j]!;
    let rank = 0;
    for (let j = 0; j < c; j++) if (owner[j] !== i && row[j]! >= best) rank++;
    i2t.push(rank);
  }
  // Text → image: the rank of its own image among all images.
  const t2i: number[] = [];
  for (let j = 0; j < c; j++) {
    const own = sim[owner[j]! * c + j]!;
    let rank = 0;
    for (let i = 0; i < h; i++) if (i !== owner[j] && sim[i * c + j]! >= own) rank++;
    t2i.push(rank);
  }
  return { imageToText: hits(i2t), textToImage: hits(t2i) };
}

/** Retrieval and R-precision of the real images of `splits` through the DAMSM encoders `d`. */
export async function evaluateEncoders(
  d: DamsmEncoders,
  o: {
    dataset: string;
    splits: SplitName[];
    device: Device;
    /** Generated samples a generator is scored on (R-precision uses the same captions). Default 1000. */
    n?: number;
    seed?: number;
    side?: number;
    batchSize?: number;
    /**
     * Sentence features a generator's evaluation already computed with `encodeCaptions` for the same
     * held-out records: the n scored captions and the mismatch pool (then they are not encoded twice).
     */
    encoded?: { captions: Tensor; pool: Tensor };
  },
): Promise<EncoderEvaluation> {
  const started = Date.now();
  const seed = o.seed ?? 0;
  const n = o.n ?? 1000;
  const reader = CacheReader.open(o.dataset);
  const all = reader.records;
  const side = o.side ?? Math.min(...reader.manifest.resolutions);
  reader.close();
  const positions = new Map<number, number>(); // record index in the cache → position in `held`
  const held: CacheRecord[] = [];
  all.forEach((r, i) => {
    if (o.splits.includes(r.split)) {
      positions.set(i, held.length);
      held.push(r);
    }
  });
  if (held.length < 2) throw new Error(`${o.dataset} has ${held.length} record(s) in ${o.splits.join(', ')}`);

  // Real images in cache order, one global feature row per held-out record.
  const rows = new Array<Tensor | undefined>(held.length);
  try {
    for (const split of o.splits)
      await readReal(o.dataset, split, o.device, side, o.batchSize ?? 50, { limit: Infinity }, (b, images) => {
        const f = noGrad(() => d.image.forward(images));
        f.regions.dispose();
        b.indices.forEach((idx, k) => {
          rows[positions.get(idx)!] = f.global.narrow(0, k, 1);
        });
        f.global.dispose();
      });
    const missing = rows.findIndex((r) => r === undefined);
    if (missing >= 0) throw new Error(`no image was read for ${held[missing]!.id}`);
    using images = cat(rows as Tensor[], 0);

    const gallery = held.flatMap((r, k) => r.captions.map(() => k));
    using galleryF = encodeCaptions(
      d,
      held.flatMap((r) => r.captions),
      o.device,
    );
    const recall = retrievalRecall(images, galleryF, gallery);

    const scored = heldOutCaptions(held, n, seed);
    const pool = mismatchPool(held);
    if (
      o.encoded !== undefined &&
      (o.encoded.captions.size(0) !== n || o.encoded.pool.size(0) !== pool.captions.length)
    )
      throw new Error(
        `evaluateEncoders: ${o.encoded.captions.size(0)} caption and ${o.encoded.pool.size(0)} pool features given, ` +
          `${n} and ${pool.captions.length} expected`,
      );
    using txt = o.encoded?.captions.alias() ?? encodeCaptions(d, scored.captions, o.device);
    using poolF = o.encoded?.pool.alias() ?? encodeCaptions(d, pool.captions, o.device);
    using index = tensor(BigInt64Array.from(scored.record, BigInt), { shape: [n], device: o.device });
    using picked = images.indexSelect(0, index);
    const rprec = rPrecision(picked, txt, poolF, {
      candidates: Math.min(100, pool.captions.length),
      splits: 10,
      seed,
      poolClasses: pool.classes,
      sampleClasses: scored.classes,
    });
    return {
      encoders: d.name,
      dataset: o.dataset,
      splits: o.splits,
      seed,
      side,
      images: held.length,
      captions: gallery.length,
      ...recall,
      rprec: { label: `R-precision of real images (DAMSM: ${d.name})`, ...rprec },
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const r of rows) r?.dispose();
  }
}
