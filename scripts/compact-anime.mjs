#!/usr/bin/env node
// A compact copy of an anime-faces folder (HW3-2 layout: images/N.jpg + tags.csv) for carrying to
// the GPU machine (64 MiB per call, docs/gpu.md): every face is re-encoded as WebP at the side
// `prepare` stores for 64 px models (64: the faces already are), tags.csv is copied as it is, so
// `prepare` on the copy finds the same records (images are matched by file stem) and the same split.
// Then tar it (WebP does not compress further: no xz).
//   node scripts/compact-anime.mjs <anime-faces-dir> <out-dir> [--side 64] [--quality 85]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';

import { compactOptions } from './compact-options.mjs';

const { src, out, side, quality } = compactOptions(
  'node scripts/compact-anime.mjs <anime-faces-dir> <out-dir> [--side 64] [--quality 85]',
  { side: 64, quality: 85 },
);
const images = path.join(src, 'images');
if (!fs.existsSync(path.join(src, 'tags.csv')) || !fs.existsSync(images)) {
  console.error(`${src} is not an anime-faces folder in the HW3-2 layout (images/ and tags.csv)`);
  process.exit(1);
}
fs.mkdirSync(path.join(out, 'images'), { recursive: true });
fs.copyFileSync(path.join(src, 'tags.csv'), path.join(out, 'tags.csv'));

const files = fs.readdirSync(images).filter((f) => /\.(jpe?g|png|webp|bmp)$/i.test(f));
let inBytes = 0;
let outBytes = 0;
let next = 0;
let failed = 0;
const started = Date.now();
// sharp works on libuv's threads: a few files in flight keep every core busy.
async function worker() {
  for (;;) {
    const i = next++;
    if (i >= files.length) return;
    const f = files[i];
    const from = path.join(images, f);
    const to = path.join(out, 'images', `${path.parse(f).name}.webp`);
    try {
      inBytes += fs.statSync(from).size;
      const buf = await sharp(from).resize(side, side, { fit: 'cover' }).webp({ quality }).toBuffer();
      fs.writeFileSync(to, buf);
      outBytes += buf.length;
    } catch (e) {
      // An unreadable file stays out; prepare reports it as missing, as it would the original.
      failed++;
      console.error(`${f}: ${e.message}`);
    }
    if (i % 5000 === 0) process.stderr.write(`${i}/${files.length}\n`);
  }
}
await Promise.all(Array.from({ length: Math.max(2, os.availableParallelism()) }, worker));
const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(
  `${files.length - failed} faces (${failed} unreadable): ${mib(inBytes)} MiB → ${mib(outBytes)} MiB WebP q${quality} at ${side} px in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
