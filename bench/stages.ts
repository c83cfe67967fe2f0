// `npm run bench:stages`: what one stage of a stacked model costs when it is asked for alone
// (`generate({ stage })`, `eval --stage`: the tree stops at that stage) against drawing the whole
// tree and keeping that stage, as every stage request did before. Per bundled stacked model and
// stage: the median of --repeats batches of --batch images, both ways, alternating, and the ratio.
// Options: --models a,b (default: every bundled model, by its card, with more than one stage), --dir DIR
//   (default models), --batch N (default 8), --repeats N (default 3), --threads N (default 2).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { backendInfo, setNumThreads } from '../src/engine/index.js';
import { TextToImagePipeline } from '../src/inference/pipeline.js';
import { median } from './median.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' },
      dir: { type: 'string', default: 'models' },
      batch: { type: 'string', default: '8' },
      repeats: { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
    },
    strict: true,
  });
  const [batch, repeats, threads] = [values.batch, values.repeats, values.threads].map(Number) as [
    number,
    number,
    number,
  ];
  if (!Number.isInteger(batch) || batch < 1) throw new TypeError('--batch must be a positive integer');
  if (!Number.isInteger(repeats) || repeats < 1) throw new TypeError('--repeats must be a positive integer');
  if (!Number.isInteger(threads) || threads < 1) throw new TypeError('--threads must be a positive integer');
  setNumThreads(threads);
  const names =
    values.models?.split(',') ??
    fs
      .readdirSync(values.dir)
      .filter((f) => f.endsWith('.card.json')) // models, not their side files (encoders)
      .map((f) => f.replace(/\.card\.json$/, ''));
  console.log(
    `bench:stages: libtorch ${backendInfo().torch}, cpu, ${threads} thread(s), batch ${batch}, ${repeats} repeats`,
  );
  const caption = 'this bird is red with white and has a very short beak';
  const captions = Array<string>(batch).fill(caption);
  for (const name of names) {
    const p = TextToImagePipeline.load(path.join(values.dir, `${name}.safetensors`));
    try {
      if (p.stages.length < 2) {
        if (values.models !== undefined) console.log(`${name}: one stage (${p.resolution} px), nothing to compare`);
        continue;
      }
      for (const stage of p.stages.slice(0, -1)) {
        const alone: number[] = [];
        const whole: number[] = [];
        // r = -1 warms up: oneDNN picks its kernels on first use.
        for (let r = -1; r < repeats; r++) {
          let t = performance.now();
          p.generate(captions, { seed: r + 2, stage }).dispose();
          const a = performance.now() - t;
          t = performance.now();
          using z = p.noise(batch, r + 2);
          p.generateStagesFrom(z, captions).forEach((x) => x.dispose());
          const w = performance.now() - t;
          if (r < 0) continue;
          alone.push(a);
          whole.push(w);
        }
        const [a, w] = [median(alone), median(whole)];
        console.log(
          `${name.padEnd(20)} stage ${String(stage).padStart(3)} px of ${p.stages.join('/')}: alone ${a.toFixed(0).padStart(6)} ms, ` +
            `whole tree ${w.toFixed(0).padStart(6)} ms: ${(w / a).toFixed(1)}× faster`,
        );
      }
    } finally {
      p.dispose();
    }
  }
}

main();
