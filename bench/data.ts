// `npm run bench:data`: input-pipeline throughput from a prepared cache at 64 and 256 px (batches
// of 64 with random crop, flip and mismatched captions, delivered as float tensors on the device),
// printed beside what the DCGAN training step of the engine benchmark consumes. Last line:
// `ratio <loader img/s at 64 px ÷ training img/s>` (target: >= 5 on the CPU).
//
// Options: --cache DIR (a cache with 64 and 256 px; default: the shapes set prepared in a temp
//   folder), --device cpu|cuda, --batches N, --workers N, --train-img-s X (skip measuring the step).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { CacheReader, DataLoader, prepareCache } from '../src/data/index.js';
import { makeShapes } from '../src/data/sources/index.js';
import { cuda, type Device } from '../src/engine/index.js';

const { values } = parseArgs({
  options: {
    cache: { type: 'string' },
    device: { type: 'string' },
    batches: { type: 'string', default: '40' },
    workers: { type: 'string', default: '1' },
    'train-img-s': { type: 'string' },
  },
});
const device = (values.device ?? (cuda.isAvailable() ? 'cuda' : 'cpu')) as Device;
const batches = Number(values.batches);
const workers = Number(values.workers);

async function cacheDir(): Promise<{ dir: string; cleanup: () => void }> {
  if (values.cache !== undefined) return { dir: values.cache, cleanup: () => undefined };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-bench-data-'));
  const t = performance.now();
  const { dir } = await prepareCache(makeShapes({ count: 1024, seed: 0 }), {
    out: path.join(tmp, 'shapes'),
    resolutions: [64, 256],
    cropMargin: 76 / 64,
    split: 'random:1,0',
    progress: false,
  });
  console.log(`prepared 1,024 shapes at 64 and 256 px in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { dir, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

async function loaderImgPerS(dir: string, resolution: number): Promise<number> {
  const loader = new DataLoader(CacheReader.open(dir), {
    batchSize: 64,
    resolutions: [resolution],
    device,
    workers,
    prefetch: 4,
  });
  let seen = 0;
  let epoch = 0;
  const t0 = performance.now();
  while (seen < batches * 64) {
    for await (const b of loader.epoch(epoch++)) {
      if (device !== 'cpu') b.images.get(resolution)!.sum().item(); // waits for the upload
      seen += b.indices.length;
      b.dispose();
      if (seen >= batches * 64) break;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  await loader.close();
  return seen / secs;
}

/** The TypeScript DCGAN step's img/s, from the engine benchmark (TS side only, one round). */
function trainingImgPerS(): number {
  if (values['train-img-s'] !== undefined) return Number(values['train-img-s']);
  const out = path.join(os.tmpdir(), `cai-bench-engine-${process.pid}.json`);
  const engine = path.join(path.dirname(fileURLToPath(import.meta.url)), 'engine.js');
  const r = spawnSync(process.execPath, [engine, '--only', 'ts', '--rounds', '1', '--device', device, '--out', out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`the engine benchmark failed:\n${r.stdout}`);
  const summary = JSON.parse(fs.readFileSync(out, 'utf8')) as { best: { ts: number } };
  fs.rmSync(out, { force: true });
  return summary.best.ts;
}

const { dir, cleanup } = await cacheDir();
try {
  const r64 = await loaderImgPerS(dir, 64);
  console.log(`loader  64 px: ${r64.toFixed(0)} img/s (batch 64, ${workers} worker(s), device ${device})`);
  const r256 = await loaderImgPerS(dir, 256);
  console.log(`loader 256 px: ${r256.toFixed(0)} img/s`);
  const train = trainingImgPerS();
  console.log(`training step (DCGAN 64 px, batch 64, TypeScript engine): ${train.toFixed(1)} img/s on ${device}`);
  console.log(`ratio ${(r64 / train).toFixed(2)}`);
} finally {
  cleanup();
}
