// The projection-discriminator tag GAN: DiffAugment against a reference written here (exact
// shifts, zero borders, the cut square, no colour change, differentiable, seeded), conditional
// batch norm per attribute, the split projection head against its formula, the generator's shapes
// and tag reading, and training: finite hinge losses in bf16 + channels-last, one-wrong-tag
// negatives, exact resume, samples, and the pipeline sampling the run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  Generator,
  liveTensors,
  manualSeed,
  noGrad,
  randn,
  tensor,
  tidy,
  type Tensor,
} from '../../src/engine/index.js';
import { cutout, diffAugment, translate } from '../../src/models/layers/diff-augment.js';
import {
  ConditionalBatchNorm2d,
  ProjectionDiscriminator,
  TagGenerator,
  labelsOf,
} from '../../src/models/projection/index.js';
import { TagEncoder } from '../../src/models/tag-encoder.js';
import { summarizeRun } from '../../src/eval/run-summary.js';
import { loadCheckpoint } from '../../src/artifacts/checkpoint.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { uniformTagLabels } from '../../src/train/recipes/tag-projection-gan.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { exportCommand } from '../../src/cli/export.js';
import { readSafetensorsHeader } from '../../src/io/index.js';
import { metricsOf } from '../helpers/runs.js';
import { prepareTagCache } from '../helpers/tag-dataset.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-tagproj-'));
const tags = path.join(tmp, 'tags');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const START = liveTensors();
const TINY = [
  `data.cache=${tags}`,
  'data.batchSize=8',
  'data.workers=0',
  'generator.width=4',
  'discriminator.width=4',
  'generator.noiseDim=8',
  'samples.perCondition=2',
  'train.logEvery=1',
  'train.standingStats=0',
];

