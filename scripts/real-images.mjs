// Writes the Real-or-Fake game's real images: N held-out (test split) images of a prepared cache,
// centre-cropped to the models' 64×64, as PNGs under assets/real/<name>/.
// Usage: node scripts/real-images.mjs <cache> <name> [N=32]
import fs from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';

import { CacheReader } from '../dist/src/data/index.js';

const [cache, name, nArg = '32'] = process.argv.slice(2);
if (cache === undefined || name === undefined) {
  console.error('usage: node scripts/real-images.mjs <cache> <name> [N]');
  process.exit(2);
}
const reader = CacheReader.open(cache);
const side = reader.storedSide(64);
const test = reader.indices('test');
const n = Math.min(Number(nArg), test.length);
const out = path.join('assets/real', name);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const buf = new Uint8Array(side * side * 3);
for (let k = 0; k < n; k++) {
  // Evenly spaced through the split, so every class has a chance to appear.
  const i = test[Math.floor((k * test.length) / n)];
  reader.readImage(64, i, buf);
  const off = Math.floor((side - 64) / 2);
  await sharp(Buffer.from(buf), { raw: { width: side, height: side, channels: 3 } })
    .extract({ left: off, top: off, width: 64, height: 64 })
    .png({ compressionLevel: 9 })
    .toFile(path.join(out, `${String(k).padStart(3, '0')}.png`));
}
reader.close();
console.log(`${n} images of ${cache} (test split) → ${out}`);
