#!/usr/bin/env node
// Compares two prepared caches (creativeai prepare) of the same dataset: whether their records agree
// (id, class, captions, split) and, per stored size, the mean absolute pixel difference (0..255).
// docs/gpu.md uses it to check a compact CUB copy against the original:
//   node scripts/compare-caches.mjs data/cub /tmp/cache-cub-compact
import fs from 'node:fs';
import path from 'node:path';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node scripts/compare-caches.mjs <cache-a> <cache-b>');
  process.exit(2);
}
const records = (dir) =>
  fs
    .readFileSync(path.join(dir, 'records.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l);
      // A compact copy may store the same image in another format (anime faces as WebP): ids are
      // compared without their extension.
      const id = r.id.replace(/\.[a-z0-9]+$/i, '');
      return JSON.stringify({ id, classId: r.classId, captions: r.captions, attributes: r.attributes, split: r.split });
    });
const ra = records(a);
const rb = records(b);
const same = ra.length === rb.length && ra.every((r, i) => r === rb[i]);
console.log(
  `records: ${ra.length} and ${rb.length}; id (without extension), class, captions, attributes and split ${same ? 'identical' : 'DIFFER'}`,
);
const sides = [...new Set(fs.readdirSync(a).flatMap((f) => /^img(\d+)-\d+\.u8$/.exec(f)?.[1] ?? []))].map(Number);
for (const side of sides.sort((x, y) => x - y)) {
  let sum = 0;
  let n = 0;
  for (let s = 0; ; s++) {
    const name = `img${side}-${String(s).padStart(5, '0')}.u8`;
    if (!fs.existsSync(path.join(a, name))) break;
    const x = fs.readFileSync(path.join(a, name));
    const y = fs.readFileSync(path.join(b, name));
    if (x.length !== y.length) throw new Error(`${name}: ${x.length} and ${y.length} bytes`);
    for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
    n += x.length;
  }
  console.log(`${side} px: mean |difference| ${(sum / n).toFixed(2)} of 255`);
}
process.exitCode = same ? 0 : 1;
