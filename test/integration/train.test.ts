// Training framework: configs, every model training a few steps with finite losses, bit-exact
// resume, Ctrl-C, corrupt checkpoints, TensorBoard output, sample and export CLIs.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';

import { prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { backendInfo, fastestMode, liveTensors } from '../../src/engine/index.js';
import { checkTensorsDigest, readEvents, readSafetensorsHeader, tensorsDigest } from '../../src/io/index.js';
import { assertBestKept, maxAbsDiff, metricsOf } from '../helpers/runs.js';
import { TINY_TAG_GAN, prepareTagCache } from '../helpers/tag-dataset.js';
import { makeCubExtra } from '../helpers/cub-extra.js';
import { CheckpointStore, loadCheckpoint } from '../../src/artifacts/checkpoint.js';
import { ConfigError, applyOverrides, readConfigFile, resolveConfig } from '../../src/train/config.js';
import { fullSchema } from '../../src/train/schema.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { RunDir } from '../../src/train/run-dir.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-train-'));
const shapes = path.join(tmp, 'shapes');
const tags = path.join(tmp, 'tags');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const cfg = (name: string): string => path.join(root, 'configs', 'shapes', `${name}.yaml`);

before(async () => {
  const s = await prepareCache(await openDataset('shapes:400:3'), { out: shapes, resolutions: [32] });
  assert.equal(s.manifest.count, 400);
  await prepareTagCache(tags, 4);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('config', () => {
  const schema = fullSchema('gan-int-cls');
  test('the shipped configs all resolve', () => {
    for (const dir of ['configs', 'configs/shapes'])
      for (const f of fs.readdirSync(path.join(root, dir)).filter((x) => x.endsWith('.yaml'))) {
        const raw = readConfigFile(path.join(root, dir, f));
        assert.doesNotThrow(() => resolveConfig(raw, fullSchema(String(raw.model)), f), f);
      }
  });
  test('train --keys lists every key of a model with its type, default and meaning', async () => {
    const { stdout } = await run(process.execPath, [cli, 'train', '--keys', 'attngan']);
    const lines = stdout.trim().split('\n');
    assert.ok(
      lines.includes(
        'train.precision  (auto | fp32 | tf32 | bf16 | fp16; default "auto")  ' +
          String((fullSchema('attngan').train as { fields: Record<string, { doc: string }> }).fields.precision!.doc),
      ),
    );
    for (const key of ['data.batchSize', 'loss.damsm', 'generator.width', 'optim.ema'])
      assert.ok(
        lines.some((l) => l.startsWith(`${key}  (`)),
        `missing ${key}`,
      );
    await assert.rejects(
      run(process.execPath, [cli, 'train', '--keys', 'dcgan']),
      (e: { stderr: string; code: number }) =>
        e.code !== 0 && /unknown model 'dcgan' \(known: gan-int-cls/.test(e.stderr),
    );
  });
  test('a typo is an error naming the key and the likely intent', () => {
    const raw = readConfigFile(cfg('gan-int-cls'));
    (raw.train as Record<string, unknown>).stpes = 5;
    assert.throws(() => resolveConfig(raw, schema), /train\.stpes: unknown key \(did you mean 'steps'\?\)/);
  });
  test('missing and mistyped values are reported together', () => {
    const raw = readConfigFile(cfg('gan-int-cls'));
    delete (raw.generator as Record<string, unknown>).width;
    (raw.loss as Record<string, unknown>).adversarial = 'bogus';
    assert.throws(
      () => resolveConfig(raw, schema),
      (e: Error) =>
        e instanceof ConfigError &&
        /generator\.width: required/.test(e.message) &&
        /loss\.adversarial: expected one of/.test(e.message),
    );
  });
  test('--set parses YAML values and rejects unknown paths', () => {
    const raw = readConfigFile(cfg('gan-int-cls'));
    const o = applyOverrides(raw, ['train.steps=7', 'loss.realLabel=0.9', 'generator.spectralNorm=true'], schema);
    const r = resolveConfig(o, schema);
    assert.equal((r.train as Record<string, unknown>).steps, 7);
    assert.equal((r.loss as Record<string, unknown>).realLabel, 0.9);
    assert.equal((r.generator as Record<string, unknown>).spectralNorm, true);
    assert.throws(
      () => applyOverrides(raw, ['train.step=7'], schema),
      /unknown key 'train\.step' \(did you mean 'steps'\?\)/,
    );
    assert.throws(() => applyOverrides(raw, ['nokey'], schema), /key=value/);
  });
});

const damsmRun = path.join(tmp, 'runs', 'damsm');

describe('models train on the shapes set', () => {
  test('DAMSM: losses finite, best checkpoint chosen by validation loss', async () => {
    const r = await train({
      ...quiet,
      config: cfg('damsm'),
      runDir: damsmRun,
      sets: [`data.cache=${shapes}`, 'train.steps=12', 'train.checkpointEvery=6', 'train.logEvery=3'],
    });
    assert.equal(r.finished, true);
    assertBestKept(damsmRun, 'val_loss', 'min', 2);
  });

  test('DAMSM with species supervision over an auxiliary stream of uncaptioned birds: logged, counted, resumed exactly', async () => {
    const extraDir = path.join(tmp, 'extra-src');
    await makeCubExtra(extraDir, ['901.Alpha_Extra', '902.Beta_Extra', '903.Gamma_Extra'], 4);
    const extra = path.join(tmp, 'extra');
    await prepareCache(await openDataset(`cub-extra:${extraDir}`), { out: extra, resolutions: [32] });
    const sets = (steps: number): string[] => [
      `data.cache=${shapes}`,
      'damsm.species=1',
      `damsm.extra=${extra}`,
      'damsm.extraBatchSize=4',
      'augment.translation=0.125',
      'augment.cutout=0.25',
      `train.steps=${steps}`,
      'train.logEvery=1',
      'train.checkpointEvery=3',
    ];
    const a = path.join(tmp, 'runs', 'damsm-species');
    const b = path.join(tmp, 'runs', 'damsm-species-resumed');
    await train({ ...quiet, config: cfg('damsm'), runDir: a, sets: sets(6) });
    await train({ ...quiet, config: cfg('damsm'), runDir: b, sets: sets(3) });
    await train({ ...quiet, resume: b, sets: ['train.steps=6'] });
    const fa = fs.readFileSync(path.join(a, 'checkpoints', 'step-00000006.safetensors'));
    const fb = fs.readFileSync(path.join(b, 'checkpoints', 'step-00000006.safetensors'));
    assert.ok(fa.equals(fb), 'the auxiliary stream resumes where it stopped');
    const m = metricsOf(a);
    for (const k of ['loss/species', 'acc/species']) assert.ok(Number.isFinite(m[0]![k]), `${k}=${m[0]![k]}`);
    // The classifier names the shapes set's training classes and then the three extra species.
    const ck = loadCheckpoint(path.join(a, 'checkpoints', 'step-00000006.safetensors'));
    const species = JSON.parse(ck.metadata.species!) as string[];
    assert.deepEqual(species.slice(-3), ['901.Alpha_Extra', '902.Beta_Extra', '903.Gamma_Extra']);
    assert.deepEqual(ck.tensors.get('species.weight')?.shape, [species.length, 32]);
    // Each step reads 16 captioned and 4 uncaptioned images.
    assert.equal((ck.manifest.state as { imagesSeen: number }).imagesSeen, 6 * 20);
    for (const t of ck.tensors.values()) t.dispose();
    // Held-out species among the extra images would flatter every score read through the encoder:
    // the shapes set again, every class in its training split.
    const allShapes = path.join(tmp, 'shapes-all-train');
    await prepareCache(await openDataset('shapes:400:3'), { out: allShapes, resolutions: [32], split: 'classes:1,0' });
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('damsm'),
        runDir: path.join(tmp, 'runs', 'damsm-leak'),
        sets: [`data.cache=${shapes}`, 'damsm.species=1', `damsm.extra=${allShapes}`, 'train.steps=1'],
      }),
      /species of .*validation\/test split/,
    );
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('damsm'),
        runDir: path.join(tmp, 'runs', 'damsm-extra-only'),
        sets: [`data.cache=${shapes}`, `damsm.extra=${extra}`, 'train.steps=1'],
      }),
      /damsm\.extra needs damsm\.species > 0/,
    );
  });

  test('DAMSM trains in bf16 mixed precision (the LSTM and the image encoder under autocast)', async () => {
    const dir = path.join(tmp, 'runs', 'damsm-bf16');
    const r = await train({
      ...quiet,
      config: cfg('damsm'),
      runDir: dir,
      sets: [`data.cache=${shapes}`, 'train.steps=2', 'train.logEvery=1', 'train.precision=bf16'],
    });
    assert.equal(r.step, 2);
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const first = JSON.parse(lines[0]!) as Record<string, number>;
    for (const k of ['loss/total', 'grad/text', 'grad/image']) assert.ok(Number.isFinite(first[k]), `${k}=${first[k]}`);
  });

  // A 4-step run of the GAN-INT-CLS recipe with some options: finite losses, samples, no leaks. The
  // options' arithmetic is tested in losses.test.ts; the tests below check that they reach the run.
  const gan = (name: string, sets: string[]) => async () => {
    const dir = path.join(tmp, 'runs', name);
    const before = liveTensors();
    const r = await train({
      ...quiet,
      config: cfg('gan-int-cls'),
      runDir: dir,
      sets: [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'train.steps=4', 'train.logEvery=1', ...sets],
    });
    assert.equal(r.step, 4);
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    assert.ok(lines.length >= 4);
    for (const l of lines)
      for (const [k, v] of Object.entries(JSON.parse(l) as Record<string, number>))
        assert.ok(Number.isFinite(v), `${name}: ${k}=${v}`);
    assert.ok(fs.existsSync(path.join(dir, 'samples', 'step-00000004.png')));
    assert.equal(liveTensors(), before, 'the trainer frees everything it made');
  };
  test('GAN-INT-CLS (matching-aware + interpolation) trains 4 steps', gan('gic', []));
  test('GAN-INT-CLS keeps the best checkpoint by R-precision', () => {
    const best = assertBestKept(path.join(tmp, 'runs', 'gic'), 'rprec', 'max', 1);
    assert.ok(best.value >= 0 && best.value <= 1);
  });
  test(
    'WGAN-CLS (gradient penalty, layer norm, 2 critic steps) trains 4 steps',
    gan('wgan', [
      'model=wgan-cls',
      'loss.adversarial=wasserstein',
      'loss.gradientPenalty=10',
      'discriminator.norm=layer',
      'optim.criticSteps=2',
    ]),
  );
  test('stabilisers (hinge, spectral norm in G and D, minibatch discrimination, EMA, CA) train and are in the run', async () => {
    await gan('stab', [
      'loss.adversarial=hinge',
      'discriminator.spectralNorm=true',
      'generator.spectralNorm=true',
      'discriminator.minibatchKernels=4',
      'optim.ema=0.99',
      'train.standingStats=2',
      'generator.conditioningAugmentation=true',
    ])();
    const ck = loadCheckpoint(path.join(tmp, 'runs', 'stab', 'checkpoints', 'step-00000004.safetensors'));
    try {
      const keys = [...ck.tensors.keys()];
      const has = (re: RegExp, what: string): void =>
        assert.ok(
          keys.some((k) => re.test(k)),
          `${what}: no key ${re}`,
        );
      has(/^G\..*weight_u$/, 'spectral norm in G');
      has(/^D\..*weight_u$/, 'spectral norm in D');
      has(/^D\..*minibatch\.T$/, 'minibatch discrimination');
      has(/^G\.ca\./, 'conditioning augmentation');
      // The EMA is a separate copy that has moved away from G (decay 0.99, 4 steps).
      const emaKeys = keys.filter((k) => k.startsWith('G_ema.') && k.endsWith('.weight'));
      assert.ok(emaKeys.length > 0, 'no G_ema weights');
      const moved = emaKeys.some(
        (k) => maxAbsDiff(ck.tensors.get(k)!, ck.tensors.get(k.replace(/^G_ema\./, 'G.'))!) > 0,
      );
      assert.ok(moved, 'G_ema equals G everywhere');
      // Standing statistics: the EMA's batch-norm statistics are its own, not copies of G's.
      const stats = keys.filter((k) => k.startsWith('G_ema.') && k.endsWith('.running_mean'));
      assert.ok(stats.length > 0, 'no batch norm in G');
      for (const k of stats)
        assert.ok(maxAbsDiff(ck.tensors.get(k)!, ck.tensors.get(k.replace(/^G_ema\./, 'G.'))!) > 0, `${k} is G's`);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  });
  test('one-sided label smoothing changes the D loss of the same first step, and only where it is defined', async () => {
    const firstLossD = async (name: string, sets: string[]): Promise<number> => {
      const dir = path.join(tmp, 'runs', name);
      await train({
        ...quiet,
        config: cfg('gan-int-cls'),
        runDir: dir,
        sets: [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'train.steps=1', 'train.logEvery=1', ...sets],
      });
      return metricsOf(dir)[0]!['loss/D']!;
    };
    const plain = await firstLossD('ls-1', ['loss.realLabel=1']);
    const smoothed = await firstLossD('ls-09', ['loss.realLabel=0.9']);
    assert.ok(Number.isFinite(plain) && Number.isFinite(smoothed));
    // Softening the real target from 1 to 0.9 raises BCE on the real term for any score.
    assert.ok(smoothed > plain, `loss/D with label 0.9 (${smoothed}) should exceed label 1 (${plain})`);
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('gan-int-cls'),
        runDir: path.join(tmp, 'runs', 'ls-hinge'),
        sets: [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'loss.adversarial=hinge', 'loss.realLabel=0.9'],
      }),
      /one-sided label smoothing\) needs a loss with a target label/,
    );
  });
  test('DiffAugment (augment.*) reaches GAN-INT-CLS and WGAN-CLS: it changes the first D loss, the same run repeats, nothing leaks', async () => {
    const firstLossD = async (name: string, sets: string[]): Promise<number> => {
      const dir = path.join(tmp, 'runs', name);
      const before = liveTensors();
      await train({
        ...quiet,
        config: cfg('gan-int-cls'),
        runDir: dir,
        sets: [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'train.steps=1', 'train.logEvery=1', ...sets],
      });
      assert.equal(liveTensors(), before, `${name}: the trainer frees everything it made`);
      return metricsOf(dir)[0]!['loss/D']!;
    };
    const on = ['augment.translation=0.125', 'augment.cutout=0.5'];
    const wgan = [
      'model=wgan-cls',
      'loss.adversarial=wasserstein',
      'loss.gradientPenalty=10',
      'discriminator.norm=layer',
    ];
    const plain = await firstLossD('da-off', []);
    const a = await firstLossD('da-on', on);
    const b = await firstLossD('da-on-again', on);
    assert.ok(Number.isFinite(a) && a !== plain, `augmented ${a} vs plain ${plain}`);
    assert.equal(a, b, 'the augmentation draws come from the run seed');
    const w = await firstLossD('da-wgan', [...wgan, ...on]);
    const wPlain = await firstLossD('da-wgan-off', wgan);
    assert.ok(Number.isFinite(w) && w !== wPlain, `WGAN-GP: augmented ${w} vs plain ${wPlain}`);
  });
  test(
    'WGAN-CLS trains 4 steps in bf16 mixed precision (gradient penalty under autocast)',
    gan('wgan-bf16', [
      'model=wgan-cls',
      'loss.adversarial=wasserstein',
      'loss.gradientPenalty=10',
      'discriminator.norm=layer',
      'train.precision=bf16',
    ]),
  );
  test(
    'the stabilisers train 4 steps in bf16 mixed precision (spectral norm, minibatch discrimination, EMA, CA)',
    gan('stab-bf16', [
      'loss.adversarial=hinge',
      'discriminator.spectralNorm=true',
      'generator.spectralNorm=true',
      'discriminator.minibatchKernels=4',
      'optim.ema=0.99',
      'generator.conditioningAugmentation=true',
      'train.precision=bf16',
    ]),
  );
  test(
    'least squares without the matching-aware term trains 4 steps',
    gan('lsgan', ['loss.adversarial=least-squares', 'loss.matchingAware=false', 'loss.interpolation=0']),
  );
  test('a critic with batch norm and a gradient penalty is refused', async () => {
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('gan-int-cls'),
        runDir: path.join(tmp, 'runs', 'bad'),
        sets: [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'loss.gradientPenalty=10'],
      }),
      /incompatible with a gradient penalty/,
    );
  });
});

