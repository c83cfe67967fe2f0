#!/usr/bin/env node
// How an attribute classifier reads the real faces of a prepared cache's split: hair, eye and both
// accuracies. docs/gpu.md uses it to check that a compact copy of the anime faces keeps their colours.
//   node scripts/classifier-accuracy.mjs <classifier run or checkpoint> <cache> [<cache> ...] [--split val]
// Needs `npm run build`.
import { parseArgs } from 'node:util';

import { CacheReader, DataLoader } from '../dist/src/data/index.js';
import { loadAttributeClassifier } from '../dist/src/eval/attribute-accuracy.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { split: { type: 'string', default: 'val' } },
});
if (positionals.length < 2) {
  console.error('usage: node scripts/classifier-accuracy.mjs <classifier> <cache> [<cache> ...] [--split val]');
  process.exit(2);
}
const [classifierPath, ...caches] = positionals;
const classifier = loadAttributeClassifier(classifierPath);
try {
  for (const dir of caches) {
    const reader = CacheReader.open(dir);
    const side = reader.manifest.resolutions[0];
    const loader = new DataLoader(reader, {
      batchSize: 64,
      split: values.split,
      augment: false,
      dropLast: false,
      workers: 0,
    });
    let hair = 0;
    let eyes = 0;
    let both = 0;
    let n = 0;
    for await (const b of loader.epoch(0)) {
      const got = classifier.classify(b.images.get(side));
      b.attributes.forEach((a, i) => {
        const h = got.hair[i] === a.hair;
        const e = got.eyes[i] === a.eyes;
        hair += Number(h);
        eyes += Number(e);
        both += Number(h && e);
        n++;
      });
      b.dispose();
    }
    await loader.close();
    const pct = (k) => `${((100 * k) / n).toFixed(1)} %`;
    console.log(`${dir} (${values.split}, ${n} faces): hair ${pct(hair)}, eyes ${pct(eyes)}, both ${pct(both)}`);
  }
} finally {
  classifier.dispose();
}
