// `creativeai eval` end to end on tiny runs: a tag GAN measured with the attribute classifier as
// its feature network (fid, kid, div, is, attr), a caption GAN on the shapes set measured with the
// DAMSM its config names (fid, kid, div, rprec); the JSON, the labels that keep project-feature
// numbers apart from standard FID, reproducibility, and the usage errors for missing inputs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { liveTensors } from '../../src/engine/index.js';
import { evaluateGenerator, type EvaluationResult } from '../../src/eval/evaluate.js';
import type { EncoderEvaluation } from '../../src/eval/real-retrieval.js';
import { CacheReader } from '../../src/data/index.js';
import { classifierNetwork } from '../../src/eval/feature-network.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { TINY_TAG_GAN, prepareTagCache } from '../helpers/tag-dataset.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-eval-cli-'));
const tags = path.join(tmp, 'tags');
const shapes = path.join(tmp, 'shapes');
const clsRun = path.join(tmp, 'runs', 'classifier');
const tagRun = path.join(tmp, 'runs', 'tag-gan');
const damsmRun = path.join(tmp, 'runs', 'damsm');
const gicRun = path.join(tmp, 'runs', 'gic');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const env = { ...process.env, CREATIVEAI_THREADS: process.env.CREATIVEAI_THREADS ?? '1' };

