// Test fixture: an exported AttnGAN of tiny widths trained for one step on the shapes set (DAMSM
// 2 steps first), in seconds on a CPU: enough for the server's word attention, not for pretty birds.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { exportCommand } from '../../src/cli/export.js';
import { prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { train } from '../../src/train/trainer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cfg = (name: string): string => path.join(root, 'configs', name);

/** Overrides that shrink the CUB StackGAN++ / AttnGAN configs to seconds on a CPU (shapes cache, DAMSM run). */
export function tinyTreeOverrides(cache: string, damsm: string): string[] {
  return [
    `data.cache=${cache}`,
    `condition.damsm=${damsm}`,
    `eval.damsm=${damsm}`, // AttnGAN's config scores with another pair than it trains with
    'data.batchSize=4',
    'data.workers=0',
    'generator.noiseDim=8',
    'generator.conditionDim=4',
    'generator.width=4',
    'generator.residualBlocks=1',
    'discriminator.width=2',
    'samples.rows=2',
    'samples.perCondition=2',
    'train.logEvery=1',
    'eval.samples=0', // the configs score 1,000 captions per checkpoint; the tests that check it set their own
    'train.standingStats=0', // the configs' 64 batches per checkpoint; the resume test sets its own
  ];
}

/** Trains in `work` and exports to `<modelsDir>/<name>.safetensors`; returns that file. */
export async function exportTinyAttnGan(work: string, modelsDir: string, name = 'attngan-tiny'): Promise<string> {
  const data = path.join(work, 'shapes');
  const damsm = path.join(work, 'damsm');
  const run = path.join(work, 'attngan');
  const quiet = { progress: false, log: () => undefined };
  await prepareCache(await openDataset('shapes:64:5'), { out: data, resolutions: [32, 64, 128, 256] });
  await train({
    ...quiet,
    config: cfg('shapes/damsm.yaml'),
    runDir: damsm,
    sets: [`data.cache=${data}`, 'train.steps=2', 'train.checkpointEvery=2', 'eval.batches=1'],
  });
  await train({
    ...quiet,
    config: cfg('attngan-cub.yaml'),
    runDir: run,
    sets: [...tinyTreeOverrides(data, damsm), 'train.steps=1'],
  });
  fs.mkdirSync(modelsDir, { recursive: true });
  const file = path.join(modelsDir, `${name}.safetensors`);
  await exportCommand(['--model', run, '--out', file]); // what `creativeai export` runs
  return file;
}
