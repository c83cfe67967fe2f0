// The hair/eye colour classifier and the attribute accuracy of generated faces (HW3-2): the
// classifier learns a tiny synthetic tag dataset well above chance, keeps its best checkpoint by
// val_acc_both, refuses untagged data, and scores a (barely trained) tag GAN end to end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { CacheReader, DataLoader, prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { liveTensors, randn } from '../../src/engine/index.js';
import { loadAttributeClassifier } from '../../src/artifacts/attribute-classifier.js';
import { attributeAccuracy, comboKeys } from '../../src/eval/attribute-accuracy.js';
import { metricsOf } from '../helpers/runs.js';
import { TINY_TAG_GAN, prepareTagCache } from '../helpers/tag-dataset.js';
import { AttributeClassifier } from '../../src/models/attribute-classifier.js';
import { readDirections } from '../../src/inference/latent-edit.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-attr-'));
const tags = path.join(tmp, 'tags');
const clsRun = path.join(tmp, 'runs', 'classifier');
const ganRun = path.join(tmp, 'runs', 'gan');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const config = path.join(root, 'configs', 'attribute-classifier-anime.yaml');

let metrics: Record<string, number>[] = [];

before(async () => {
  await prepareTagCache(tags, 8, 'random:0.75,0.125');
  await train({
    ...quiet,
    config,
    runDir: clsRun,
    sets: [
      `data.cache=${tags}`,
      'data.batchSize=16',
      'data.workers=0',
      'classifier.width=8',
      'optim.lr=0.002',
      'train.steps=60',
      'train.checkpointEvery=20',
      'train.logEvery=10',
    ],
  });
  metrics = metricsOf(clsRun).filter((m) => m['eval/val_acc_both'] !== undefined);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('attribute classifier', () => {
  test('one logit vector per head, any input size brought to its resolution', () => {
    const net = new AttributeClassifier({ heads: [5, 4], width: 4, resolution: 32 });
    try {
      using x = randn([2, 3, 64, 64]);
      const out = net.forward(x);
      assert.deepEqual(
        out.map((t) => t.shape),
        [
          [2, 5],
          [2, 4],
        ],
      );
      out.forEach((t) => t.dispose());
      assert.throws(() => new AttributeClassifier({ heads: [5], resolution: 48 }), /resolution must be/);
    } finally {
      net.dispose();
    }
  });

  test('validation accuracy is well above chance (hair 1/4, eyes 1/3)', () => {
    assert.equal(metrics.length, 3, 'evaluated at steps 20, 40, 60');
    const last = metrics[metrics.length - 1]!;
    const best = Math.max(...metrics.map((m) => m['eval/val_acc_both']!));
    // Seeds 0–5 all reach 1.0 on every head by step 20; the margins allow for other thread counts.
    assert.ok(last['eval/val_acc_hair']! >= 0.9, `hair ${last['eval/val_acc_hair']}`);
    assert.ok(last['eval/val_acc_eyes']! >= 0.8, `eyes ${last['eval/val_acc_eyes']}`);
    assert.ok(best >= 0.75, `both ${best}`);
    assert.ok(Number.isFinite(last['eval/val_loss']!));
  });

  test('the best checkpoint is chosen by val_acc_both', () => {
    const best = JSON.parse(fs.readFileSync(path.join(clsRun, 'checkpoints', 'best.json'), 'utf8')) as {
      step: number;
      metric: string;
      value: number;
    };
    assert.equal(best.metric, 'val_acc_both');
    assert.equal(best.value, Math.max(...metrics.map((m) => m['eval/val_acc_both']!)));
  });

  test('the loaded best checkpoint reads the validation faces as the recipe measured', async () => {
    const best = JSON.parse(fs.readFileSync(path.join(clsRun, 'checkpoints', 'best.json'), 'utf8')) as {
      step: number;
      value: number;
    };
    const c = loadAttributeClassifier(clsRun);
    const loader = new DataLoader(CacheReader.open(tags), {
      batchSize: 16,
      split: 'val',
      augment: false,
      dropLast: false,
      workers: 0,
    });
    try {
      assert.match(c.source, new RegExp(`step-${String(best.step).padStart(8, '0')}\\.safetensors$`));
      assert.ok(c.vocabulary.hair.includes('aqua'), 'the assignment colours have slots even when absent');
      let both = 0;
      let n = 0;
      for await (const b of loader.epoch(0)) {
        const got = c.classify(b.images.get(64)!);
        b.attributes.forEach((a, i) => {
          both += Number(got.hair[i] === a!.hair && got.eyes[i] === a!.eyes);
          n++;
        });
        b.dispose();
      }
      assert.ok(n >= 6, `${n} validation faces`);
      assert.equal(both / n, best.value);
    } finally {
      await loader.close();
      c.dispose();
    }
  });

  test('trains in bf16 mixed precision with finite losses', async () => {
    const dir = path.join(tmp, 'runs', 'cls-bf16');
    await train({
      ...quiet,
      config,
      runDir: dir,
      sets: [
        `data.cache=${tags}`,
        'data.batchSize=16',
        'data.workers=0',
        'classifier.width=8',
        'train.steps=2',
        'train.logEvery=1',
        'train.precision=bf16',
      ],
    });
    const lines = metricsOf(dir).filter((m) => m['loss/total'] !== undefined);
    assert.equal(lines.length, 2);
    for (const l of lines)
      for (const k of ['loss/total', 'grad/classifier']) assert.ok(Number.isFinite(l[k]), `${k}=${l[k]}`);
  });

  test('train.standingStats is refused before the first step: a classifier has no generator', async () => {
    await assert.rejects(
      train({
        ...quiet,
        config,
        runDir: path.join(tmp, 'runs', 'standing'),
        sets: [`data.cache=${tags}`, 'data.batchSize=8', 'data.workers=0', 'train.steps=1', 'train.standingStats=2'],
      }),
      /train\.standingStats is for GANs: attribute-classifier has no generator/,
    );
    assert.ok(!fs.existsSync(path.join(tmp, 'runs', 'standing', 'checkpoints', 'step-00000001.safetensors')));
  });

  test('data without hair/eyes attributes is refused at creation', async () => {
    const shapes = path.join(tmp, 'shapes');
    await prepareCache(await openDataset('shapes:64:1'), { out: shapes, resolutions: [32] });
    await assert.rejects(
      train({
        ...quiet,
        config,
        runDir: path.join(tmp, 'runs', 'shapes'),
        sets: [`data.cache=${shapes}`, 'data.resolution=32', 'data.batchSize=8', 'data.workers=0', 'train.steps=1'],
      }),
      /has no hair\/eyes attributes: the attribute classifier needs a tag dataset/,
    );
  });
});

describe('attribute accuracy of generated faces', () => {
  before(async () => {
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-gan-anime.yaml'),
      runDir: ganRun,
      sets: [`data.cache=${tags}`, ...TINY_TAG_GAN, 'train.steps=2'],
    });
  });

  test('fractions in [0, 1], a row per combination, and an unseen block', () => {
    const before = liveTensors();
    const pipeline = TextToImagePipeline.load(ganRun);
    const classifier = loadAttributeClassifier(clsRun);
    try {
      const reader = CacheReader.open(tags);
      const trainCombos = comboKeys(reader.records);
      reader.close();
      assert.ok(trainCombos.has('blue|red'));
      const combos = [
        { hair: 'blue', eyes: 'red' },
        { hair: 'pink', eyes: 'green' },
        { hair: 'aqua', eyes: 'yellow' }, // known colours, absent from the data
        { hair: 'Blond', eyes: 'gray' }, // aliases are resolved
      ];
      const o = { combos, perCombo: 20, seed: 3, trainCombos };
      const r = attributeAccuracy(pipeline, classifier, o); // 80 images: two generation batches
      assert.equal(r.n, 80);
      for (const v of [r.hair, r.eyes, r.both]) assert.ok(v >= 0 && v <= 1, String(v));
      assert.ok(r.both <= Math.min(r.hair, r.eyes));
      assert.deepEqual(
        r.perCombo.map((c) => [c.hair, c.eyes, c.n, c.inTraining]),
        [
          ['blue', 'red', 20, true],
          ['pink', 'green', 20, true],
          ['aqua', 'yellow', 20, false],
          ['blonde', 'gray', 20, false],
        ],
      );
      for (const c of r.perCombo) for (const v of Object.values(c.accuracy)) assert.ok(v >= 0 && v <= 1);
      assert.equal(r.unseen?.combos, 2);
      const mean = (k: 'hair' | 'eyes' | 'both'): number =>
        r.perCombo.reduce((a, c) => a + c.accuracy[k], 0) / r.perCombo.length;
      assert.ok(Math.abs(r.hair - mean('hair')) < 1e-12);
      assert.deepEqual(attributeAccuracy(pipeline, classifier, o), r, 'the same seed gives the same result');
      assert.equal(
        attributeAccuracy(pipeline, classifier, { combos: combos.slice(0, 2), perCombo: 2, seed: 0 }).unseen,
        null,
      );
      assert.throws(
        () =>
          attributeAccuracy(pipeline, classifier, { combos: [{ hair: 'plaid', eyes: 'red' }], perCombo: 1, seed: 0 }),
        /unknown hair colour "plaid"/,
      );
    } finally {
      pipeline.dispose();
      classifier.dispose();
    }
    assert.equal(liveTensors(), before, 'nothing is left allocated');
  });

  test('a tag GAN run keeps its best checkpoint by the attribute accuracy the classifier measures', async () => {
    const dir = path.join(tmp, 'runs', 'gan-attr');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-gan-anime.yaml'),
      runDir: dir,
      sets: [
        `data.cache=${tags}`,
        ...TINY_TAG_GAN,
        'seed=5',
        'train.steps=2',
        'train.checkpointEvery=1',
        `eval.classifier=${clsRun}`,
        'eval.perCombo=2',
      ],
    });
    const best = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'best.json'), 'utf8')) as {
      metric: string;
      step: number;
      value: number;
    };
    assert.equal(best.metric, 'attr_both');
    const evals = metricsOf(dir).filter((l) => l['eval/attr_both'] !== undefined);
    assert.deepEqual(
      evals.map((l) => l.step),
      [1, 2],
    );
    for (const l of evals)
      for (const k of ['eval/attr_hair', 'eval/attr_eyes', 'eval/attr_both', 'eval/attr_unseen_both'])
        assert.ok(l[k]! >= 0 && l[k]! <= 1, `${k}=${l[k]}`);
    assert.equal(best.value, Math.max(...evals.map((l) => l['eval/attr_both']!)));
    // The same measurement from the saved checkpoint: every combination both know, the run's seed.
    const pipeline = TextToImagePipeline.load(path.join(dir, 'checkpoints', 'step-00000002.safetensors'));
    const classifier = loadAttributeClassifier(clsRun);
    try {
      const vocab = classifier.vocabulary;
      const combos = vocab.hair.flatMap((hair) => vocab.eyes.map((eyes) => ({ hair, eyes })));
      const reader = CacheReader.open(tags);
      const trainCombos = comboKeys(reader.records);
      reader.close();
      const r = attributeAccuracy(pipeline, classifier, { combos, perCombo: 2, seed: 5 + 3000, trainCombos });
      assert.equal(r.both, evals[1]!['eval/attr_both']);
      assert.equal(r.hair, evals[1]!['eval/attr_hair']);
    } finally {
      pipeline.dispose();
      classifier.dispose();
    }
    await assert.rejects(
      train({
        ...quiet,
        config: path.join(root, 'configs', 'tag-gan-anime.yaml'),
        runDir: path.join(tmp, 'runs', 'gan-attr-bad'),
        sets: [`data.cache=${tags}`, ...TINY_TAG_GAN, 'train.steps=1', `eval.classifier=${ganRun}`],
      }),
      /is not an attribute-classifier checkpoint/,
    );
  });

  test('a GAN checkpoint is not taken for a classifier', () => {
    assert.throws(
      () => loadAttributeClassifier(ganRun),
      /is not an attribute-classifier checkpoint \(model: tag-gan\)/,
    );
  });

  test('creativeai eval --metrics attr prints the table and writes JSON', async () => {
    const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
    const json = path.join(tmp, 'attr.json');
    const { stdout } = await promisify(execFile)(process.execPath, [
      cli,
      'eval',
      '--model',
      ganRun,
      '--classifier',
      clsRun,
      '--dataset',
      tags,
      '--per-combo',
      '2',
      '--json',
      json,
    ]);
    assert.match(stdout, /\| all \d+ \| [\d.]+% \| [\d.]+% \| [\d.]+% \|/);
    assert.match(stdout, /\| in the training data \(12\) \|/);
    const r = JSON.parse(fs.readFileSync(json, 'utf8')) as { attr: { n: number; perCombo: unknown[] } };
    assert.equal(r.attr.n, r.attr.perCombo.length * 2);
    await assert.rejects(
      promisify(execFile)(process.execPath, [cli, 'eval', '--model', ganRun, '--metrics', 'attr,fidd']),
      (e: { stderr: string }) => /unknown metric\(s\) fidd/.test(e.stderr),
    );
  });

  test('creativeai directions: unit noise directions and tag blends, measured; sample takes them', async () => {
    const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
    const file = path.join(tmp, 'directions.json');
    const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args]);
    const { stdout } = await run(
      'directions',
      '--model',
      ganRun,
      '--classifier',
      clsRun,
      '--out',
      file,
      '--samples',
      '64',
      '--measure',
      '16',
      '--strengths',
      '1.5',
    );
    assert.match(stdout, /\d+ directions → /);
    const d = readDirections(file);
    const pipe = TextToImagePipeline.load(ganRun, 'cpu', { directions: file, precision: 'fp32' });
    try {
      assert.equal(d.noiseDim, pipe.noiseDim);
      assert.deepEqual(d.strengths, { min: -1.5, max: 1.5 });
      assert.ok(d.directions.length > 0);
      for (const x of d.directions) {
        assert.match(x.name, /^noise:(hair|eyes):/);
        assert.ok(Math.abs(Math.hypot(...x.vector) - 1) < 1e-9, `${x.name} has unit length`);
        assert.deepEqual(
          x.measured.map((m) => m.strength),
          [-1.5, 0, 1.5],
        );
        assert.equal(x.measured[1]!.othersKept, 1, 'strength 0 keeps the other attribute');
      }
      // One blend per colour the classifier knows, measured at 0, ¼, ½, ¾, 1.
      const c = loadAttributeClassifier(clsRun);
      assert.equal(d.blends.length, c.vocabulary.hair.length + c.vocabulary.eyes.length);
      c.dispose();
      for (const b of d.blends) {
        assert.deepEqual(
          b.measured.map((m) => m.strength),
          [0, 0.25, 0.5, 0.75, 1],
        );
        for (const m of b.measured) assert.ok(m.target >= 0 && m.target <= 1 && m.othersKept >= 0 && m.othersKept <= 1);
      }
      // The truncation trick at ψ 1, 0.8, 0.6, 0.4: less spread among faces with the same tags.
      assert.deepEqual(
        d.truncation!.map((t) => t.psi),
        [1, 0.8, 0.6, 0.4],
      );
      const spread = d.truncation!.map((t) => t.pixelStd);
      assert.ok(spread[3]! <= spread[0]!, `spread ${spread.join(', ')}`);
      // The pipeline moves the noise along a direction: other images, the same without it.
      const name = d.directions[0]!.name;
      using z = pipe.noise(2, 3);
      using plain = pipe.generateFrom(z, ['blue hair red eyes', 'blue hair red eyes']);
      using moved = pipe.generateFrom(z, ['blue hair red eyes', 'blue hair red eyes'], { directions: { [name]: 1.5 } });
      using none = pipe.generateFrom(z, ['blue hair red eyes', 'blue hair red eyes'], { directions: { [name]: 0 } });
      using diff = moved.sub(plain);
      using same = none.sub(plain);
      // A 2-step generator barely reads its noise (seeds differ by ~2e-4): any change counts.
      assert.ok((diff.abs().max().item() as number) > 0, 'a direction changes the image');
      assert.equal(same.abs().max().item(), 0, 'strength 0 changes nothing');
      assert.throws(
        () =>
          pipe.generateFrom(
            z,
            ['a', 'b'].map(() => 'blue hair red eyes'),
            { directions: { [name]: 3 } },
          ),
        /\[-1.5, 1.5\]/,
      );
    } finally {
      pipe.dispose();
    }
    const out = path.join(tmp, 'dir.png');
    await run(
      'sample',
      '--model',
      ganRun,
      '--text',
      'blue hair red eyes',
      '--n',
      '2',
      '--direction',
      'hair:green=0.5',
      '--psi',
      '0.8',
      '--out',
      out,
    );
    assert.ok(fs.statSync(out).size > 0);
    await assert.rejects(
      run('sample', '--model', ganRun, '--text', 'blue hair red eyes', '--psi', '2'),
      (e: { stderr: string }) => /--psi must be in \(0, 1\]/.test(e.stderr),
    );
    await assert.rejects(run('directions', '--model', ganRun), (e: { stderr: string }) =>
      /--classifier is required/.test(e.stderr),
    );
  });
});