before(async () => {
  await prepareTagCache(tags, 4);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** x [1, 1, h, w] holding 1, 2, 3, … row by row. */
function ramp(h: number, w: number): Tensor {
  return tensor(
    Float32Array.from({ length: h * w }, (_, i) => i + 1),
    { shape: [1, 1, h, w] },
  );
}

describe('DiffAugment', () => {
  test('translation: every pixel comes from (i - dx, j - dy) of the same image, zero where that is outside', () => {
    using x = tidy(() => ramp(8, 8).expand(6, 3, 8, 8).contiguous());
    using y = translate(x, 0.25, new Generator(4));
    const v = y.toFloat32Array();
    let shifted = 0;
    for (let n = 0; n < 6; n++) {
      // Recover the shift from where pixel value 1 (source (0, 0)) or the first kept value landed.
      const img = v.subarray(n * 3 * 64, n * 3 * 64 + 64);
      const found: [number, number][] = [];
      for (let dx = -2; dx <= 2; dx++)
        for (let dy = -2; dy <= 2; dy++) {
          let ok = true;
          for (let i = 0; i < 8 && ok; i++)
            for (let j = 0; j < 8 && ok; j++) {
              const si = i + dx;
              const sj = j + dy;
              const want = si >= 0 && si < 8 && sj >= 0 && sj < 8 ? si * 8 + sj + 1 : 0;
              ok = img[i * 8 + j] === want;
            }
          if (ok) found.push([dx, dy]);
        }
      assert.equal(found.length, 1, `image ${n} is one shift of the input within ±2 px`);
      if (found[0]![0] !== 0 || found[0]![1] !== 0) shifted++;
      for (let c = 1; c < 3; c++)
        assert.deepEqual(
          Array.from(v.subarray(n * 192 + c * 64, n * 192 + c * 64 + 64)),
          Array.from(img),
          'all channels move together',
        );
    }
    assert.ok(shifted > 0, 'some image moved');
  });

  test('cutout: one square of round(ratio · side) zeroed per image, the rest unchanged (no colour change)', () => {
    using x = tidy(() => randn([5, 3, 16, 16]).abs().add(0.5));
    using y = cutout(x, 0.5, new Generator(2));
    const a = x.toFloat32Array();
    const b = y.toFloat32Array();
    for (let n = 0; n < 5; n++) {
      let zeros = 0;
      for (let k = 0; k < 3 * 256; k++) {
        const i = n * 768 + k;
        if (b[i] === 0) zeros++;
        else assert.equal(b[i], a[i]);
      }
      assert.ok(
        zeros > 0 && zeros <= 3 * 64 && zeros % 3 === 0,
        `image ${n}: ${zeros} zeros (an 8×8 square at most, all channels)`,
      );
    }
  });

  test('the same generator state gives the same augmentation; ratios 0 give the input; gradients flow', () => {
    using x = randn([4, 3, 8, 8]);
    using a = diffAugment(x, { generator: new Generator(9) });
    using b = diffAugment(x, { generator: new Generator(9) });
    assert.deepEqual(Array.from(a.toFloat32Array()), Array.from(b.toFloat32Array()));
    using same = diffAugment(x, { translation: 0, cutout: 0 });
    assert.deepEqual(Array.from(same.toFloat32Array()), Array.from(x.toFloat32Array()));
    using leaf = tidy(() => x.detach().requiresGrad_(true));
    tidy(() =>
      diffAugment(leaf, { generator: new Generator(1) })
        .sum()
        .backward(),
    );
    using g = leaf.grad!;
    const gv = g.toFloat32Array();
    assert.ok(gv.every((v) => v >= 0) && gv.some((v) => v === 1), 'each kept pixel passes its gradient through');
    assert.throws(() => diffAugment(x, { translation: 1 }), /ratios must be in \[0, 1\)/);
  });
});

describe('networks', () => {
  test('conditional batch norm: plain batch norm at the start; each attribute adds its own scale and shift', () => {
    manualSeed(1);
    const cbn = new ConditionalBatchNorm2d(4, [3, 2]);
    using x = randn([6, 4, 5, 5]);
    using h = tensor(BigInt64Array.from([0, 1, 2, 0, 1, 2], BigInt));
    using e = tensor(BigInt64Array.from([0, 0, 0, 1, 1, 1], BigInt));
    using y0 = cbn.forward(x, [h, e]);
    using plain = cbn.bn.forward(x);
    assert.deepEqual(Array.from(y0.toFloat32Array()), Array.from(plain.toFloat32Array()));
    noGrad(() => {
      cbn.gamma[0]!.weight.fill_(0.5); // hair: γ + 0.5
      cbn.beta[1]!.weight.fill_(2); // eyes: β + 2
    });
    using y = cbn.forward(x, [h, e]);
    using want = tidy(() => cbn.bn.forward(x).mul(1.5).add(2));
    const d = tidy(() => y.sub(want).abs().max().item());
    assert.ok(d < 1e-5, String(d));
    assert.throws(() => cbn.forward(x, [h]), /takes 2 label tensors, got 1/);
    cbn.dispose();
  });

  test('projection head: D(x, h, e) = ψ(φ(x)) + ⟨V_h[h], φ(x)⟩ + ⟨V_e[e], φ(x)⟩', () => {
    manualSeed(2);
    const D = new ProjectionDiscriminator({ width: 4, classes: [3, 2], resolution: 16 }).eval();
    using x = randn([4, 3, 16, 16]);
    using h = tensor(BigInt64Array.from([0, 1, 2, 1], BigInt));
    using e = tensor(BigInt64Array.from([1, 0, 1, 0], BigInt));
    noGrad(() => {
      using s = D.forward(x, [h, e]);
      using want = tidy(() => {
        const phi = D.phi(x);
        return D.psi
          .forward(phi)
          .reshape(-1)
          .add(D.embed[0]!.forward(h).mul(phi).sum(1))
          .add(D.embed[1]!.forward(e).mul(phi).sum(1));
      });
      assert.deepEqual(s.shape, [4]);
      const d = tidy(() => s.sub(want).abs().max().item());
      assert.ok(d < 1e-4, String(d));
    });
    D.dispose();
  });

  test('the generator: [B, 3, 64, 64] in [-1, 1] from noise and one-hot tags, exactly the images of the class indices', () => {
    manualSeed(3);
    const enc = new TagEncoder();
    const G = new TagGenerator({ noiseDim: 8, width: 4, classes: enc.classes, resolution: 64 });
    // Trained-like embeddings (they start at zero, where any read gives the same images).
    noGrad(() => G.parameters().forEach((p) => tidy(() => p.copy_(p.add(randn(p.shape).mul(0.3))))));
    using z = randn([3, 8]);
    const tags = ['blue hair red eyes', 'pink hair green eyes', 'white hair aqua eyes'];
    using c = enc.encode(tags);
    const [h, e] = labelsOf(c, enc.classes);
    const [wh, we] = enc.labels(tags);
    assert.deepEqual(h!.argmax(1).toArray(), wh.toArray());
    assert.deepEqual(e!.argmax(1).toArray(), we.toArray());
    const { images } = G.forward(z, c);
    assert.deepEqual(images.shape, [3, 3, 64, 64]);
    assert.ok(images.toFloat32Array().every((v) => v >= -1 && v <= 1));
    // The weighted sum over one-hot rows reads exactly the embedding the index would.
    using byIndex = G.generate(z, [wh, we]);
    assert.equal(
      tidy(() => images.sub(byIndex).abs().max().item()),
      0,
    );
    for (const t of [h!, e!, wh, we]) t.dispose();
    images.dispose();
    using bad = randn([3, 5]);
    assert.throws(() => G.forward(z, bad), /expected tags as \[B, \d+\]/);
    G.dispose();
  });
});

describe('training', () => {
  const run = path.join(tmp, 'runs', 'proj');
  test('trains in bf16 + channels-last: finite hinge losses, D scores logged, samples, float32 weights', async () => {
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: run,
      sets: [...TINY, 'train.steps=4', 'train.precision=bf16', 'train.memoryFormat=channelsLast'],
    });
    const m = metricsOf(run);
    assert.equal(m.length, 4);
    for (const l of m) {
      for (const k of ['loss/D', 'loss/G', 'D/real', 'D/fake', 'D/wrong'])
        assert.ok(Number.isFinite(l[k]), `${k} at ${l.step}`);
      assert.ok(l['loss/D']! >= 0, 'hinge losses are non-negative');
    }
    assert.ok(fs.existsSync(path.join(run, 'samples', 'step-00000004.png')));
    const ck = loadCheckpoint(path.join(run, 'checkpoints', 'step-00000004.safetensors'));
    assert.ok(
      [...ck.tensors.keys()].some((k) => k.startsWith('G_ema.')),
      'the EMA generator is checkpointed',
    );
    for (const [k, t] of ck.tensors) if (k.startsWith('G')) assert.equal(t.dtype, 'float32', k);
    for (const t of ck.tensors.values()) t.dispose();
  });

  test('loss.fakeTags uniform: G is asked for every colour of the training faces equally often, hair and eyes independently', async () => {
    const classes = [12, 11];
    const n = 22_000;
    const all = classes.map((k) => Array.from({ length: k }, (_, i) => i));
    const [hair, eyes] = uniformTagLabels(all, n, new Generator(5), 'cpu');
    const h = Array.from(hair!.toTypedArray() as BigInt64Array, Number);
    const e = Array.from(eyes!.toTypedArray() as BigInt64Array, Number);
    hair!.dispose();
    eyes!.dispose();
    classes.forEach((k, a) => {
      const counts = new Array<number>(k).fill(0);
      for (const v of a === 0 ? h : e) counts[v]!++;
      // Each count is binomial(n, 1/k): within 5 standard deviations of n/k.
      const sd = Math.sqrt((n / k) * (1 - 1 / k));
      for (const c of counts)
        assert.ok(Math.abs(c - n / k) < 5 * sd, `${a === 0 ? 'hair' : 'eyes'} ${counts.join(' ')}`);
    });
    // Independent: all 132 pairs occur, none far from n/132.
    const pairs = new Map<string, number>();
    h.forEach((v, i) => pairs.set(`${v}|${e[i]}`, (pairs.get(`${v}|${e[i]}`) ?? 0) + 1));
    assert.equal(pairs.size, 132);
    for (const c of pairs.values()) assert.ok(Math.abs(c - n / 132) < 5 * Math.sqrt(n / 132));
    // Only the colours the training faces have: without eye colour 4, the other ten equally often.
    const some = [all[0]!, all[1]!.filter((v) => v !== 4)];
    const [, eyes10] = uniformTagLabels(some, n, new Generator(6), 'cpu');
    const e10 = Array.from(eyes10!.toTypedArray() as BigInt64Array, Number);
    eyes10!.dispose();
    const c10 = new Array<number>(11).fill(0);
    for (const v of e10) c10[v]!++;
    assert.equal(c10[4], 0);
    const sd10 = Math.sqrt((n / 10) * (1 - 1 / 10));
    for (const [v, c] of c10.entries()) if (v !== 4) assert.ok(Math.abs(c - n / 10) < 5 * sd10, c10.join(' '));
    // And the option reaches the run: it trains, and draws differently from 'batch'.
    const uni = path.join(tmp, 'runs', 'uniform');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: uni,
      sets: [...TINY, 'train.steps=2', 'loss.fakeTags=uniform'],
    });
    for (const l of metricsOf(uni)) assert.ok(Number.isFinite(l['loss/G']));
    const bat = path.join(tmp, 'runs', 'batch-tags');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: bat,
      sets: [...TINY, 'train.steps=2', 'loss.fakeTags=batch'],
    });
    assert.notEqual(metricsOf(uni)[0]!['loss/G'], metricsOf(bat)[0]!['loss/G']);
  });

  test('loss.modeSeeking: trains with G/ms (the mode-seeking term) logged; an odd batch is refused', async () => {
    const dir = path.join(tmp, 'runs', 'mode-seeking');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: dir,
      sets: [...TINY, 'train.steps=2', 'loss.modeSeeking=1', 'loss.fakeTags=uniform'],
    });
    for (const l of metricsOf(dir)) {
      assert.ok(Number.isFinite(l['G/ms']) && l['G/ms']! > 0, JSON.stringify(l));
      assert.ok(Number.isFinite(l['loss/G']));
    }
    await assert.rejects(
      train({
        ...quiet,
        config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
        runDir: path.join(tmp, 'runs', 'mode-seeking-odd'),
        sets: [...TINY, 'train.steps=1', 'loss.modeSeeking=1', 'data.batchSize=7'],
      }),
      /the batch \(7\) must be even/,
    );
  });

  test('resumes exactly', async () => {
    const a = path.join(tmp, 'runs', 'straight');
    const b = path.join(tmp, 'runs', 'resumed');
    const o = (dir: string, steps: number): TrainOptions => ({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: dir,
      sets: [...TINY, `train.steps=${steps}`, 'train.checkpointEvery=2'],
    });
    await train(o(a, 4));
    await train(o(b, 2));
    await train({ ...quiet, resume: b, sets: ['train.steps=4'] });
    const fa = fs.readFileSync(path.join(a, 'checkpoints', 'step-00000004.safetensors'));
    const fb = fs.readFileSync(path.join(b, 'checkpoints', 'step-00000004.safetensors'));
    assert.ok(fa.equals(fb), 'checkpoints at step 4 differ');
    // The run's record for the results tables: images (batch 8), CPU time summed over the resume.
    const r = summarizeRun(b, 2);
    assert.deepEqual([r.steps, r.imagesSeen, r.resumedAt, r.cpuFromStep], [4, 32, [2], 0]);
    assert.deepEqual(r.changes, [{ step: 2, sets: ['train.steps=4'] }], 'the values a resume changed');
    const firstHalf = summarizeRun(a, 2);
    assert.ok(r.cpuSeconds! > 0 && firstHalf.cpuSeconds! > 0, `CPU seconds ${r.cpuSeconds}, ${firstHalf.cpuSeconds}`);
    assert.ok(r.wallSeconds > 0);
  });

  test('train.standingStats: the moving average is checkpointed with batch-norm statistics of its own weights; training unchanged', async () => {
    const dir = path.join(tmp, 'runs', 'standing');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: dir,
      sets: [...TINY, 'train.steps=2', 'train.checkpointEvery=2', 'train.standingStats=3'],
    });
    const step2 = (d: string): string => path.join(tmp, 'runs', d, 'checkpoints', 'step-00000002.safetensors');
    const [ss, plain] = [loadCheckpoint(step2('standing')), loadCheckpoint(step2('straight'))];
    try {
      const differ = (a: Tensor, b: Tensor): boolean => tidy(() => a.sub(b).abs().max().item()) > 0;
      const stats = [...ss.tensors.keys()].filter((k) => k.startsWith('G_ema.') && /running_(mean|var)$/.test(k));
      assert.ok(stats.length > 0);
      for (const [k, t] of ss.tensors) {
        if (stats.includes(k)) continue;
        // Everything else as in the run without it: the statistics' draws leave the run's own generators alone.
        if (t.dtype === 'float32') assert.ok(!differ(t, plain.tensors.get(k)!), `${k} changed`);
      }
      for (const k of stats) {
        const live = k.replace(/^G_ema\./, 'G.');
        // Without standing statistics the average carries the live G's; with them, its own.
        assert.ok(!differ(plain.tensors.get(k)!, plain.tensors.get(live)!), `${k}: copied from G`);
        assert.ok(differ(ss.tensors.get(k)!, ss.tensors.get(live)!), `${k}: still G's`);
      }
    } finally {
      for (const c of [ss, plain]) for (const t of c.tensors.values()) t.dispose();
    }
  });

  test('export --standing-stats: the batch-norm statistics recomputed for the weights exported, recorded in the file', async () => {
    const ck = path.join(tmp, 'runs', 'straight', 'checkpoints', 'step-00000004.safetensors');
    const [plainOut, ssOut] = [path.join(tmp, 'tp-plain.safetensors'), path.join(tmp, 'tp-ss.safetensors')];
    await exportCommand(['--model', ck, '--out', plainOut, '--fp16']);
    await exportCommand(['--model', ck, '--out', ssOut, '--fp16', '--dataset', tags, '--standing-stats', '3']);
    assert.deepEqual(JSON.parse(readSafetensorsHeader(ssOut).metadata.standingStatistics!), {
      dataset: tags,
      batches: 3,
      batch: 8,
      seed: 0,
    });
    const [a, b] = [loadCheckpoint(plainOut), loadCheckpoint(ssOut)];
    try {
      assert.deepEqual([...a.tensors.keys()].sort(), [...b.tensors.keys()].sort());
      for (const [k, t] of a.tensors) {
        assert.equal(b.tensors.get(k)!.dtype, 'float16', k);
        const d = tidy(() => t.float().sub(b.tensors.get(k)!.float()).abs().max().item());
        if (/running_(mean|var)$/.test(k)) assert.ok(d > 0, `${k} not recomputed`);
        else assert.equal(d, 0, `${k} changed`);
      }
    } finally {
      for (const c of [a, b]) for (const t of c.tensors.values()) t.dispose();
    }
    const pipe = TextToImagePipeline.load(ssOut);
    try {
      using img = pipe.generate(['blue hair red eyes']);
      assert.deepEqual(img.shape, [1, 3, 64, 64]);
    } finally {
      pipe.dispose();
    }
    await assert.rejects(exportCommand(['--model', ck, '--out', ssOut, '--standing-stats', '3']), /needs --dataset/);
    await assert.rejects(
      exportCommand(['--model', ck, '--out', ssOut, '--dataset', tags, '--standing-stats', '0']),
      /at least one batch/,
    );
  });

  test('init.from: a run goes on from an exported fp16 model, D alone first; the file of another layout refused', async () => {
    const o = (dir: string, sets: string[]): TrainOptions => ({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: path.join(tmp, 'runs', dir),
      sets: [...TINY, ...sets],
    });
    await train(o('to-export', ['train.steps=2']));
    const file = path.join(tmp, 'tp-init.safetensors');
    await exportCommand(['--model', path.join(tmp, 'runs', 'to-export'), '--out', file, '--fp16']);
    const logs: string[] = [];
    const from = [`init.from=${file}`, 'init.discriminatorSteps=1', 'train.checkpointEvery=1'];
    await train({ ...o('continued', [...from, 'train.steps=2']), log: (m) => logs.push(m) });
    assert.ok(
      logs.some((l) =>
        /^started from .*: G and EMA from its moving average, D fresh; D alone for the first 1 steps/.test(l),
      ),
      logs.join('\n'),
    );
    const exported = loadCheckpoint(file);
    const at = (step: number): ReturnType<typeof loadCheckpoint> =>
      loadCheckpoint(path.join(tmp, 'runs', 'continued', 'checkpoints', `step-0000000${step}.safetensors`));
    const [one, two] = [at(1), at(2)];
    try {
      const k = 'G.fc.weight';
      const off = (c: typeof one, name: string): number =>
        tidy(() => exported.tensors.get(k)!.float().sub(c.tensors.get(name)!.to('float16').float()).abs().max().item());
      // After the D-only step G and its EMA are the file's; the step after moves them.
      assert.equal(off(one, k), 0);
      assert.equal(off(one, 'G_ema.fc.weight'), 0);
      assert.ok(off(two, k) > 0);
    } finally {
      for (const c of [exported, one, two]) for (const t of c.tensors.values()) t.dispose();
    }
    await assert.rejects(
      train(o('wider', [...from, 'generator.width=8'])),
      /init.from: .* another generator layout \(width 4 there, 8 here\)/,
    );
  });

  test('with eval.classifier, each checkpoint is scored by attribute accuracy (and FID on its features) and the best is kept', async () => {
    const cls = path.join(tmp, 'runs', 'classifier');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'attribute-classifier-anime.yaml'),
      runDir: cls,
      sets: [`data.cache=${tags}`, 'data.batchSize=8', 'data.workers=0', 'classifier.width=4', 'train.steps=2'],
    });
    const dir = path.join(tmp, 'runs', 'scored');
    await train({
      ...quiet,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: dir,
      sets: [
        ...TINY,
        'train.steps=2',
        'train.checkpointEvery=1',
        `eval.classifier=${cls}`,
        'eval.perCombo=1',
        'eval.fid=12',
      ],
    });
    const scored = metricsOf(dir).filter((l) => l['eval/attr_both'] !== undefined);
    assert.equal(scored.length, 2, 'one score per checkpoint');
    for (const l of scored) assert.ok(Number.isFinite(l['eval/fid']) && l['eval/fid']! > 0, `fid = ${l['eval/fid']}`);
    assert.notEqual(scored[0]!['eval/fid'], scored[1]!['eval/fid'], 'each checkpoint its own FID');
    for (const l of scored)
      for (const k of ['eval/attr_hair', 'eval/attr_eyes', 'eval/attr_both'])
        assert.ok(l[k]! >= 0 && l[k]! <= 1, `${k} = ${l[k]}`);
    const best = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'best.json'), 'utf8')) as {
      metric: string;
      value: number;
    };
    assert.equal(best.metric, 'attr_both');
    assert.equal(best.value, Math.max(...scored.map((l) => l['eval/attr_both']!)));
  });

  test('the pipeline samples the run: tags in, 64 px faces out, the same seed the same faces', () => {
    const pipe = TextToImagePipeline.load(run);
    assert.equal(pipe.model, 'tag-projection-gan');
    assert.equal(pipe.usedEma, true);
    using a = pipe.generate(['blue hair red eyes', 'green hair blue eyes'], { seed: 5 });
    using b = pipe.generate(['blue hair red eyes', 'green hair blue eyes'], { seed: 5 });
    assert.deepEqual(a.shape, [2, 3, 64, 64]);
    assert.deepEqual(Array.from(a.toFloat32Array()), Array.from(b.toFloat32Array()));
    assert.match(pipe.check('blue hair').error ?? '', /eye/);
    // The checkpoint records its training faces' colours (blue, green, pink, blonde hair; red, blue,
    // green eyes): a colour of the vocabulary that none of them has is refused with the reason.
    assert.equal(pipe.check('pink hair green eyes').error, undefined);
    assert.match(pipe.check('pink hair yellow eyes').error ?? '', /no face this model was trained on has yellow eyes/);
    assert.match(
      pipe.check('white hair red eyes').error ?? '',
      /has white hair.*hair colours blonde, blue, green, pink$/,
    );
    pipe.dispose();
  });

  test('export --dataset records the training colours of a checkpoint, and refuses a cache that disagrees', async () => {
    const out = path.join(tmp, 'tp.safetensors');
    await exportCommand(['--model', run, '--out', out, '--dataset', tags]);
    const meta = readSafetensorsHeader(out).metadata;
    assert.deepEqual(JSON.parse(meta.tagsInData!), {
      format: 'creativeai.tag-vocabulary',
      version: 1,
      hair: ['blonde', 'blue', 'green', 'pink'],
      eyes: ['blue', 'green', 'red'],
    });
    const other = path.join(tmp, 'tags-other');
    await prepareTagCache(other, 4, undefined, { hair: ['blue', 'green'] });
    await assert.rejects(exportCommand(['--model', run, '--out', out, '--dataset', other]), /other training colours/);
  });

  test('export --average: the mean of the moving averages of checkpoints of one run; another model refused', async () => {
    const ck = (dir: string, step: number): string =>
      path.join(tmp, 'runs', dir, 'checkpoints', `step-0000000${step}.safetensors`);
    const out = path.join(tmp, 'tp-avg.safetensors');
    await exportCommand(['--model', ck('straight', 4), '--out', out, '--average', ck('straight', 2)]);
    assert.equal(readSafetensorsHeader(out).metadata.averagedSteps, '[4,2]');
    const [file, a, b] = [loadCheckpoint(out), loadCheckpoint(ck('straight', 4)), loadCheckpoint(ck('straight', 2))];
    try {
      for (const k of ['fc.weight', 'block0.norm.bn.running_mean']) {
        const off = tidy(() =>
          file.tensors
            .get(`G.${k}`)!
            .sub(
              a.tensors
                .get(`G_ema.${k}`)!
                .add(b.tensors.get(`G_ema.${k}`)!)
                .div(2),
            )
            .abs()
            .max()
            .item(),
        );
        assert.ok(off < 1e-6, `${k} off by ${off}`);
      }
      // The two checkpoints differ, so the mean is neither.
      const apart = tidy(() =>
        a.tensors.get('G_ema.fc.weight')!.sub(b.tensors.get('G_ema.fc.weight')!).abs().max().item(),
      );
      assert.ok(apart > 0);
    } finally {
      for (const c of [file, a, b]) for (const t of c.tensors.values()) t.dispose();
    }
    const cls = path.join(tmp, 'runs', 'classifier');
    await assert.rejects(
      exportCommand(['--model', ck('straight', 4), '--out', out, '--average', cls]),
      /another model or generator layout.*only checkpoints of one run can be averaged/,
    );
    await assert.rejects(
      exportCommand(['--model', ck('straight', 4), '--out', out, '--average', ',']),
      /--average names no checkpoint/,
    );
  });
});

test('no tensor is left behind', () => {
  assert.equal(liveTensors(), START);
});
