// `creativeai prepare`: decode every image once, crop (CUB bounding boxes as StackGAN/AttnGAN
// do), resize to each resolution's stored size and write uint8 shards with a manifest. The cache
// is written into a temporary folder and renamed into place, so a crash never leaves half of one.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import sharp, { type Sharp } from 'sharp';

import { Progress } from '../../util/progress.js';
import { assignSplit, defaultSplit } from '../split.js';
import type { DataProblem, DatasetSource, Record as DataRecord } from '../types.js';
import { CACHE_FORMAT, shardName, storedSize, type CacheRecord, type Manifest } from './format.js';

export interface PrepareOptions {
  /** Output folder (created; must not exist unless overwrite). */
  out: string;
  /** Model resolutions to serve; default [64]. */
  resolutions?: number[];
  /** Stored side ÷ resolution for random crops; default 76/64 for captions, 1 for tags. */
  cropMargin?: number;
  /** 'layout' | 'classes:<train>,<val>' | 'random:<train>,<val>'; default per dataset. */
  split?: string;
  seed?: number;
  shardSize?: number;
  overwrite?: boolean;
  /** Images decoded at once. */
  concurrency?: number;
  /** Progress bar (default: on). */
  progress?: boolean;
  /** Only the first N records (quick trials). */
  limit?: number;
}

export interface PrepareResult {
  manifest: Manifest;
  dir: string;
  seconds: number;
}

/** StackGAN's crop: a square of 1.5 × the longer bbox side around its centre, clipped to the image. */
export function bboxCrop(
  bbox: [number, number, number, number],
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } {
  const [x, y, w, h] = bbox;
  const r = Math.floor(Math.max(w, h) * 0.75);
  const cx = Math.floor((2 * x + w) / 2);
  const cy = Math.floor((2 * y + h) / 2);
  const x1 = Math.max(0, cx - r);
  const y1 = Math.max(0, cy - r);
  const x2 = Math.min(width, cx + r);
  const y2 = Math.min(height, cy + r);
  return { left: x1, top: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1) };
}

async function toRgb(pipeline: Sharp, side: number): Promise<Buffer> {
  const { data, info } = await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.width !== side || info.height !== side) throw new Error(`resized to ${info.width}x${info.height}`);
  if (info.channels === 3) return data;
  // Drop alpha or widen grey: always 3 channels out.
  const out = Buffer.alloc(side * side * 3);
  for (let p = 0; p < side * side; p++)
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * info.channels + Math.min(c, info.channels - 1)]!;
  return out;
}

/** Decodes one record into RGB bytes at every stored side (largest first, the rest from it). */
async function decodeRecord(
  rec: DataRecord,
  sides: number[],
): Promise<{ pixels: Map<number, Buffer>; digest: Buffer }> {
  const pixels = new Map<number, Buffer>();
  const hash = createHash('sha256');
  if (rec.image.kind === 'render') {
    for (const s of sides) {
      const px = Buffer.from(rec.image.render(s));
      if (px.length !== s * s * 3) throw new Error(`render(${s}) gave ${px.length} bytes`);
      pixels.set(s, px);
      hash.update(px);
    }
    return { pixels, digest: hash.digest() };
  }
  const file = await fs.promises.readFile(rec.image.path);
  hash.update(file);
  const largest = Math.max(...sides);
  let img = sharp(file, { failOn: 'error' }).rotate();
  const meta = await img.metadata();
  if (!meta.width || !meta.height) throw new Error('no image dimensions');
  // EXIF-rotated images swap sides.
  const [w, h] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
  if (rec.bbox) {
    img = img.extract(bboxCrop(rec.bbox, w, h)).resize(largest, largest, { fit: 'fill' });
  } else {
    // No box: shorter side to the stored size, then the centre square (Resize + CenterCrop).
    img = img.resize(largest, largest, { fit: 'cover', position: 'centre' });
  }
  const top = await toRgb(img.removeAlpha(), largest);
  pixels.set(largest, top);
  for (const s of sides) {
    if (s === largest) continue;
    const small = sharp(top, { raw: { width: largest, height: largest, channels: 3 } }).resize(s, s, {
      fit: 'fill',
      kernel: 'lanczos3',
    });
    pixels.set(s, await toRgb(small, s));
  }
  return { pixels, digest: hash.digest() };
}

