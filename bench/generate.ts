// `npm run bench:generate`: image generation latency of the bundled models (models/*.safetensors)
// in each inference mode: fp32, bf16 autocast, bf16 + channels-last, and the mode 'auto' picks here
// (what serve, sample and eval use by default). Per model and mode: one image (the median of
// --repeats requests; the web page's case) and a batch of 16 (img/s: the server's batched case).
// Modes alternate within each repeat so that drift in machine load favours none of them.
// Options: --models a,b (default: every export in --dir), --dir DIR (default models), --repeats N
//   (default 15), --modes fp32,bf16,bf16+cl (default all three), --out FILE (JSON).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { backendInfo, fastestMode, setNumThreads, type MemoryFormat } from '../src/engine/index.js';
import { TextToImagePipeline } from '../src/inference/pipeline.js';
import { median } from './median.js';

interface Mode {
  name: string;
  precision: 'fp32' | 'bf16';
  memoryFormat: MemoryFormat;
}
const MODES: Mode[] = [
  { name: 'fp32', precision: 'fp32', memoryFormat: 'contiguous' },
  { name: 'bf16', precision: 'bf16', memoryFormat: 'contiguous' },
  { name: 'bf16+cl', precision: 'bf16', memoryFormat: 'channelsLast' },
];

function captionFor(model: string): string {
  return model.includes('anime') ? 'blue hair red eyes' : 'this bird is red with white and has a very short beak';
}

function main(): void {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' },
      dir: { type: 'string', default: 'models' },
      repeats: { type: 'string', default: '15' },
      modes: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const repeats = Number(values.repeats);
  if (!Number.isInteger(repeats) || repeats < 3) throw new TypeError('--repeats must be an integer >= 3');
  const files = fs
    .readdirSync(values.dir)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => f.replace(/\.safetensors$/, ''))
    .filter((m) => values.models === undefined || values.models.split(',').includes(m));
  if (files.length === 0) throw new Error(`no models to measure in ${values.dir}`);
  const modes = values.modes?.split(',').map((n) => {
    const m = MODES.find((x) => x.name === n);
    if (!m) throw new TypeError(`--modes: unknown '${n}' (one of ${MODES.map((x) => x.name).join(', ')})`);
    return m;
  }) ?? [...MODES];
  setNumThreads(2);
  const auto = fastestMode('cpu');
  const autoName = `${auto.precision}${auto.memoryFormat === 'channelsLast' ? '+cl' : ''}`;
  console.log(`bench:generate: libtorch ${backendInfo().torch}, cpu, ${repeats} repeats; auto = ${autoName}`);
  const rows: { model: string; side: number; mode: string; oneMs: number; batchImgPerS: number }[] = [];
  for (const model of files) {
    const pipes = modes.map((m) =>
      TextToImagePipeline.load(path.join(values.dir, `${model}.safetensors`), 'cpu', {
        precision: m.precision,
        memoryFormat: m.memoryFormat,
      }),
    );
    const caption = captionFor(model);
    const one: number[][] = modes.map(() => []);
    const batch: number[][] = modes.map(() => []);
    const batchN = 16;
    for (let r = -1; r < repeats; r++) {
      pipes.forEach((p, i) => {
        let t = performance.now();
        p.generate([caption], { seed: r + 1 }).dispose();
        const a = performance.now() - t;
        t = performance.now();
        if (r % 3 === 0 || r < 0) p.generate(Array<string>(batchN).fill(caption), { seed: r + 1 }).dispose();
        const b = performance.now() - t;
        if (r < 0) return; // warm-up: oneDNN picks its kernels on first use
        one[i]!.push(a);
        if (r % 3 === 0) batch[i]!.push(b);
      });
    }
    const side = pipes[0]!.resolution;
    modes.forEach((m, i) => {
      const row = {
        model,
        side,
        mode: m.name,
        oneMs: median(one[i]!),
        batchImgPerS: (batchN * 1000) / median(batch[i]!),
      };
      rows.push(row);
      console.log(
        `${model.padEnd(18)} ${String(side).padStart(3)} px  ${m.name.padEnd(8)} one image ${row.oneMs.toFixed(1).padStart(7)} ms (median)   ` +
          `batch of ${batchN}: ${row.batchImgPerS.toFixed(1).padStart(7)} img/s`,
      );
    });
    for (const p of pipes) p.dispose();
  }
  if (values.out)
    fs.writeFileSync(
      values.out,
      JSON.stringify(
        { torch: backendInfo().torch, auto: autoName, repeats, rows, date: new Date().toISOString() },
        null,
        2,
      ) + '\n',
    );
}

main();