const creativeai = (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
  run(process.execPath, [cli, ...args], { env });

before(async () => {
  await prepareTagCache(tags, 8, 'random:0.5,0.2');
  await train({
    ...quiet,
    config: path.join(root, 'configs', 'attribute-classifier-anime.yaml'),
    runDir: clsRun,
    sets: [`data.cache=${tags}`, 'data.batchSize=16', 'data.workers=0', 'classifier.width=8', 'train.steps=10'],
  });
  await train({
    ...quiet,
    config: path.join(root, 'configs', 'tag-gan-anime.yaml'),
    runDir: tagRun,
    sets: [`data.cache=${tags}`, ...TINY_TAG_GAN, 'train.steps=2'],
  });
  await prepareCache(await openDataset('shapes:400:3'), { out: shapes, resolutions: [32] });
  const cfg = (name: string): string => path.join(root, 'configs', 'shapes', `${name}.yaml`);
  await train({ ...quiet, config: cfg('damsm'), runDir: damsmRun, sets: [`data.cache=${shapes}`, 'train.steps=4'] });
  await train({
    ...quiet,
    config: cfg('gan-int-cls'),
    runDir: gicRun,
    sets: [`data.cache=${shapes}`, `condition.damsm=${damsmRun}`, 'train.steps=2', 'eval.samples=0'],
  });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

describe('creativeai eval', () => {
  test('a tag model: fid, kid, div, is and attr on the classifier, as a table and as JSON', async () => {
    const json = path.join(tmp, 'out', 'tag.json');
    const { stdout } = await creativeai(
      'eval',
      ...['--model', tagRun, '--dataset', tags, '--metrics', 'fid,kid,div,is,attr', '--classifier', clsRun],
      ...['--n', '24', '--batch-size', '10', '--per-combo', '1', '--div-captions', '3', '--div-samples', '4'],
      ...['--json', json],
    );
    const r = JSON.parse(fs.readFileSync(json, 'utf8')) as EvaluationResult;
    const name = r.features!.name;
    assert.match(name, /^attribute-classifier-anime@10\/pool64$/, 'run name, step, pooled channels (8 × width 8)');
    assert.equal(r.features!.standard, false);
    assert.equal(r.fid!.label, `FID (project features: ${name})`);
    assert.equal(r.kid!.label, `KID (project features: ${name})`);
    assert.equal(r.div!.label, `Diversity (project features: ${name})`);
    assert.equal(r.is!.label, `IS (project classifier: ${name})`);
    assert.equal(r.n, 24);
    assert.equal(r.fid!.generated, 24);
    assert.equal(r.fid!.real, r.realImages);
    assert.ok(r.realImages >= 10, `${r.realImages} held-out test faces`);
    assert.ok(finite(r.fid!.value) && r.fid!.value > 0, `FID ${r.fid!.value}`);
    assert.ok(finite(r.kid!.mean) && finite(r.kid!.std) && r.kid!.values.length === 100);
    assert.equal(r.kid!.subsetSize, Math.min(24, r.realImages));
    assert.ok(r.is!.mean >= 1 - 1e-9 && r.is!.mean <= 132, `IS ${r.is!.mean} over 12 × 11 classes`);
    assert.equal(r.is!.classes, 132);
    assert.equal(r.div!.captions, 3);
    assert.equal(r.div!.perCaption, 4);
    assert.ok(r.div!.generated >= 0 && r.div!.real > 0);
    assert.equal(r.div!.modeCollapse, r.div!.ratio < 0.5);
    assert.equal(r.attr!.n, 132, 'one face per combination');
    assert.ok(r.attr!.both <= Math.min(r.attr!.hair, r.attr!.eyes));
    // The table names every metric the way the JSON does.
    for (const label of [r.fid!.label, r.kid!.label, r.is!.label, r.div!.label])
      assert.ok(stdout.includes(`| ${label} |`), label);
    assert.match(stdout, /\| all 132 \| [\d.]+% \| [\d.]+% \| [\d.]+% \|/);
  });

  test('a caption model: the DAMSM of its config gives the features and R-precision', async () => {
    const json = path.join(tmp, 'out', 'gic.json');
    await creativeai(
      'eval',
      ...['--model', gicRun, '--dataset', shapes, '--metrics', 'fid,kid,div,rprec', '--n', '30', '--split', 'val,test'],
      ...['--div-captions', 'all', '--div-samples', '3', '--json', json],
    );
    const r = JSON.parse(fs.readFileSync(json, 'utf8')) as EvaluationResult;
    // 'all': one caption for every held-out class with two or more real images.
    const reader = CacheReader.open(shapes);
    const perClass = new Map<string, number>();
    for (const rec of reader.records)
      if (rec.split !== 'train') perClass.set(rec.classId, (perClass.get(rec.classId) ?? 0) + 1);
    reader.close();
    const eligible = [...perClass.values()].filter((n) => n >= 2).length;
    assert.ok(eligible > 2, 'more classes than the numeric tests ask for');
    assert.equal(r.div!.perCaptionDiversity.length, eligible);
    assert.match(r.features!.name, /^damsm@4\/global32$/);
    assert.match(r.fid!.label, /^FID \(project features: damsm@4\/global32\)$/);
    assert.deepEqual(r.splits, ['val', 'test']);
    assert.equal(r.realImages, 52 + 36, 'both held-out splits of the shapes set');
    assert.ok(finite(r.fid!.value) && finite(r.kid!.mean));
    assert.equal(r.rprec!.samples, 30);
    assert.ok(r.rprec!.mean >= 0 && r.rprec!.mean <= 1 && r.rprec!.splits.length === 10);
    assert.match(r.rprec!.label, /^R-precision \(DAMSM: damsm@4\/global32\)$/);
  });

  test("the DAMSM alone on real held-out images: retrieval both ways and the real R-precision a generator's score carries", async () => {
    const json = path.join(tmp, 'out', 'damsm.json');
    const common = ['--dataset', shapes, '--n', '30', '--split', 'val,test'];
    const { stdout } = await creativeai('eval', '--damsm', damsmRun, ...common, '--json', json);
    const r = JSON.parse(fs.readFileSync(json, 'utf8')) as EncoderEvaluation;
    const reader = CacheReader.open(shapes);
    const held = reader.records.filter((x) => x.split === 'val' || x.split === 'test');
    reader.close();
    assert.equal(r.images, held.length);
    assert.equal(
      r.captions,
      held.reduce((n, x) => n + x.captions.length, 0),
    );
    for (const x of [r.imageToText, r.textToImage])
      assert.ok(0 <= x.r1 && x.r1 <= x.r5 && x.r5 <= x.r10 && x.r10 <= 1, JSON.stringify(x));
    assert.equal(r.rprec.samples, 30);
    assert.match(r.rprec.label, /^R-precision of real images \(DAMSM: damsm@4\/global32\)$/);
    assert.ok(stdout.includes('| image → caption recall @1 / @5 / @10 |'));
    // A second pair of the same config, another seed: its label says which pair scored.
    const seeded = path.join(tmp, 'runs', 'damsm-seed1');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'shapes', 'damsm.yaml'),
      runDir: seeded,
      sets: [`data.cache=${shapes}`, 'train.steps=2', 'seed=1'],
    });
    const s1 = await creativeai('eval', '--damsm', seeded, ...common);
    assert.match(s1.stdout, /\| R-precision of real images \(DAMSM: damsm-seed1@2\/global32\) \|/);
    // A generator's rprec carries the same real-image figure: same captions, same draws.
    const gen = path.join(tmp, 'out', 'gic-rprec.json');
    const g = await creativeai('eval', '--model', gicRun, ...common, '--metrics', 'rprec', '--json', gen);
    const e = JSON.parse(fs.readFileSync(gen, 'utf8')) as EvaluationResult;
    assert.deepEqual(e.rprec!.real.rprec.splits, r.rprec.splits);
    assert.deepEqual(e.rprec!.real.imageToText, r.imageToText);
    assert.match(
      g.stdout,
      /\| R-precision of real images \(DAMSM: damsm@4\/global32\) \| [\d.]+% ± [\d.]+ \| the same captions/,
    );
    const fails = async (args: string[], re: RegExp): Promise<void> =>
      assert.rejects(
        creativeai('eval', ...args),
        (x: { stderr: string; code: number }) => x.code === 2 && re.test(x.stderr),
      );
    await fails(['--damsm', damsmRun], /--damsm without --model needs --dataset/);
    await fails(['--damsm', damsmRun, '--dataset', shapes, '--metrics', 'fid'], /without --model only --metrics rprec/);
  });

  test('a DAMSM exported with --image-encoder scores as its run does; without it, or from a GAN, it says why not', async () => {
    const common = ['--dataset', shapes, '--n', '30', '--split', 'val,test'];
    const file = path.join(tmp, 'out', 'damsm-both.safetensors');
    await creativeai('export', '--model', damsmRun, '--image-encoder', '--out', file);
    const fromRun = path.join(tmp, 'out', 'damsm-run.json');
    const fromFile = path.join(tmp, 'out', 'damsm-file.json');
    await creativeai('eval', '--damsm', damsmRun, ...common, '--json', fromRun);
    await creativeai('eval', '--damsm', file, ...common, '--json', fromFile);
    const a = JSON.parse(fs.readFileSync(fromRun, 'utf8')) as EncoderEvaluation;
    const b = JSON.parse(fs.readFileSync(fromFile, 'utf8')) as EncoderEvaluation;
    assert.deepEqual(b.rprec.splits, a.rprec.splits);
    assert.deepEqual(b.imageToText, a.imageToText);
    assert.deepEqual(b.textToImage, a.textToImage);
    assert.equal(b.rprec.label, a.rprec.label);
    const textOnly = path.join(tmp, 'out', 'damsm-text.safetensors');
    await creativeai('export', '--model', damsmRun, '--out', textOnly);
    await assert.rejects(creativeai('eval', '--damsm', textOnly, ...common), (x: { stderr: string }) =>
      /text encoder only: .*--image-encoder/.test(x.stderr),
    );
    await assert.rejects(
      creativeai('export', '--model', gicRun, '--image-encoder', '--out', path.join(tmp, 'out', 'x.safetensors')),
      (x: { stderr: string; code: number }) => x.code === 2 && /--image-encoder is for DAMSM runs/.test(x.stderr),
    );
  });

  test('missing inputs and unknown metrics are usage errors that say what to pass', async () => {
    const fails = async (args: string[], re: RegExp): Promise<void> =>
      assert.rejects(
        creativeai('eval', ...args),
        (e: { stderr: string; code: number }) => e.code === 2 && re.test(e.stderr),
      );
    await fails(['--model', tagRun, '--metrics', 'fid,fidd'], /unknown metric\(s\) fidd: choose from fid,kid,is/);
    await fails(['--model', tagRun, '--metrics', 'fid'], /--metrics fid need\(s\) --dataset <cache>/);
    await fails(['--model', tagRun], /--metrics is required/);
    await fails(
      ['--model', tagRun, '--dataset', tags, '--metrics', 'kid'],
      /kid and div need a feature network: --inception <weights\.safetensors> .* or --features <run> \/ --classifier <run>/,
    );
    await fails(['--model', gicRun, '--dataset', shapes, '--metrics', 'is'], /--metrics is needs --inception/);
    await fails(['--model', tagRun, '--dataset', tags, '--metrics', 'rprec'], /rprec needs a caption \(DAMSM\) model/);
    await fails(['--model', gicRun, '--metrics', 'attr', '--classifier', clsRun], /is not a tag model/);
  });

  test('--reference: real images of another split in place of generated ones, whatever the model', async () => {
    // A second generator: the real-vs-real figures must not depend on which model is evaluated.
    const other = path.join(tmp, 'runs', 'tag-gan-2');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-gan-anime.yaml'),
      runDir: other,
      sets: [`data.cache=${tags}`, ...TINY_TAG_GAN, 'train.steps=1', 'seed=11'],
    });
    const net = classifierNetwork(clsRun);
    const results: EvaluationResult[] = [];
    try {
      for (const model of [tagRun, other]) {
        const pipe = TextToImagePipeline.load(model);
        try {
          results.push(
            await evaluateGenerator(pipe, {
              metrics: ['fid', 'kid'],
              dataset: tags,
              n: 24,
              seed: 5,
              batchSize: 8,
              features: net,
              reference: 'val',
            }),
          );
        } finally {
          pipe.dispose();
        }
      }
    } finally {
      net.dispose();
    }
    const [a, b] = results as [EvaluationResult, EvaluationResult];
    const ref = a.reference!;
    assert.equal(ref.split, 'val');
    // Up to n validation faces (the split has fewer), compared with the same test faces as the model's.
    assert.ok(ref.images >= 2 && ref.images <= 24, `${ref.images} reference images`);
    assert.equal(ref.fid!.generated, ref.images);
    assert.equal(ref.fid!.real, a.realImages);
    assert.equal(ref.fid!.label, a.fid!.label, "labelled like the model's figure");
    assert.ok(finite(ref.fid!.value) && finite(ref.kid!.mean));
    // Real against real depends on the data only; the generators' figures differ.
    assert.deepEqual(b.reference, a.reference);
    assert.notEqual(b.fid!.value, a.fid!.value);
    // Faces of the same distribution are closer than an untrained generator's blobs.
    assert.ok(ref.fid!.value < a.fid!.value, `real-vs-real ${ref.fid!.value} vs the model's ${a.fid!.value}`);
  });

  test('the same seed gives the same numbers, and nothing is left allocated', async () => {
    const live = liveTensors();
    const pipe = TextToImagePipeline.load(tagRun);
    const net = classifierNetwork(clsRun);
    try {
      const o = {
        metrics: ['fid', 'kid', 'div'] as const,
        dataset: tags,
        n: 12,
        seed: 5,
        batchSize: 5,
        features: net,
        diversity: { captions: 2, perCaption: 3 },
      };
      const a = await evaluateGenerator(pipe, o);
      const b = await evaluateGenerator(pipe, o);
      assert.deepEqual({ ...a, seconds: 0 }, { ...b, seconds: 0 });
      const c = await evaluateGenerator(pipe, { ...o, seed: 6 });
      assert.notEqual(c.fid!.value, a.fid!.value, 'another seed, other images');
    } finally {
      net.dispose();
      pipe.dispose();
    }
    assert.equal(liveTensors(), live);
  });
});
