// DF-GAN training (issue 18) on the built-in shapes set with a tiny DAMSM trained here: finite hinge
// losses and the matching-aware penalty logged, nothing leaked, an exact resume, R-precision picking
// the best checkpoint, and the pipeline sampling the run like any other model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadCheckpoint } from '../../src/artifacts/checkpoint.js';
import { prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { liveTensors } from '../../src/engine/index.js';
import { exportCommand } from '../../src/cli/export.js';
import { readSafetensorsHeader } from '../../src/io/index.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { assertBestKept, metricsOf, ckptFile, finiteMetrics } from '../helpers/runs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-dfgan-'));
const data = path.join(tmp, 'shapes');
const runs = path.join(tmp, 'runs');
const damsmRun = path.join(runs, 'damsm');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const cfg = (name: string): string => path.join(root, 'configs', name);
const TINY = [
  `data.cache=${data}`,
  `condition.damsm=${damsmRun}`,
  'data.batchSize=4',
  'generator.width=2',
  'discriminator.width=2',
  'samples.rows=2',
  'samples.perCondition=2',
  'train.logEvery=1',
  'eval.samples=0',
];

before(async () => {
  await prepareCache(await openDataset('shapes:64:5'), { out: data, resolutions: [32, 64] });
  await train({
    ...quiet,
    config: cfg('shapes/damsm.yaml'),
    runDir: damsmRun,
    sets: [`data.cache=${data}`, 'train.steps=2', 'train.checkpointEvery=2', 'eval.batches=1'],
  });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('DF-GAN training', () => {
  test('trains: finite hinge losses, the matching-aware penalty logged, samples written, nothing leaked', async () => {
    const dir = path.join(runs, 'plain');
    const before = liveTensors();
    const r = await train({
      ...quiet,
      config: cfg('shapes/dfgan.yaml'),
      runDir: dir,
      sets: [...TINY, 'train.steps=2'],
    });
    assert.equal(r.step, 2);
    assert.equal(liveTensors(), before);
    const lines = finiteMetrics(dir);
    assert.equal(lines.length, 2);
    for (const k of ['loss/D', 'loss/G', 'D/real', 'D/fake', 'D/wrong', 'D/ma_gp'])
      assert.ok(
        lines.every((l) => Number.isFinite(l[k])),
        `${k} logged`,
      );
    assert.ok(lines.every((l) => l['D/ma_gp']! >= 0));
    assert.ok(fs.readdirSync(path.join(dir, 'samples')).some((f) => f.endsWith('.png')));

    // The pipeline samples it as it samples the other models: caption in, 32 px images out, reproducibly.
    const pipe = TextToImagePipeline.load(dir);
    try {
      assert.equal(pipe.model, 'dfgan');
      assert.ok(pipe.usedEma, 'the moving average is what samples');
      using a = pipe.generate(['a red circle', 'a blue square'], { seed: 3 });
      using b = pipe.generate(['a red circle', 'a blue square'], { seed: 3 });
      assert.deepEqual(a.shape, [2, 3, 32, 32]);
      assert.equal(a.sub(b).abs().max().item(), 0);
    } finally {
      pipe.dispose();
    }
  });

  test('resumes exactly', async () => {
    const a = path.join(runs, 'straight');
    const b = path.join(runs, 'resumed');
    const s = (dir: string, steps: number): TrainOptions => ({
      ...quiet,
      config: cfg('shapes/dfgan.yaml'),
      runDir: dir,
      sets: [...TINY, `train.steps=${steps}`, 'train.checkpointEvery=1', 'augment.cutout=0.25'],
    });
    await train(s(a, 3));
    await train(s(b, 2));
    await train({ ...quiet, resume: b, sets: ['train.steps=3'] });
    assert.ok(fs.readFileSync(ckptFile(a, 3)).equals(fs.readFileSync(ckptFile(b, 3))), 'checkpoints at step 3 differ');
  });

  test('loss.modeSeeking: trains with G/ms logged, 0 leaves the run as it was; an odd batch is refused', async () => {
    const on = path.join(runs, 'ms-on');
    const off = path.join(runs, 'ms-off');
    const plain = path.join(runs, 'ms-plain');
    const run = (dir: string, sets: string[]) =>
      train({ ...quiet, config: cfg('shapes/dfgan.yaml'), runDir: dir, sets: [...TINY, 'train.steps=2', ...sets] });
    await run(on, ['loss.modeSeeking=1']);
    await run(off, ['loss.modeSeeking=0']);
    await run(plain, []);
    for (const l of finiteMetrics(on)) assert.ok(l['G/ms']! > 0, JSON.stringify(l));
    // Off is the default and draws what a run without the option draws, bit for bit.
    assert.ok(fs.readFileSync(ckptFile(off, 2)).equals(fs.readFileSync(ckptFile(plain, 2))));
    assert.notEqual(metricsOf(on)[1]!['loss/G'], metricsOf(off)[1]!['loss/G']);
    await assert.rejects(run(path.join(runs, 'ms-odd'), ['loss.modeSeeking=1', 'data.batchSize=3']), /must be even/);
  });

  test('a refiner: StackGAN Stage II on a frozen 16 px DF-GAN trains to 64 px and samples both stages', async () => {
    const small = path.join(tmp, 'shapes-16');
    await prepareCache(await openDataset('shapes:64:5'), { out: small, resolutions: [16, 64] });
    const df = path.join(runs, 'df16');
    await train({
      ...quiet,
      config: cfg('shapes/dfgan.yaml'),
      runDir: df,
      sets: [...TINY, `data.cache=${small}`, 'data.resolution=16', 'train.steps=2'],
    });
    const refiner = path.join(runs, 'df16-stage2');
    await train({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: refiner,
      sets: [
        `stage1=${df}`,
        `data.cache=${small}`,
        'data.resolution=64',
        'data.batchSize=4',
        'data.workers=0',
        'generator.width=4',
        'generator.conditionDim=4',
        'generator.residualBlocks=1',
        'discriminator.width=2',
        'discriminator.projectionDim=4',
        'train.steps=2',
        'train.logEvery=1',
        'eval.samples=0',
        'samples.perCondition=1',
      ],
    });
    for (const l of finiteMetrics(refiner)) assert.ok(Number.isFinite(l['loss/G']));
    const ck = loadCheckpoint(ckptFile(refiner, 2));
    try {
      assert.equal(ck.metadata.stage1Model, 'dfgan');
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
    const pipe = TextToImagePipeline.load(refiner);
    try {
      assert.deepEqual(pipe.stages, [16, 64]);
      using a = pipe.generate(['a red circle'], { seed: 3 });
      assert.deepEqual(a.shape, [1, 3, 64, 64]);
    } finally {
      pipe.dispose();
    }
  });

  test('grow.from: a 64 px DF-GAN starts from a 32 px run (its weights, EMA and layout), resumes without it, samples at 64 px', async () => {
    const small = path.join(tmp, 'small');
    const grown = path.join(runs, 'grown');
    await train({ ...quiet, config: cfg('shapes/dfgan.yaml'), runDir: small, sets: [...TINY, 'train.steps=2'] });
    const logs: string[] = [];
    const sets = [...TINY, 'data.resolution=64', 'train.checkpointEvery=1', `grow.from=${small}`, 'grow.base=32'];
    await train({
      ...quiet,
      log: (m) => logs.push(m),
      config: cfg('shapes/dfgan.yaml'),
      runDir: grown,
      sets: [...sets, 'train.steps=1'],
    });
    assert.ok(
      logs.some((l) => /^grew from .*\(32 px, step 2\): 1 new G block\(s\)/.test(l)),
      logs.join('\n'),
    );
    const a = loadCheckpoint(ckptFile(small, 2));
    const b = loadCheckpoint(ckptFile(grown, 1));
    try {
      assert.deepEqual(JSON.parse(b.metadata.generator!), {
        ...JSON.parse(a.metadata.generator!),
        resolution: 64,
        baseResolution: 32,
      });
      // One step of EMA (decay 0.999) away from the small run's average; the D blocks moved one place back.
      const diff = (x: string, y: string): number => a.tensors.get(x)!.sub(b.tensors.get(y)!).abs().max().item();
      assert.ok(diff('G_ema.fc.weight', 'G_ema.fc.weight') < 1e-3);
      assert.ok(diff('G_ema.block2.conv1.weight', 'G_ema.block2.conv1.weight') < 1e-3);
      assert.deepEqual(
        a.tensors.get('D.encoder.block0.conv1.weight')!.shape,
        b.tensors.get('D.encoder.block1.conv1.weight')!.shape,
      );
    } finally {
      for (const t of [...a.tensors.values(), ...b.tensors.values()]) t.dispose();
    }
    // The checkpoint holds everything: a resume needs no source run.
    fs.rmSync(small, { recursive: true });
    const resumed: string[] = [];
    await train({ ...quiet, log: (m) => resumed.push(m), resume: grown, sets: ['train.steps=2'] });
    assert.ok(!resumed.some((l) => l.startsWith('grew from')));
    const pipe = TextToImagePipeline.load(grown);
    try {
      using x = pipe.generate(['a red circle'], { seed: 1 });
      assert.deepEqual(x.shape, [1, 3, 64, 64]);
    } finally {
      pipe.dispose();
    }
    // A grown run without its base side is refused before anything is trained.
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('shapes/dfgan.yaml'),
        runDir: path.join(runs, 'nobase'),
        sets: [...TINY, `grow.from=${grown}`],
      }),
      /grow.from needs grow.base/,
    );
  });

  test('init.from: a run goes on from an exported fp16 model (G and EMA from it, D fresh, its text encoder), D alone at first; a mismatch refused', async () => {
    const source = path.join(tmp, 'to-export');
    await train({ ...quiet, config: cfg('shapes/dfgan.yaml'), runDir: source, sets: [...TINY, 'train.steps=2'] });
    const file = path.join(tmp, 'dfgan.safetensors');
    await exportCommand(['--model', source, '--out', file, '--fp16']);
    const dir = path.join(runs, 'continued');
    const logs: string[] = [];
    const sets = [...TINY, 'train.checkpointEvery=1', `init.from=${file}`, 'init.discriminatorSteps=2'];
    await train({
      ...quiet,
      log: (m) => logs.push(m),
      config: cfg('shapes/dfgan.yaml'),
      runDir: dir,
      sets: [...sets, 'train.steps=2'],
    });
    assert.ok(
      logs.some((l) =>
        /^started from .*\(step 2\): G and EMA from its moving average, D fresh; D alone for the first 2 steps/.test(l),
      ),
      logs.join('\n'),
    );
    // The run's record names what it started from: the file's step and its images (step × batch 4).
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { startedFrom?: unknown };
    assert.deepEqual(info.startedFrom, { file, step: 2, images: 8 });
    // The first two steps trained D alone: G and its EMA are still the file's generator, bit for bit at its precision.
    const exported = loadCheckpoint(file);
    const held = loadCheckpoint(ckptFile(dir, 2));
    const differs = (a: string, b: string, from: typeof held): number =>
      exported.tensors.get(a)!.float().sub(from.tensors.get(b)!.to('float16').float()).abs().max().item();
    try {
      const names = [...exported.tensors.keys()].filter((k) => k.startsWith('G.'));
      assert.ok(names.length > 10);
      for (const k of names) {
        assert.equal(differs(k, k, held), 0, k);
        assert.equal(differs(k, `G_ema.${k.slice(2)}`, held), 0, `EMA ${k}`);
      }
    } finally {
      for (const t of held.tensors.values()) t.dispose();
    }
    const lines = metricsOf(dir);
    assert.ok(lines.every((l) => Number.isFinite(l['loss/D']) && l['loss/G'] === undefined));
    // Then G trains: step 3 moves it off the file's weights, at half its rate (the first step of a
    // 2-step warm-up, set on resuming).
    await train({ ...quiet, resume: dir, sets: ['train.steps=3', 'init.generatorWarmup=2'] });
    const moved = loadCheckpoint(ckptFile(dir, 3));
    try {
      const k = 'G.fc.weight';
      assert.ok(differs(k, k, moved) > 0);
      assert.ok(Number.isFinite(metricsOf(dir).at(-1)!['loss/G']));
      assert.equal(metricsOf(dir).at(-1)!['lr/G'], 0.5e-4);
    } finally {
      for (const t of [...moved.tensors.values(), ...exported.tensors.values()]) t.dispose();
    }
    // Its export records the images G saw before the run; a run started from that file counts both.
    const again = path.join(tmp, 'dfgan-again.safetensors');
    await exportCommand(['--model', dir, '--out', again, '--discriminator']);
    assert.equal(readSafetensorsHeader(again).metadata.imagesBefore, '8');
    const chained = path.join(runs, 'chained');
    const chainedLogs: string[] = [];
    await train({
      ...quiet,
      log: (m) => chainedLogs.push(m),
      config: cfg('shapes/dfgan.yaml'),
      runDir: chained,
      sets: [...TINY, `init.from=${again}`, 'train.steps=1'],
    });
    // From a checkpoint of the continued run, the images its run.json records count the same way.
    const fromCk = path.join(runs, 'from-checkpoint');
    await train({
      ...quiet,
      config: cfg('shapes/dfgan.yaml'),
      runDir: fromCk,
      sets: [...TINY, `init.from=${ckptFile(dir, 3)}`, 'train.steps=1'],
    });
    const fromCkInfo = JSON.parse(fs.readFileSync(path.join(fromCk, 'run.json'), 'utf8')) as {
      startedFrom?: { images: number };
    };
    assert.equal(fromCkInfo.startedFrom?.images, 3 * 4 + 8);
    // Exported with --discriminator, the file starts D too (sampling ignores it).
    assert.ok(
      chainedLogs.some((l) => /G and EMA from its moving average, D from its D/.test(l)),
      chainedLogs.join('\n'),
    );
    const withD = loadCheckpoint(again);
    const chainedCk = loadCheckpoint(ckptFile(chained, 1));
    try {
      const dKeys = [...withD.tensors.keys()].filter((k) => k.startsWith('D.'));
      assert.ok(
        dKeys.length > 5 && [...chainedCk.tensors.keys()].filter((k) => k.startsWith('D.')).length === dKeys.length,
      );
    } finally {
      for (const c of [withD, chainedCk]) for (const t of c.tensors.values()) t.dispose();
    }
    const pipe = TextToImagePipeline.load(again);
    try {
      using x = pipe.generate(['a red circle'], { seed: 1 });
      assert.deepEqual(x.shape, [1, 3, 32, 32]);
    } finally {
      pipe.dispose();
    }
    const chainedInfo = JSON.parse(fs.readFileSync(path.join(chained, 'run.json'), 'utf8')) as {
      startedFrom?: unknown;
    };
    assert.deepEqual(chainedInfo.startedFrom, { file: again, step: 3, images: 3 * 4 + 8 });
    // Another layout, or both ways of starting at once, is refused before anything is trained.
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('shapes/dfgan.yaml'),
        runDir: path.join(runs, 'wider'),
        sets: [...sets, 'generator.width=3'],
      }),
      /init.from: .* has another generator layout/,
    );
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('shapes/dfgan.yaml'),
        runDir: path.join(runs, 'both'),
        sets: [...sets, `grow.from=${source}`, 'grow.base=32'],
      }),
      /grow.from and init.from both start G/,
    );
    // With its DAMSM run gone, a run reads sentences with the file's own text encoder; R-precision
    // then needs a DAMSM run (eval.damsm) for the image encoder, which a model file does not hold.
    const ownText = [...sets, `condition.damsm=${file}`, 'train.steps=1'];
    await train({ ...quiet, config: cfg('shapes/dfgan.yaml'), runDir: path.join(runs, 'own-text'), sets: ownText });
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('shapes/dfgan.yaml'),
        runDir: path.join(runs, 'own-text-rprec'),
        sets: [...ownText, 'eval.samples=2'],
      }),
      /R-precision and FID need a DAMSM run's image encoder/,
    );
  });

  test('eval.samples: R-precision at every checkpoint picks the best one; eval.fid adds FID beside it', async () => {
    const dir = path.join(runs, 'scored');
    await train({
      ...quiet,
      config: cfg('shapes/dfgan.yaml'),
      runDir: dir,
      sets: [...TINY, 'train.steps=2', 'train.checkpointEvery=1', 'eval.samples=8', 'eval.fid=16'],
    });
    assertBestKept(dir, 'rprec', 'max', 2);
    const scored = metricsOf(dir).filter((m) => m['eval/rprec'] !== undefined);
    assert.equal(scored.length, 2);
    // FID of 16 generated against 16 training images on the DAMSM's image features: positive, and not
    // the same at two different generators.
    assert.ok(
      scored.every((m) => m['eval/fid']! > 0),
      JSON.stringify(scored),
    );
    assert.notEqual(scored[0]!['eval/fid'], scored[1]!['eval/fid']);
  });
});
