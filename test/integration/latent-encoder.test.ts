// The image → latent encoder (issue 20): trained on the bundled tag GAN's faces with a tiny tag
// dataset's tags, it learns the noise (its error falls), logs its validation errors and keeps the
// best checkpoint by them; exported beside a model, the pipeline loads it and the projection
// starts from its guess, which is closer than a random start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

import { liveTensors, randn } from '../../src/engine/index.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { project } from '../../src/inference/projection.js';
import { LatentEncoder } from '../../src/models/latent-encoder.js';
import { ModelRegistry } from '../../src/server/index.js';
import { train } from '../../src/train/trainer.js';
import { prepareTagCache } from '../helpers/tag-dataset.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MODEL = path.join(root, 'models', 'tag-gan-anime.safetensors');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-encoder-'));
const tags = path.join(tmp, 'tags');
const run = path.join(tmp, 'runs', 'encoder');
const TAGS = 'blue hair red eyes';

let logs: Record<string, number>[] = [];

before(async () => {
  await prepareTagCache(tags, 6, 'random:0.75,0.125');
  await train({
    progress: false,
    log: () => undefined,
    config: path.join(root, 'configs', 'latent-encoder-anime.yaml'),
    runDir: run,
    sets: [
      `data.cache=${tags}`,
      'data.batchSize=32',
      'data.workers=0',
      `encoder.generator=${MODEL}`,
      'encoder.width=8',
      'optim.lr=0.002',
      'eval.batches=2',
      'eval.generated=64',
      'train.steps=120',
      'train.checkpointEvery=60',
      'train.logEvery=10',
    ],
  });
  logs = fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('latent encoder', () => {
  test('one noise vector per image; other sizes are refused', () => {
    const e = new LatentEncoder({ noiseDim: 7, width: 4, resolution: 32 });
    try {
      using x = randn([2, 3, 32, 32]);
      using z = e.forward(x);
      assert.deepEqual(z.shape, [2, 7]);
      using y = randn([1, 3, 64, 64]);
      assert.throws(() => e.forward(y), /takes 32×32 images/);
    } finally {
      e.dispose();
    }
  });

  test('it learns the noise: the error falls; validation errors are logged and the best kept by them', () => {
    const z = logs.filter((l) => l['loss/z_mse'] !== undefined).map((l) => l['loss/z_mse']!);
    const head = z.slice(0, 2).reduce((a, b) => a + b) / 2;
    const tail = z.slice(-2).reduce((a, b) => a + b) / 2;
    assert.ok(tail < head * 0.9, `z error ${head.toFixed(3)} → ${tail.toFixed(3)}`);
    const evals = logs.filter((l) => l['eval/val_mse'] !== undefined);
    assert.equal(evals.length, 2, 'evaluated at steps 60 and 120');
    for (const e of evals)
      for (const k of ['eval/val_mse', 'eval/gen_mse', 'eval/gen_z_mse'])
        assert.ok(e[k]! > 0 && Number.isFinite(e[k]!), k);
    const best = JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', 'best.json'), 'utf8')) as {
      metric: string;
      value: number;
    };
    assert.equal(best.metric, 'val_mse');
    assert.equal(best.value, Math.min(...evals.map((e) => e['eval/val_mse']!)));
  });

  test('exported beside a model: the pipeline loads it, the projection starts from its guess', async () => {
    const models = path.join(tmp, 'models');
    fs.mkdirSync(models);
    const model = path.join(models, 'faces.safetensors');
    fs.copyFileSync(MODEL, model);
    const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
    await promisify(execFile)(process.execPath, [
      cli,
      'export',
      '--model',
      run,
      '--best',
      '--out',
      path.join(models, 'faces.encoder.safetensors'),
    ]);
    assert.deepEqual(
      new ModelRegistry([models]).list().map((c) => c.name),
      ['faces'],
      'the encoder is not listed as a model',
    );
    // The measurement: held-out and generated faces, with the encoder's guess and without.
    const json = path.join(tmp, 'invert.json');
    const { stdout } = await promisify(execFile)(process.execPath, [
      cli,
      'invert',
      '--model',
      model,
      '--measure',
      '--dataset',
      tags,
      '--split',
      'val',
      '--n',
      '2',
      '--steps',
      '2',
      '--starts',
      '1',
      '--json',
      json,
    ]);
    assert.match(stdout, /\| encoder \| held-out \(val\) \| 2 \| [\d.]+ dB \| [\d.]+ dB/);
    assert.match(stdout, /\| random \| generated \| 2 \| – \|/);
    const measured = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      results: { encoder: boolean; real: { images: number } }[];
    };
    assert.deepEqual(
      measured.results.map((r) => [r.encoder, r.real.images]),
      [
        [true, 2],
        [false, 2],
      ],
    );

    const alone = TextToImagePipeline.load(model, 'cpu', { precision: 'fp32', companions: false });
    assert.ok(alone.encoder === undefined, 'companions: false loads the generator alone');
    alone.dispose();
    const pipe = TextToImagePipeline.load(model, 'cpu', { precision: 'fp32' });
    try {
      assert.ok(pipe.encoder !== undefined, 'the encoder beside the model is loaded');
      // Generated faces: the guess is closer than random starts are at step 0.
      let guessed = 0;
      let random = 0;
      for (const seed of [1, 2, 3, 4]) {
        using target = pipe.generate([TAGS], { seed });
        const before = liveTensors();
        const withEncoder = await project(pipe, target, TAGS, { steps: 1, starts: 1 });
        const without = await project(pipe, target, TAGS, { steps: 1, starts: 1, encoder: false, seed: seed + 100 });
        withEncoder.z.dispose();
        without.z.dispose();
        assert.equal(liveTensors(), before, 'no tensor is left behind');
        assert.ok(withEncoder.encoderMse !== undefined && without.encoderMse === undefined);
        guessed += withEncoder.encoderMse!;
        random += without.curve[0]!;
      }
      assert.ok(guessed < random, `the encoder's guess (mse ${guessed / 4}) beats a random start (${random / 4})`);
    } finally {
      pipe.dispose();
    }
  });
});