const tagRun = path.join(tmp, 'runs', 'tags');

describe('tag-conditioned GAN (HW3-2) and the sample CLI', () => {
  before(async () => {
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-acgan-anime.yaml'),
      runDir: tagRun,
      sets: [`data.cache=${tags}`, ...TINY_TAG_GAN, 'train.steps=3', 'train.logEvery=1'],
    });
  });
  test('ACGAN logs finite losses and auxiliary accuracy', () => {
    const lines = fs.readFileSync(path.join(tagRun, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const first = JSON.parse(lines[0]!) as Record<string, number>;
    assert.ok(Number.isFinite(first['loss/D']!) && Number.isFinite(first['loss/G']!));
    assert.ok(first['D/aux_acc_real']! >= 0 && first['D/aux_acc_real']! <= 1);
  });
  test('ACGAN trains in bf16 with channels-last weights and batches: finite losses, float32 weights', async () => {
    const dir = path.join(tmp, 'runs', 'tags-bf16-cl');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-acgan-anime.yaml'),
      runDir: dir,
      sets: [
        `data.cache=${tags}`,
        ...TINY_TAG_GAN,
        'train.steps=3',
        'train.logEvery=1',
        'train.precision=bf16',
        'train.memoryFormat=channelsLast',
      ],
    });
    for (const l of metricsOf(dir))
      for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${k}=${v} at step ${l.step}`);
    const ck = loadCheckpoint(path.join(dir, 'checkpoints', 'step-00000003.safetensors'));
    const weights = [...ck.tensors].filter(([name]) => name.startsWith('G.'));
    assert.ok(weights.length > 0);
    for (const [name, t] of weights) assert.equal(t.dtype, 'float32', name);
    for (const t of ck.tensors.values()) t.dispose();
  });
  test('testing_tags.txt → one 5×5 PNG of 64×64 faces, identical for the same seed', async () => {
    const tagsFile = path.join(tmp, 'testing_tags.txt');
    const combos = [
      'blue hair blue eyes',
      'blue hair green eyes',
      'blue hair red eyes',
      'green hair blue eyes',
      'green hair red eyes',
    ];
    fs.writeFileSync(
      tagsFile,
      combos.flatMap((c, i) => [1, 2, 3, 4, 5].map((k) => `${i * 5 + k},${c}`)).join('\n') + '\n',
    );
    const out = (n: string): string => path.join(tmp, 'samples', n);
    for (const [file, seed] of [
      ['a.png', '7'],
      ['b.png', '7'],
      ['c.png', '8'],
    ] as const)
      await run(process.execPath, [
        cli,
        'sample',
        '--model',
        tagRun,
        '--tags-file',
        tagsFile,
        '--seed',
        seed,
        '--out',
        out(file),
        '--device',
        'cpu',
      ]);
    const meta = await sharp(out('a.png')).metadata();
    assert.equal(meta.width, 320);
    assert.equal(meta.height, 320);
    assert.deepEqual(fs.readFileSync(out('a.png')), fs.readFileSync(out('b.png')));
    assert.notDeepEqual(fs.readFileSync(out('a.png')), fs.readFileSync(out('c.png')));
  });
  test('unknown tag colours and a missing model give clear errors', async () => {
    await assert.rejects(
      run(process.execPath, [
        cli,
        'sample',
        '--model',
        tagRun,
        '--text',
        'plaid hair red eyes',
        '--out',
        path.join(tmp, 'x.png'),
      ]),
      (e: { stderr: string; code: number }) => e.code === 1 && /unknown hair colour/.test(e.stderr),
    );
    await assert.rejects(
      run(process.execPath, [cli, 'sample', '--model', path.join(tmp, 'nope'), '--text', 'blue hair red eyes']),
      (e: { stderr: string }) => /does not exist/.test(e.stderr),
    );
    await assert.rejects(
      run(process.execPath, [cli, 'sample', '--model', tagRun, '--text', '  ', '--out', path.join(tmp, 'x.png')]),
      (e: { stderr: string; code: number }) => e.code === 2 && /--text is empty/.test(e.stderr), // a usage error
    );
    // A caption model (the GAN-INT-CLS run above) told only emoji: an error, not an image.
    await assert.rejects(
      run(process.execPath, [
        cli,
        'sample',
        '--model',
        path.join(tmp, 'runs', 'gic'),
        '--text',
        '🐦',
        '--out',
        path.join(tmp, 'x.png'),
      ]),
      (e: { stderr: string; code: number }) => e.code === 1 && /no words, only symbols/.test(e.stderr),
    );
  });
  test('export --fp16 halves the generator and samples like the checkpoint', async () => {
    const file = path.join(tmp, 'tag.safetensors');
    await run(process.execPath, [cli, 'export', '--model', tagRun, '--out', file, '--fp16']);
    const full = TextToImagePipeline.load(tagRun);
    const half = TextToImagePipeline.load(file);
    try {
      using a = full.generate(['pink hair green eyes'], { seed: 3 });
      using b = half.generate(['pink hair green eyes'], { seed: 3 });
      using d = a.sub(b);
      using m = d.abs().max();
      assert.ok(m.item() < 0.05, `fp16 export differs by ${m.item()}`);
      const exp = loadCheckpoint(file);
      for (const [k, t] of exp.tensors) {
        if (k.startsWith('G.') && t.dtype.startsWith('float')) assert.equal(t.dtype, 'float16', k);
        t.dispose();
      }
    } finally {
      full.dispose();
      half.dispose();
    }
  });

  test('an export records the digest of its tensors; one flipped bit is refused with a clear error', async () => {
    const file = path.join(tmp, 'tag-checked.safetensors');
    await run(process.execPath, [cli, 'export', '--model', tagRun, '--out', file]);
    assert.equal(checkTensorsDigest(file), 'ok');
    assert.equal(readSafetensorsHeader(file).metadata.tensors_sha256, tensorsDigest(file));
    const buf = fs.readFileSync(file);
    buf[buf.length - 7] = buf[buf.length - 7]! ^ 0x04; // one bit of the last tensor's data
    fs.writeFileSync(file, buf);
    assert.equal(checkTensorsDigest(file), 'mismatch');
    assert.throws(() => loadCheckpoint(file), /is corrupt: its tensors do not match the SHA-256 recorded/);
    await assert.rejects(
      run(process.execPath, [
        cli,
        'sample',
        '--model',
        file,
        '--text',
        'blue hair red eyes',
        '--out',
        path.join(tmp, 'x.png'),
      ]),
      (e: { stderr: string; code: number }) => e.code === 1 && /is corrupt/.test(e.stderr),
    );
  });
});

describe('checkpoints', () => {
  const base = (): string[] => [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'train.checkpointEvery=3'];
  test('a resumed run ends with weights identical to an uninterrupted one', async () => {
    const a = path.join(tmp, 'runs', 'straight');
    const b = path.join(tmp, 'runs', 'resumed');
    const s = (dir: string, steps: number): TrainOptions => ({
      ...quiet,
      config: cfg('gan-int-cls'),
      runDir: dir,
      sets: [...base(), `train.steps=${steps}`, 'optim.ema=0.9'],
    });
    await train(s(a, 6));
    await train(s(b, 3));
    const r = await train({ ...quiet, resume: b, sets: ['train.steps=6'] });
    assert.equal(r.step, 6);
    // The mode 'auto' resolved to is recorded at the start and at each resume.
    const info = RunDir.open(b).info();
    const auto = fastestMode('cpu');
    assert.deepEqual([info.mode?.precision, info.mode?.memoryFormat], [auto.precision, auto.memoryFormat]);
    assert.match(info.mode!.reason, /^auto: /);
    assert.equal(info.resumedAt[0]?.mode?.precision, auto.precision);
    // A value changed on resume is recorded with its step, and config.yaml keeps it for later resumes.
    assert.deepEqual(info.resumedAt[0]?.sets, ['train.steps=6']);
    assert.ok('gitCommit' in info.resumedAt[0]!, 'the code each resume ran is recorded');
    // So are libtorch's threads: a run's CPU-hours read differently at one thread or two.
    assert.deepEqual([info.threads, info.resumedAt[0]?.threads], [backendInfo().threads, backendInfo().threads]);
    assert.match(fs.readFileSync(path.join(b, 'config.yaml'), 'utf8'), /^ {2}steps: 6$/m);
    const fa = fs.readFileSync(path.join(a, 'checkpoints', 'step-00000006.safetensors'));
    const fb = fs.readFileSync(path.join(b, 'checkpoints', 'step-00000006.safetensors'));
    assert.ok(fa.equals(fb), 'checkpoints at step 6 differ');
    const metrics = fs.readFileSync(path.join(b, 'metrics.jsonl'), 'utf8').trim().split('\n');
    assert.deepEqual(
      metrics.map((l) => (JSON.parse(l) as { step: number }).step),
      fs
        .readFileSync(path.join(a, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { step: number }).step),
    );
  });

  // fp16 autocast on the CPU needs libtorch 2.x; with 1.13 the run is refused (test/unit/amp.test.ts).
  const modes: [string, string][] = [
    ['bf16', 'contiguous'],
    ['bf16', 'channelsLast'],
    ['fp32', 'channelsLast'],
  ];
  if (Number(backendInfo().torch.split('.')[0]) >= 2) modes.push(['fp16', 'contiguous']);
  for (const [precision, format] of modes)
    test(`a ${precision} ${format} run resumes exactly (loss scale included)`, async () => {
      const a = path.join(tmp, 'runs', `${precision}-${format}-straight`);
      const b = path.join(tmp, 'runs', `${precision}-${format}-resumed`);
      const s = (dir: string, steps: number): TrainOptions => ({
        ...quiet,
        config: cfg('gan-int-cls'),
        runDir: dir,
        sets: [
          ...base(),
          `train.steps=${steps}`,
          `train.precision=${precision}`,
          `train.memoryFormat=${format}`,
          'train.logEvery=1',
        ],
      });
      await train(s(a, 6));
      await train(s(b, 3));
      await train({ ...quiet, resume: b, sets: ['train.steps=6'] });
      const fa = fs.readFileSync(path.join(a, 'checkpoints', 'step-00000006.safetensors'));
      const fb = fs.readFileSync(path.join(b, 'checkpoints', 'step-00000006.safetensors'));
      assert.ok(fa.equals(fb), 'checkpoints at step 6 differ');
      const ck = loadCheckpoint(path.join(b, 'checkpoints', 'step-00000006.safetensors'));
      const amp = (ck.manifest.state as { amp: { scale: number; growthTracker: number } | null }).amp;
      for (const t of ck.tensors.values()) t.dispose();
      const metrics = metricsOf(b);
      if (precision === 'fp16') {
        assert.ok(amp !== null && amp.scale > 0 && amp.growthTracker >= 0, 'the loss scale is checkpointed');
        const ampSeries = (dir: string): string =>
          JSON.stringify(
            metricsOf(dir)
              .filter((l) => 'amp/scale' in l)
              .map((l) => [l.step, l['amp/scale'], l['amp/overflows']]),
          );
        assert.equal(ampSeries(b), ampSeries(a), 'the loss scale and overflow count continue exactly');
        assert.equal(metrics.filter((l) => 'amp/scale' in l).at(-1)!['amp/scale'], amp.scale);
      } else assert.equal(amp, null);
      assert.deepEqual(
        [RunDir.open(b).info().mode?.precision, RunDir.open(b).info().mode?.memoryFormat],
        [precision, format],
      );
    });

  test("a resume that changes a rate (--set) trains at the new rate, not the checkpoint's", async () => {
    const dir = path.join(tmp, 'runs', 'new-rate');
    await train({ ...quiet, config: cfg('gan-int-cls'), runDir: dir, sets: [...base(), 'train.steps=3'] });
    const optimAt = (step: number): Record<string, Record<string, number>> => {
      const ck = loadCheckpoint(path.join(dir, 'checkpoints', `step-${String(step).padStart(8, '0')}.safetensors`));
      for (const t of ck.tensors.values()) t.dispose();
      return (ck.manifest.state as { optim: Record<string, Record<string, number>> }).optim;
    };
    const first = optimAt(3);
    assert.equal(first.D!.lr, 0.0002);
    await train({ ...quiet, resume: dir, sets: ['train.steps=6', 'optim.discriminator.lr=0.00005'] });
    const then = optimAt(6);
    assert.equal(then.D!.lr, 0.00005, "D's new rate");
    assert.equal(then.G!.lr, 0.0002, "G's rate as configured");
    assert.equal(then.D!.step, first.D!.step! + 3, "Adam's step count goes on");
    assert.equal(then.D!.beta1, first.D!.beta1);
  });

  test('a run copied without its samples folder resumes and writes its samples', async () => {
    const dir = path.join(tmp, 'runs', 'no-samples');
    await train({ ...quiet, config: cfg('gan-int-cls'), runDir: dir, sets: [...base(), 'train.steps=3'] });
    fs.rmSync(path.join(dir, 'samples'), { recursive: true });
    const r = await train({ ...quiet, resume: dir, sets: ['train.steps=6', 'train.sampleEvery=3'] });
    assert.equal(r.step, 6);
    assert.ok(fs.existsSync(path.join(dir, 'samples', 'step-00000006.png')));
  });

  test('a truncated newest checkpoint is reported and the previous one is used', async () => {
    const dir = path.join(tmp, 'runs', 'corrupt');
    await train({ ...quiet, config: cfg('gan-int-cls'), runDir: dir, sets: [...base(), 'train.steps=6'] });
    const f = path.join(dir, 'checkpoints', 'step-00000006.safetensors');
    fs.truncateSync(f, fs.statSync(f).size - 100);
    assert.throws(() => loadCheckpoint(f), /truncated or corrupt/);
    const logs: string[] = [];
    const r = await train({ progress: false, log: (m) => logs.push(m), resume: dir, sets: ['train.steps=7'] });
    assert.ok(
      logs.some((l) => /step-00000006\.safetensors is truncated or corrupt.*trying the previous/.test(l)),
      logs.join('\n'),
    );
    assert.ok(logs.some((l) => /resumed .* at step 3/.test(l)));
    assert.equal(r.step, 7);
  });

  test('a flipped byte fails the checksum, with a clear CLI error', async () => {
    const dir = path.join(tmp, 'runs', 'corrupt');
    const store = new CheckpointStore(path.join(dir, 'checkpoints'));
    const newest = store.list()[0]!;
    const f = path.join(dir, 'checkpoints', `step-${String(newest).padStart(8, '0')}.safetensors`);
    const buf = fs.readFileSync(f);
    buf[buf.length - 5] = buf[buf.length - 5]! ^ 0xff;
    fs.writeFileSync(f, buf);
    assert.throws(() => store.load(newest), /SHA-256 does not match/);
    await assert.rejects(
      run(process.execPath, [cli, 'sample', '--model', f, '--text', 'a red circle']),
      (e: { stderr: string; code: number }) => e.code === 1 && /is corrupt/.test(e.stderr),
    );
  });

  test('every checkpoint corrupt: resume refuses without --restart; with it, pruning keeps the new ones', async () => {
    const dir = path.join(tmp, 'runs', 'all-corrupt');
    await train({
      ...quiet,
      config: cfg('gan-int-cls'),
      runDir: dir,
      sets: [...base(), 'train.steps=6', 'train.checkpointEvery=2', 'train.keep=2'],
    });
    const ckDir = path.join(dir, 'checkpoints');
    const store = new CheckpointStore(ckDir, 2);
    const before = store.list();
    assert.ok(before.length >= 2, `checkpoints ${before.join(', ')}`);
    for (const step of before) {
      const f = path.join(ckDir, `step-${String(step).padStart(8, '0')}.safetensors`);
      const buf = fs.readFileSync(f);
      buf[buf.length - 3] = buf[buf.length - 3]! ^ 0x01;
      fs.writeFileSync(f, buf);
    }
    await assert.rejects(
      train({ ...quiet, resume: dir, sets: ['train.steps=8'] }),
      /every checkpoint of .* is corrupt; they were moved aside as \*\.corrupt\. Resume with --restart/,
    );
    // Moved aside, not deleted; the store no longer lists them.
    assert.deepEqual(store.list(), []);
    assert.ok(fs.readdirSync(ckDir).some((f) => f.endsWith('.safetensors.corrupt')));
    const logs: string[] = [];
    const r = await train({
      progress: false,
      log: (m) => logs.push(m),
      resume: dir,
      restart: true,
      sets: ['train.steps=6'],
    });
    assert.equal(r.step, 6);
    assert.ok(
      logs.some((l) => /no valid checkpoint: starting from step 0 \(--restart\)/.test(l)),
      logs.join('\n'),
    );
    // The new checkpoints are the newest valid ones and pruning kept them (keep 2, and the best of
    // this restarted run, recorded afresh).
    const after = store.list();
    const best = store.best()!.step;
    assert.deepEqual(
      after.filter((x) => x !== best),
      [6, 4].filter((x) => x !== best),
    );
    assert.ok(after.includes(best), `best step ${best} kept`);
    for (const step of after) assert.doesNotThrow(() => store.load(step).tensors.forEach((t) => t.dispose()));
    await assert.rejects(
      train({ ...quiet, resume: path.join(tmp, 'runs', 'nope') }),
      /--resume .*nope: no such run directory/,
    );
  });

  test('a new run that fails before its first checkpoint leaves no folder behind; the same command then works', async () => {
    const dir = path.join(tmp, 'runs', 'failed-first');
    const sets = (cache: string): string[] => [`data.cache=${cache}`, `condition.damsm=${damsmRun}`, 'train.steps=1'];
    await assert.rejects(
      train({ ...quiet, config: cfg('gan-int-cls'), runDir: dir, sets: sets(path.join(tmp, 'no-such-cache')) }),
      /no-such-cache/,
    );
    assert.equal(fs.existsSync(dir), false, 'the failed run left its folder');
    const r = await train({ ...quiet, config: cfg('gan-int-cls'), runDir: dir, sets: sets(shapes) });
    assert.equal(r.step, 1);
  });

  test('Ctrl-C writes a checkpoint, and the run resumes from it', async () => {
    const dir = path.join(tmp, 'runs', 'sigint');
    const child = spawn(
      process.execPath,
      [
        cli,
        'train',
        '--config',
        cfg('gan-int-cls'),
        '--run-dir',
        dir,
        '--no-progress',
        '--set',
        `data.cache=${shapes}`,
        '--set',
        `condition.damsm=${damsmRun}`,
        '--set',
        'train.steps=100000',
        '--set',
        'train.logEvery=1',
        '--set',
        'train.checkpointEvery=100000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/step 5\//.test(err) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', resolve);
    });
    assert.equal(code, 130, err);
    assert.match(err, /stopped at step \d+ \(interrupted\)/);
    const store = new CheckpointStore(path.join(dir, 'checkpoints'));
    const step = store.list()[0]!;
    assert.ok(step >= 5 && step < 100000);
    const r = await train({ ...quiet, resume: dir, sets: [`train.steps=${step + 2}`] });
    assert.equal(r.step, step + 2);
  });
});

describe('TensorBoard', () => {
  test('the event file holds the losses and the sample grids', () => {
    const dir = path.join(tmp, 'runs', 'gic');
    const file = fs.readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.'))!;
    const events = readEvents(path.join(dir, file));
    const tags = new Set(events.flatMap((e) => e.values.map((v) => v.tag)));
    for (const t of [
      'loss/D',
      'loss/G',
      'D/real',
      'D/fake',
      'D/wrong',
      'grad/D',
      'grad/G',
      'lr/G',
      'perf/img_per_sec',
      'samples',
    ])
      assert.ok(tags.has(t), `missing ${t}`);
    const img = events.flatMap((e) => e.values).find((v) => v.tag === 'samples')!;
    assert.ok(img.image!.width > 32 && img.image!.height > 32);
  });
});
