#!/usr/bin/env node
// A compact copy of a CUB-200-2011 folder for carrying to the GPU machine (64 MiB per call, docs/gpu.md):
// every photo is cut to the region `creativeai prepare` keeps (StackGAN's 1.5 × bounding-box square,
// clipped to the image), resized to the side prepare resizes it to (304 px for 256 px models: 256 ×
// 76/64), and stored as JPEG; bounding_boxes.txt gets a box whose crop is the whole new image.
// Captions, classes and the split are copied as they are, so `prepare` on the copy gives the same
// records, splits and crops as on the original, up to JPEG re-encoding. Then tar.xz it.
//   node scripts/compact-cub.mjs <cub-dir> <out-dir> [--side 304] [--quality 90] [--eval-quality Q --cache <dir>]
// --eval-quality stores the photos that <dir>/records.jsonl (a cache prepared from the original) puts
// outside the training split at quality Q: a training call never reads them, but they must be there,
// since the class-disjoint split is drawn over all classes present (docs/gpu.md).
// Needs `npm run build` (it uses the cache's own crop rule).
import fs from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';

import { bboxCrop } from '../dist/src/data/cache/prepare.js';
import { compactOptions } from './compact-options.mjs';

const { src, out, side, quality, evalQuality, cache } = compactOptions(
  'node scripts/compact-cub.mjs <cub-dir> <out-dir> [--side 304] [--quality 90] [--eval-quality Q --cache <dir>]',
  { side: 304, quality: 90 },
);
const meta = path.join(src, 'CUB_200_2011');
if (!fs.existsSync(path.join(meta, 'images.txt'))) {
  console.error(`${src} is not a CUB folder: ${meta}/images.txt is missing`);
  process.exit(1);
}

const lines = (f) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
const images = new Map(lines(path.join(meta, 'images.txt')).map(([id, rel]) => [id, rel]));
const boxes = new Map(lines(path.join(meta, 'bounding_boxes.txt')).map(([id, ...b]) => [id, b.map(Number)]));

// A box whose StackGAN crop is the whole side × side image: r = ⌊0.75·w⌋ ≥ side/2 around the centre.
const w = Math.ceil((2 * Math.ceil(side / 2)) / 1.5) + 1;
const start = Math.floor(side / 2 - w / 2);
const fullBox = [start, start, w, w];
const check = bboxCrop(fullBox, side, side);
if (check.left !== 0 || check.top !== 0 || check.width !== side || check.height !== side)
  throw new Error(`internal: the full-image box ${fullBox} crops ${JSON.stringify(check)}`);

const tmp = `${out}.partial`;
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(tmp, 'CUB_200_2011', 'images'), { recursive: true });
for (const f of fs.readdirSync(meta))
  if (f.endsWith('.txt') && f !== 'bounding_boxes.txt')
    fs.copyFileSync(path.join(meta, f), path.join(tmp, 'CUB_200_2011', f));
for (const d of ['text_c10', 'split'])
  if (fs.existsSync(path.join(src, d))) fs.cpSync(path.join(src, d), path.join(tmp, d), { recursive: true });

// The records outside the training split ("<class>/<file>" ids), when their photos are stored lower.
const notTrain = new Set();
if (evalQuality !== null) {
  const records = path.join(cache, 'records.jsonl');
  if (!fs.existsSync(records)) {
    console.error(`--eval-quality needs --cache <dir> with records.jsonl: ${records} is missing`);
    process.exit(1);
  }
  for (const line of fs.readFileSync(records, 'utf8').split('\n'))
    if (line.trim()) {
      const r = JSON.parse(line);
      if (r.split !== 'train') notTrain.add(r.id);
    }
}

const newBoxes = [];
let done = 0;
let bytesIn = 0;
let bytesOut = 0;
const started = Date.now();
for (const [id, rel] of images) {
  const file = path.join(meta, 'images', rel);
  if (!fs.existsSync(file)) continue; // a partial copy: prepare counts it missing either way
  const target = path.join(tmp, 'CUB_200_2011', 'images', rel);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  let img = sharp(file).rotate();
  const m = await img.metadata();
  // EXIF-rotated images swap sides, as prepare reads them.
  const [width, height] = (m.orientation ?? 1) >= 5 ? [m.height, m.width] : [m.width, m.height];
  const box = boxes.get(id);
  if (box && box.length >= 4 && box.every(Number.isFinite)) {
    img = img.extract(bboxCrop(box.slice(0, 4), width, height)).resize(side, side, { fit: 'fill' });
    newBoxes.push(`${id} ${fullBox.join(' ')}`);
  } else {
    // No box: prepare takes a centred square, which resizing keeps centred.
    const scale = side / Math.min(width, height);
    img = img.resize(Math.max(side, Math.round(width * scale)), Math.max(side, Math.round(height * scale)));
  }
  await img.jpeg({ quality: notTrain.has(rel) ? evalQuality : quality, mozjpeg: true }).toFile(target);
  bytesIn += fs.statSync(file).size;
  bytesOut += fs.statSync(target).size;
  if (++done % 500 === 0) console.error(`compact-cub: ${done}/${images.size} images`);
}
fs.writeFileSync(path.join(tmp, 'CUB_200_2011', 'bounding_boxes.txt'), `${newBoxes.join('\n')}\n`);
fs.renameSync(tmp, out);
console.error(
  `compact-cub: ${done} images, ${(bytesIn / 2 ** 20).toFixed(1)} MiB → ${(bytesOut / 2 ** 20).toFixed(1)} MiB (${side} px, JPEG ${quality}${evalQuality !== null ? `, ${notTrain.size} outside the training split at ${evalQuality}` : ''}) in ${((Date.now() - started) / 1000).toFixed(0)} s → ${out}`,
);