/** Builds the cache for a dataset. */
export async function prepareCache(source: DatasetSource, o: PrepareOptions): Promise<PrepareResult> {
  const started = Date.now();
  const resolutions = [...new Set(o.resolutions ?? [64])].sort((a, b) => a - b);
  for (const r of resolutions)
    if (!Number.isInteger(r) || r < 8 || r > 1024)
      throw new Error(`Resolution must be an integer in 8..1024, got ${r}`);
  const cropMargin = o.cropMargin ?? (source.text === 'tags' ? 1 : 76 / 64);
  if (!(cropMargin >= 1 && cropMargin <= 2)) throw new Error(`cropMargin must be in [1, 2], got ${cropMargin}`);
  const stored = Object.fromEntries(resolutions.map((r) => [String(r), storedSize(r, cropMargin)]));
  const sides = [...new Set(Object.values(stored))];
  const shardSize = o.shardSize ?? 1024;
  const seed = o.seed ?? 0;
  const records = o.limit !== undefined ? source.records.slice(0, o.limit) : source.records;
  if (records.length === 0) throw new Error(`Dataset '${source.name}' has no usable records`);

  const out = path.resolve(o.out);
  if (fs.existsSync(out) && !o.overwrite)
    throw new Error(`${out} already exists: choose another --out or pass --overwrite`);
  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });

  const problems: DataProblem[] = [...source.problems];
  const kept: DataRecord[] = [];
  const checksum = createHash('sha256');
  const shards = new Map<number, { fd: number; k: number; inShard: number; names: string[] }>();
  for (const s of sides) shards.set(s, { fd: -1, k: -1, inShard: shardSize, names: [] });
  const write = (side: number, px: Buffer): void => {
    const sh = shards.get(side)!;
    if (sh.inShard === shardSize) {
      if (sh.fd >= 0) fs.closeSync(sh.fd);
      sh.k++;
      sh.inShard = 0;
      const name = shardName(side, sh.k);
      sh.names.push(name);
      sh.fd = fs.openSync(path.join(tmp, name), 'w');
    }
    fs.writeSync(sh.fd, px);
    sh.inShard++;
  };

  const bar =
    o.progress === false ? null : new Progress({ total: records.length, label: `prepare ${source.name}`, unit: 'img' });
  const concurrency = o.concurrency ?? 4;
  const pending = new Map<number, Awaited<ReturnType<typeof decodeRecord>> | Error>();
  let next = 0;
  let flushed = 0;
  const flush = (): void => {
    while (pending.has(flushed)) {
      const res = pending.get(flushed)!;
      pending.delete(flushed);
      const rec = records[flushed]!;
      if (res instanceof Error) {
        problems.push({
          item: rec.image.kind === 'file' ? rec.image.path : rec.id,
          reason: 'unreadable-image',
          detail: res.message,
        });
      } else {
        for (const s of sides) write(s, res.pixels.get(s)!);
        checksum.update(res.digest).update(rec.id).update(JSON.stringify(rec.captions));
        kept.push(rec);
      }
      flushed++;
      bar?.tick();
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, records.length) }, async () => {
        while (next < records.length) {
          const i = next++;
          try {
            pending.set(i, await decodeRecord(records[i]!, sides));
          } catch (e) {
            pending.set(i, e instanceof Error ? e : new Error(String(e)));
          }
          flush();
        }
      }),
    );
    flush();
  } finally {
    for (const sh of shards.values()) if (sh.fd >= 0) fs.closeSync(sh.fd);
  }
  bar?.finish();
  if (kept.length === 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`No image of '${source.name}' could be decoded (${problems.length} problems)`);
  }

  const items = kept.map((r) => ({ id: r.id, classId: r.classId }));
  const method = o.split ?? source.splitMethod ?? defaultSplit(source.text, items, source.split);
  const splits = assignSplit(items, method, seed, source.split);
  const cacheRecords: CacheRecord[] = kept.map((r, i) => ({
    i,
    id: r.id,
    classId: r.classId,
    captions: r.captions,
    ...(r.attributes ? { attributes: r.attributes } : {}),
    split: splits[i]!,
  }));
  fs.writeFileSync(path.join(tmp, 'records.jsonl'), cacheRecords.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const counts = { train: 0, val: 0, test: 0 };
  for (const s of splits) counts[s]++;
  const byReason: { [reason: string]: number } = {};
  for (const p of problems) byReason[p.reason] = (byReason[p.reason] ?? 0) + 1;
  const manifest: Manifest = {
    format: CACHE_FORMAT,
    dataset: source.name,
    text: source.text,
    ...(source.root ? { root: source.root } : {}),
    sourceChecksum: checksum.digest('hex'),
    createdAt: new Date().toISOString(),
    resolutions,
    stored,
    cropMargin,
    shardSize,
    count: kept.length,
    split: { method, seed, counts },
    shards: Object.fromEntries(resolutions.map((r) => [String(r), shards.get(stored[String(r)]!)!.names])),
    problems: { total: problems.length, byReason, first: problems.slice(0, 20) },
  };
  // The manifest is written last: a folder without one is never a valid cache.
  fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  if (fs.existsSync(out)) fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(tmp, out);
  return { manifest, dir: out, seconds: (Date.now() - started) / 1000 };
}
