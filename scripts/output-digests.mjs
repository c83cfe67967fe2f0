#!/usr/bin/env node
// Digests of what the bundled models generate for fixed texts and seeds (images and an
// interpolation, fp32 and the machine's fastest mode): run before and after a refactor that must
// not change behaviour, and compare. `node scripts/output-digests.mjs [model ...]` (after npm run
// build); prints one JSON line per model and mode. Bit-exact on one machine; another CPU may
// round differently in its fastest mode.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The pipeline moved from train/ to inference/ (issue 16): either, so an older checkout's build works too.
const pipelineFile = ['dist/src/inference/pipeline.js', 'dist/src/train/pipeline.js']
  .map((f) => path.join(root, f))
  .find((f) => fs.existsSync(f));
if (pipelineFile === undefined) throw new Error('no compiled pipeline: run npm run build first');
const { TextToImagePipeline } = await import(pipelineFile);

const digest = (t) => createHash('sha256').update(Buffer.from(t.toTypedArray().buffer)).digest('hex').slice(0, 16);
const models =
  process.argv.length > 2
    ? process.argv.slice(2)
    : fs
        .readdirSync(path.join(root, 'models'))
        // A model's latent encoder (<name>.encoder.safetensors) sits beside it: not a generator.
        .filter((f) => f.endsWith('.safetensors') && !f.endsWith('.encoder.safetensors'))
        .sort()
        .map((f) => path.join('models', f));

for (const model of models) {
  for (const precision of ['fp32', 'auto']) {
    const p = TextToImagePipeline.load(path.resolve(root, model), 'cpu', { precision });
    const texts = p.model.includes('tag')
      ? ['blue hair red eyes', 'green hair blue eyes']
      : ['this bird is red with white and has a very short beak', 'a small yellow bird'];
    const images = p.generate(texts, { seed: 7 });
    const walk = p.interpolate(texts[0], texts[1], 3, { seed: 3, truncation: 0.8 });
    console.log(
      JSON.stringify({ model, precision, mode: p.precision, images: digest(images), interpolation: digest(walk) }),
    );
    images.dispose();
    walk.dispose();
    p.dispose();
  }
}
