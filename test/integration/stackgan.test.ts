// StackGAN: every network's sizes at every stage, the conditioning-augmentation KL against its
// closed form, Stage I and Stage II training (Stage II also on a WGAN-CLS Stage I), exact resume,
// the frozen Stage I, the two-stage pipeline, per-stage evaluation, export and the sample CLI. Tiny widths on a tiny
// shapes cache prepared at 32 (DAMSM), 64 (Stage I) and 256 px (Stage II).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';

import { CacheReader, prepareCache, type SplitName } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { F, Generator, liveTensors, noGrad, randn, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { evaluateGenerator, type Metric } from '../../src/eval/evaluate.js';
import { loadDamsmNetwork } from '../../src/eval/feature-network.js';
import { ConditioningAugmentation } from '../../src/models/layers/conditioning-augmentation.js';
import {
  StackGanDiscriminator,
  Stage1Generator,
  Stage2Generator,
  StackedGenerator,
  lowResolutionConsistency,
} from '../../src/models/stackgan/index.js';
import { init } from '../../src/nn/index.js';
import { loadCheckpoint, resolveRunCheckpoint } from '../../src/artifacts/checkpoint.js';
import { LocalGenerationService, ModelRegistry, buildApp, readModelCard } from '../../src/server/index.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { assertBestKept, ckptFile, finiteMetrics, maxAbsDiff, metricsOf } from '../helpers/runs.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-stackgan-'));
const data = path.join(tmp, 'shapes');
const runs = path.join(tmp, 'runs');
const damsmRun = path.join(runs, 'damsm');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const cfg = (name: string): string => path.join(root, 'configs', name);

/** Overrides that shrink the CUB configs to seconds on a CPU: batches of 4, widths of 2–4. */
const TINY = [
  `data.cache=${data}`,
  'data.batchSize=4',
  'data.workers=0',
  'discriminator.projectionDim=4',
  'discriminator.width=2',
  'generator.conditionDim=4',
  'generator.width=4',
  'samples.rows=2',
  'samples.perCondition=2',
  'train.logEvery=1',
  'eval.samples=0', // the configs score 200 captions per checkpoint; the tests that check it set their own
];
const TINY_STAGE1 = [...TINY, `condition.damsm=${damsmRun}`, 'generator.noiseDim=8'];
const TINY_STAGE2 = [...TINY, 'generator.residualBlocks=1'];

before(async () => {
  await prepareCache(await openDataset('shapes:64:5'), { out: data, resolutions: [32, 64, 256] });
  await train({
    ...quiet,
    config: cfg('shapes/damsm.yaml'),
    runDir: damsmRun,
    sets: [`data.cache=${data}`, 'train.steps=2', 'train.checkpointEvery=2', 'eval.batches=1'],
  });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('networks', () => {
  test('Stage I, Stage II and both discriminators give the right sizes at every stage', () => {
    const before = liveTensors();
    const g1 = new Stage1Generator({ noiseDim: 8, embeddingDim: 6, conditionDim: 4, width: 4, resolution: 64 });
    const g2 = new Stage2Generator({
      embeddingDim: 6,
      conditionDim: 4,
      width: 4,
      residualBlocks: 2,
      inputResolution: 64,
      resolution: 256,
    });
    const d1 = new StackGanDiscriminator({
      embeddingDim: 6,
      projectionDim: 4,
      width: 2,
      resolution: 64,
      unconditional: false,
    });
    const d2 = new StackGanDiscriminator({
      embeddingDim: 6,
      projectionDim: 4,
      width: 2,
      resolution: 256,
      unconditional: true,
    });
    try {
      // The paper's structure: 8·N_gf channels at 4×4, N_gf/2 at 64×64; 4·N_gf at 16×16, N_gf/4 at 256.
      assert.equal(g1.fc.outFeatures, 4 * 8 * 16);
      assert.equal(g1.blocks.length, 4);
      assert.equal(g1.toRgb.weight.size(1), 2);
      assert.equal(g2.joint.conv.weight.size(0), 16);
      assert.equal(g2.residual.layers.length, 2);
      assert.equal(g2.toRgb.weight.size(1), 1);
      // D: 8·N_df channels at 4×4; at 256 px after six down-samplings to 32·N_df and two 3×3 reductions.
      assert.equal(d1.channels, 16);
      assert.equal(d2.channels, 16);
      assert.equal(d2.encoder.layers.length, 8);
      noGrad(() => {
        using z = randn([3, 8]);
        using phi = randn([3, 6]);
        const o1 = g1.forward(z, phi);
        using s1 = o1.images;
        using mu = o1.mu!;
        using lv = o1.logvar!;
        assert.deepEqual(s1.shape, [3, 3, 64, 64]);
        assert.deepEqual(mu.shape, [3, 4]);
        assert.deepEqual(lv.shape, [3, 4]);
        const o2 = new StackedGenerator(g1, g2).forward(z, phi);
        using a = o2.stages[0];
        using b = o2.stages[1];
        o2.mu.dispose();
        o2.logvar.dispose();
        assert.deepEqual(a.shape, [3, 3, 64, 64]);
        assert.deepEqual(b.shape, [3, 3, 256, 256]);
        using babs = b.abs();
        using bmax = babs.max();
        assert.ok(bmax.item() <= 1, 'tanh output');
        for (const [d, x] of [
          [d1, s1],
          [d2, b],
        ] as const) {
          using f = d.features(x);
          assert.deepEqual(f.shape, [3, 16, 4, 4]);
          using s = d.score(f, phi);
          assert.deepEqual(s.shape, [3]);
        }
        using f2 = d2.features(b);
        using u = d2.unconditionalScore(f2);
        assert.deepEqual(u.shape, [3]);
        using f1 = d1.features(s1);
        assert.throws(() => d1.unconditionalScore(f1), /without the unconditional logit/);
      });
      const g2at32 = new Stage2Generator({ ...g2.o, inputResolution: 32, resolution: 128 });
      assert.throws(() => new StackedGenerator(g1, g2at32), /refines 32×32/);
      g2at32.dispose();
    } finally {
      for (const m of [g1, g2, d1, d2]) m.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  // A Stage II small enough to check its image path by hand: 16 → 64 px.
  const TINY_STAGE2_NET = {
    embeddingDim: 6,
    conditionDim: 4,
    width: 4,
    residualBlocks: 1,
    inputResolution: 16,
    resolution: 64,
  };

  test('generator.imageSkip: Stage II starts as the Stage-I image enlarged, and learns what to change', () => {
    const before = liveTensors();
    const g2 = new Stage2Generator({ ...TINY_STAGE2_NET, imageSkip: true });
    try {
      using low = tidy(() => noGrad(() => randn([2, 3, 16, 16], { generator: new Generator(5) }).tanh()));
      using e = randn([2, 6], { generator: new Generator(6) });
      const o = g2.forward(low, e);
      using images = o.images;
      o.mu?.dispose();
      o.logvar?.dispose();
      using enlarged = F.interpolate(low, { size: [64, 64], mode: 'nearest' });
      using clamped = enlarged.clamp(-0.999, 0.999);
      assert.ok(maxAbsDiff(images, clamped) < 1e-5, `${maxAbsDiff(images, clamped)}`);
      using loss = tidy(() => images.square().mean());
      loss.backward();
      const moved = tidy(() => g2.toRgb.weight.grad?.abs().max().item() ?? 0);
      assert.ok(moved > 0, 'the zeroed last convolution gets gradients');
    } finally {
      g2.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  test('generator.detailOnly: the change has no 4×4-block average, so the image pools back to s₀', () => {
    const before = liveTensors();
    assert.throws(() => new Stage2Generator({ ...TINY_STAGE2_NET, detailOnly: true }), /needs imageSkip/);
    const g2 = new Stage2Generator({ ...TINY_STAGE2_NET, imageSkip: true, detailOnly: true });
    try {
      // A trained last convolution: the change is no longer zero.
      noGrad(() => {
        using w = randn(g2.toRgb.weight.shape, { generator: new Generator(7) });
        using small = w.mul(0.2); // kept off tanh's saturation, where atanh below would be infinite
        g2.toRgb.weight.copy_(small);
      });
      using low = tidy(() =>
        noGrad(() =>
          randn([2, 3, 16, 16], { generator: new Generator(5) })
            .mul(0.5)
            .tanh(),
        ),
      );
      using e = randn([2, 6], { generator: new Generator(6) });
      const o = noGrad(() => g2.forward(low, e));
      using images = o.images;
      o.mu?.dispose();
      o.logvar?.dispose();
      using enlarged = F.interpolate(low, { size: [64, 64], mode: 'nearest' });
      assert.ok(maxAbsDiff(images, enlarged) > 0.05, 'it changed the image');
      // In atanh space the 4×4 averages are exactly s₀'s.
      const atanh = (t: Tensor): Tensor => tidy(() => t.add(1).div(t.neg().add(1)).log().mul(0.5));
      using logits = atanh(images);
      using pooled = F.avgPool2d(logits, 4);
      using target = atanh(low);
      assert.ok(maxAbsDiff(pooled, target) < 1e-4, `${maxAbsDiff(pooled, target)}`);
    } finally {
      g2.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  test('conditioning augmentation: ĉ ~ N(μ, σ²) and the KL term against its closed form', () => {
    const ca = new ConditioningAugmentation(3, 2);
    try {
      // A zero weight makes (μ, log σ²) the bias: μ = (1, 2), σ = (1, 2).
      init.zeros_(ca.fc.weight);
      noGrad(() => {
        using b = tensor([1, 2, 0, Math.log(4)]);
        ca.fc.bias!.copy_(b);
      });
      const n = 20000;
      using phi = randn([n, 3]);
      const out = noGrad(() => ca.forward(phi, new Generator(7)));
      using c = out.condition;
      using mu = out.mu;
      using lv = out.logvar;
      using m = c.mean(0);
      using sd = c.std(0);
      const [m0, m1] = m.toArray() as number[];
      const [s0, s1] = sd.toArray() as number[];
      assert.ok(Math.abs(m0! - 1) < 0.04 && Math.abs(m1! - 2) < 0.08, `mean ${m0}, ${m1}`);
      assert.ok(Math.abs(s0! - 1) < 0.03 && Math.abs(s1! - 2) < 0.06, `std ${s0}, ${s1}`);
      // KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − 1 − log σ²) per dimension: ½ and ½(7 − ln 4).
      const perDim = [0.5 * (1 + 1 - 1 - 0), 0.5 * (4 + 4 - 1 - Math.log(4))];
      using kl = ConditioningAugmentation.klLoss(mu, lv);
      using klDim = ConditioningAugmentation.klLossPerDimension(mu, lv);
      assert.ok(Math.abs(kl.item() - (perDim[0]! + perDim[1]!)) < 1e-5, `KL ${kl.item()}`);
      assert.ok(Math.abs(klDim.item() - (perDim[0]! + perDim[1]!) / 2) < 1e-5, `KL per dim ${klDim.item()}`);
      ca.eval();
      const e = noGrad(() => ca.forward(phi));
      using ec = e.condition;
      e.mu.dispose();
      e.logvar.dispose();
      using first = ec.narrow(0, 0, 1);
      assert.deepEqual(first.toArray(), [[1, 2]], 'eval mode gives μ');
    } finally {
      ca.dispose();
    }
  });
});

const stage1Run = path.join(runs, 'stage1');

/** A Stage-II-only loss term set on a Stage-I run fails before training, naming the term. */
const refusedByStageI = (term: string, dir: string, message: RegExp): Promise<void> =>
  assert.rejects(
    train({
      ...quiet,
      config: cfg('stackgan-stage1-cub.yaml'),
      runDir: path.join(runs, dir),
      sets: [...TINY_STAGE1, `${term}=1`, 'train.steps=1'],
    }),
    message,
  );
const stage2Run = path.join(runs, 'stage2');
const wganRun = path.join(runs, 'wgan');

describe('training', () => {
  test('Stage I trains with finite losses and the learning rate halves every lrDecayEpochs', async () => {
    const before = liveTensors();
    const r = await train({
      ...quiet,
      config: cfg('stackgan-stage1-cub.yaml'),
      runDir: stage1Run,
      // Batches of 16: an epoch is a few steps, so the run crosses a learning-rate decay.
      sets: [
        ...TINY_STAGE1,
        'data.batchSize=16',
        'train.steps=4',
        'optim.lrDecayEpochs=1',
        'optim.ema=0.9',
        'train.standingStats=2',
      ],
    });
    assert.equal(r.step, 4);
    assert.equal(liveTensors(), before, 'the trainer frees everything it made');
    const lines = finiteMetrics(stage1Run);
    assert.equal(lines.length, 4);
    for (const k of ['loss/D', 'loss/G', 'loss/kl', 'D/real', 'D/wrong', 'D/fake', 'grad/G'])
      assert.ok(k in lines[0]!, `missing ${k}`);
    // The loader's epoch is ⌊train records / 16⌋ batches; step s (1-based) ran in epoch ⌊(s−1)/B⌋.
    const perEpoch = Math.floor(CacheReader.open(data).indices('train').length / 16);
    assert.ok(perEpoch < 4, `${perEpoch} batches per epoch: no decay within the run`);
    for (const l of lines)
      assert.equal(l['lr/G'], 2e-4 * 0.5 ** Math.floor((l.step! - 1) / perEpoch), `step ${l.step}`);
    const grid = await sharp(path.join(stage1Run, 'samples', 'step-00000004.png')).metadata();
    assert.ok(grid.width! >= 128 && grid.height! >= 128);
  });

  test('Stage I and Stage II train in bf16 mixed precision', async () => {
    const s1 = path.join(runs, 's1-bf16');
    const before = liveTensors();
    await train({
      ...quiet,
      config: cfg('stackgan-stage1-cub.yaml'),
      runDir: s1,
      sets: [...TINY_STAGE1, 'train.steps=2', 'train.precision=bf16'],
    });
    const s2 = path.join(runs, 's2-bf16');
    await train({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: s2,
      sets: [...TINY_STAGE2, `stage1=${s1}`, 'train.steps=2', 'train.precision=bf16'],
    });
    assert.equal(liveTensors(), before);
    for (const dir of [s1, s2]) {
      const lines = finiteMetrics(dir);
      for (const k of ['loss/D', 'loss/G', 'grad/G']) assert.ok(k in lines[0]!, `${dir}: missing ${k}`);
    }
  });

  test('Stage I and Stage II keep the best checkpoint by R-precision (src/eval scoring the recipe’s sampler)', async () => {
    const s1 = path.join(runs, 's1-rprec');
    const s2 = path.join(runs, 's2-rprec');
    const before = liveTensors();
    const scored = ['train.steps=3', 'train.checkpointEvery=1', 'eval.samples=8'];
    await train({ ...quiet, config: cfg('stackgan-stage1-cub.yaml'), runDir: s1, sets: [...TINY_STAGE1, ...scored] });
    await train({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: s2,
      sets: [...TINY_STAGE2, `stage1=${s1}`, `eval.damsm=${damsmRun}`, ...scored],
    });
    assert.equal(liveTensors(), before, 'the trainer frees the metric and its DAMSM image encoder');
    for (const dir of [s1, s2]) {
      const best = assertBestKept(dir, 'rprec', 'max', 3);
      assert.ok(best.value >= 0 && best.value <= 1);
      for (const l of metricsOf(dir).filter((x) => x['eval/rprec'] !== undefined))
        assert.ok(l['eval/rprec_std']! >= 0, 'the spread over the 10 splits is logged beside it');
    }
  });

  test('Stage I resumes exactly', async () => {
    const a = path.join(runs, 's1-straight');
    const b = path.join(runs, 's1-resumed');
    const s = (dir: string, steps: number): TrainOptions => ({
      ...quiet,
      config: cfg('stackgan-stage1-cub.yaml'),
      runDir: dir,
      sets: [...TINY_STAGE1, `train.steps=${steps}`, 'train.checkpointEvery=1', 'optim.ema=0.9'],
    });
    await train(s(a, 3));
    await train(s(b, 2));
    await train({ ...quiet, resume: b, sets: ['train.steps=3'] });
    assert.ok(fs.readFileSync(ckptFile(a, 3)).equals(fs.readFileSync(ckptFile(b, 3))), 'checkpoints at step 3 differ');
  });

  test('Stage I with DiffAugment resumes exactly, and the augmentation changes the run', async () => {
    const s = (dir: string, steps: number, sets: string[]): TrainOptions => ({
      ...quiet,
      config: cfg('stackgan-stage1-cub.yaml'),
      runDir: path.join(runs, dir),
      sets: [...TINY_STAGE1, `train.steps=${steps}`, 'train.checkpointEvery=1', ...sets],
    });
    const on = ['augment.translation=0.125', 'augment.cutout=0.25'];
    await train(s('s1-da-straight', 2, on));
    await train(s('s1-da-resumed', 1, on));
    await train({ ...quiet, resume: path.join(runs, 's1-da-resumed'), sets: ['train.steps=2'] });
    const at2 = (dir: string): Buffer => fs.readFileSync(ckptFile(path.join(runs, dir), 2));
    assert.ok(at2('s1-da-straight').equals(at2('s1-da-resumed')), 'checkpoints at step 2 differ');
    await train(s('s1-da-off', 2, ['augment.translation=0', 'augment.cutout=0']));
    const lossD = (dir: string): number => metricsOf(path.join(runs, dir))[0]!['loss/D']!;
    assert.notEqual(lossD('s1-da-straight'), lossD('s1-da-off'));
  });

  test('Stage II on Stage I: 256 px, finite losses, Stage I and the text encoder frozen in its checkpoints', async () => {
    const before = liveTensors();
    const r = await train({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: stage2Run,
      sets: [...TINY_STAGE2, `stage1=${stage1Run}`, 'train.steps=2'],
    });
    assert.equal(r.step, 2);
    assert.equal(liveTensors(), before);
    const lines = finiteMetrics(stage2Run);
    assert.equal(lines.length, 2);
    // Each caption: a row of Stage-I images (enlarged to 256) above a row of Stage-II ones.
    const grid = await sharp(path.join(stage2Run, 'samples', 'step-00000002.png')).metadata();
    assert.ok(grid.width! > 2 * 256 && grid.height! > 4 * 256, `${grid.width}×${grid.height}`);
    const s1 = loadCheckpoint(resolveRunCheckpoint(stage1Run, true));
    const s2 = loadCheckpoint(resolveRunCheckpoint(stage2Run, false));
    try {
      assert.equal(s2.metadata.stage1Model, 'stackgan-stage1');
      assert.deepEqual(JSON.parse(s2.metadata.stages!), [64, 256]);
      let n = 0;
      for (const [k, t] of s1.tensors)
        if (k.startsWith('G_ema.')) {
          const frozen = s2.tensors.get(`stage1.${k.slice(6)}`);
          assert.ok(frozen, `stage1.${k.slice(6)} missing`);
          assert.equal(maxAbsDiff(t, frozen), 0, `${k} changed`);
          n++;
        }
      assert.ok(n > 10);
      for (const [k, t] of s1.tensors) if (k.startsWith('text.')) assert.equal(maxAbsDiff(t, s2.tensors.get(k)!), 0, k);
    } finally {
      for (const t of [...s1.tensors.values(), ...s2.tensors.values()]) t.dispose();
    }
  });

  test('Stage II resumes exactly', async () => {
    const a = path.join(runs, 's2-straight');
    const b = path.join(runs, 's2-resumed');
    const s = (dir: string, steps: number): TrainOptions => ({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: dir,
      sets: [...TINY_STAGE2, `stage1=${stage1Run}`, `train.steps=${steps}`, 'train.checkpointEvery=1'],
    });
    await train(s(a, 2));
    await train(s(b, 1));
    await train({ ...quiet, resume: b, sets: ['train.steps=2'] });
    assert.ok(fs.readFileSync(ckptFile(a, 2)).equals(fs.readFileSync(ckptFile(b, 2))), 'checkpoints at step 2 differ');
  });

  test('loss.consistency holds the Stage-II image, pooled to 64 px, to its Stage-I image; Stage I refuses it', async () => {
    const before = liveTensors();
    noGrad(() => {
      using low = randn([2, 3, 4, 4], { generator: new Generator(3) });
      using enlarged = F.interpolate(low, { size: [16, 16], mode: 'nearest' });
      using zero = lowResolutionConsistency(enlarged, low);
      assert.ok(zero.item() < 1e-6, `${zero.item()}`);
      using shifted = enlarged.add(0.5);
      using half = lowResolutionConsistency(shifted, low);
      assert.ok(Math.abs(half.item() - 0.5) < 1e-6, `${half.item()}`);
      using odd = randn([2, 3, 10, 10]);
      assert.throws(() => lowResolutionConsistency(odd, low), /multiple of the input side/);
      using other = randn([1, 3, 4, 4]);
      assert.throws(() => lowResolutionConsistency(enlarged, other), /two batches of the same images/);
    });
    assert.equal(liveTensors(), before);
    const s = (dir: string, extra: string[]): TrainOptions => ({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: path.join(runs, dir),
      sets: [...TINY_STAGE2, `stage1=${stage1Run}`, 'train.steps=1', ...extra],
    });
    await train(s('s2-cons-off', []));
    await train(s('s2-cons-on', ['loss.consistency=10']));
    const [off] = finiteMetrics(path.join(runs, 's2-cons-off'));
    const [on] = finiteMetrics(path.join(runs, 's2-cons-on'));
    assert.equal(off!['loss/consistency'], undefined);
    assert.ok(on!['loss/consistency']! > 0, 'the term is logged');
    // With the image skip the run starts from the Stage-I image enlarged: its first consistency term
    // is the one step's change, far below the paper's Stage II's.
    await train(s('s2-cons-skip', ['loss.consistency=10', 'generator.imageSkip=true']));
    const [skip] = finiteMetrics(path.join(runs, 's2-cons-skip'));
    assert.ok(
      skip!['loss/consistency']! < on!['loss/consistency']! / 20,
      `${skip!['loss/consistency']} against ${on!['loss/consistency']}`,
    );
    const skipped = TextToImagePipeline.load(path.join(runs, 's2-cons-skip'));
    try {
      assert.deepEqual(skipped.stages, [64, 256]);
    } finally {
      skipped.dispose();
    }
    // The same D step, then a G loss that differs by exactly the weighted term.
    assert.equal(on!['loss/D'], off!['loss/D']);
    assert.ok(Math.abs(on!['loss/G']! - off!['loss/G']! - 10 * on!['loss/consistency']!) < 1e-3 * on!['loss/G']!);
    await refusedByStageI('loss.consistency', 'bad-cons', /loss\.consistency .*Stage II only/);
  });

  test("loss.colorConsistency adds StackGAN++'s colour terms to Stage II's G loss; Stage I refuses it", async () => {
    const s = (dir: string, extra: string[]): TrainOptions => ({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: path.join(runs, dir),
      sets: [...TINY_STAGE2, `stage1=${stage1Run}`, 'train.steps=1', ...extra],
    });
    await train(s('s2-colour', ['loss.colorConsistency=50']));
    const [off] = finiteMetrics(path.join(runs, 's2-cons-off'));
    const [on] = finiteMetrics(path.join(runs, 's2-colour'));
    assert.equal(off!['loss/color_mean'], undefined);
    const mean = on!['loss/color_mean']!;
    const cov = on!['loss/color_cov']!;
    assert.ok(mean > 0 && cov > 0, `${mean}, ${cov}`);
    // The same D step, then a G loss that differs by exactly the weighted terms (covariance 5×, as
    // in StackGAN++'s code).
    assert.equal(on!['loss/D'], off!['loss/D']);
    assert.ok(Math.abs(on!['loss/G']! - off!['loss/G']! - 50 * (mean + 5 * cov)) < 1e-3 * on!['loss/G']!);
    await refusedByStageI('loss.colorConsistency', 'bad-colour', /loss\.colorConsistency .*Stage II only/);
  });

  test('Stage II refines a WGAN-CLS generator ("WGAN-CLS + Stage II")', async () => {
    await train({
      ...quiet,
      config: cfg('shapes/gan-int-cls.yaml'),
      runDir: wganRun,
      sets: [
        `data.cache=${data}`,
        `condition.damsm=${damsmRun}`,
        'model=wgan-cls',
        'data.resolution=64',
        'data.batchSize=4',
        'generator.width=2',
        'discriminator.width=2',
        'loss.adversarial=wasserstein',
        'loss.gradientPenalty=10',
        'discriminator.norm=layer',
        'eval.samples=0',
        'train.steps=1',
      ],
    });
    const dir = path.join(runs, 'wgan-stage2');
    const r = await train({
      ...quiet,
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: dir,
      sets: [...TINY_STAGE2, `stage1=${wganRun}`, 'train.steps=2'],
    });
    assert.equal(r.step, 2);
    finiteMetrics(dir);
    const pipe = TextToImagePipeline.load(dir);
    try {
      assert.deepEqual(pipe.stages, [64, 256]);
      assert.equal(pipe.noiseDim, 16); // the WGAN-CLS generator's z
      using img = pipe.generate(['a small red circle'], { seed: 1 });
      assert.deepEqual(img.shape, [1, 3, 256, 256]);
    } finally {
      pipe.dispose();
    }
    // Without a card the page names it after both networks, not "StackGAN".
    const file = path.join(tmp, 'wgan-cls-stage2.safetensors');
    await run(process.execPath, [cli, 'export', '--model', dir, '--out', file]);
    assert.equal(readModelCard(file).title, 'WGAN-CLS + Stage II (shapes)');
    // A new Stage II on the Stage I inside that file (its Stage-I run gone): the same Stage I.
    const logs: string[] = [];
    const again = path.join(runs, 'wgan-stage2-again');
    await train({
      progress: false,
      log: (m) => logs.push(m),
      config: cfg('stackgan-stage2-cub.yaml'),
      runDir: again,
      sets: [...TINY_STAGE2, `stage1=${file}`, 'train.steps=1'],
    });
    assert.ok(
      logs.some((l) => /^stage 1: wgan-cls from .*wgan-cls-stage2\.safetensors, frozen$/.test(l)),
      logs.join('\n'),
    );
    const [shipped, refined] = [TextToImagePipeline.load(file), TextToImagePipeline.load(again)];
    try {
      using a = shipped.generate(['a small red circle'], { seed: 4, stage: 64 });
      using b = refined.generate(['a small red circle'], { seed: 4, stage: 64 });
      assert.equal(maxAbsDiff(a, b), 0, "the file's Stage I, unchanged");
    } finally {
      shipped.dispose();
      refined.dispose();
    }
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('stackgan-stage2-cub.yaml'),
        runDir: path.join(runs, 'bad'),
        sets: [...TINY_STAGE2, `stage1=${wganRun}`, 'data.resolution=64'],
      }),
      /data\.resolution must be 256, not 64/,
    );
  });
});

describe('sampling', () => {
  test('the pipeline returns [64, 256] stages; Stage I matches the Stage-I model alone', () => {
    const before = liveTensors();
    const stacked = TextToImagePipeline.load(stage2Run);
    const alone = TextToImagePipeline.load(resolveRunCheckpoint(stage1Run, true));
    try {
      assert.deepEqual(stacked.stages, [64, 256]);
      assert.equal(stacked.resolution, 256);
      assert.deepEqual(alone.stages, [64]);
      const caps = ['a small red circle', 'a large blue square above a small green triangle'];
      using z = stacked.noise(2, 5);
      const stages = stacked.generateStagesFrom(z, caps);
      using low = stages[0]!;
      using high = stages[1]!;
      assert.deepEqual(low.shape, [2, 3, 64, 64]);
      assert.deepEqual(high.shape, [2, 3, 256, 256]);
      using last = stacked.generate(caps, { seed: 5 });
      assert.equal(maxAbsDiff(last, high), 0, 'generate() is the last stage');
      using first = stacked.generate(caps, { seed: 5, stage: 64 });
      assert.equal(maxAbsDiff(first, low), 0, 'generate({ stage: 64 }) is the first');
      assert.throws(() => stacked.generate(caps, { stage: 128 }), /no 128 px stage: its stages are 64, 256 px/);
      using own = alone.generate(caps, { seed: 5 });
      assert.equal(maxAbsDiff(own, low), 0, 'Stage I inside Stage II draws what it draws alone');
      const inter = stacked.interpolateStages(caps[0]!, caps[1]!, 3, { seed: 2 });
      assert.deepEqual(
        inter.map((t) => t.shape),
        [
          [3, 3, 64, 64],
          [3, 3, 256, 256],
        ],
      );
      inter.forEach((t) => t.dispose());
    } finally {
      stacked.dispose();
      alone.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  test('eval scores either stage: Stage I inside Stage II scores what Stage I scores alone', async () => {
    const before = liveTensors();
    const stacked = TextToImagePipeline.load(stage2Run);
    const alone = TextToImagePipeline.load(resolveRunCheckpoint(stage1Run, true));
    const d = loadDamsmNetwork(damsmRun);
    try {
      const o = {
        metrics: ['fid', 'rprec', 'div'] as Metric[],
        dataset: data,
        splits: ['val', 'test'] as SplitName[],
        n: 12,
        batchSize: 5,
        features: d.network,
        damsm: { conditioner: d.conditioner, image: d.image!, name: d.network.name },
        diversity: { captions: 2, perCaption: 3 },
      };
      const low = await evaluateGenerator(stacked, { ...o, stage: 64 });
      const own = await evaluateGenerator(alone, o);
      const high = await evaluateGenerator(stacked, o);
      assert.deepEqual([low.stage, low.stages, high.stage, own.stages], [64, [64, 256], 256, [64]]);
      assert.equal(low.fid!.value, own.fid!.value);
      assert.deepEqual(low.rprec, own.rprec);
      assert.deepEqual(low.div, own.div);
      assert.ok(Number.isFinite(high.fid!.value));
      assert.notEqual(high.fid!.value, low.fid!.value, 'the 256 px images are other images');
      await assert.rejects(evaluateGenerator(stacked, { ...o, stage: 128 }), /no 128 px stage: its stages are 64, 256/);
      // Detail above 64 px: only the 256 px stage has any, against as many real 256 px images.
      const detail = (await evaluateGenerator(stacked, { ...o, metrics: ['detail'] })).detail!;
      assert.deepEqual([detail.side, detail.base, detail.images, detail.realImages], [256, 64, 12, 12]);
      assert.ok(detail.real > 0 && detail.generated >= 0 && Number.isFinite(detail.ratio), JSON.stringify(detail));
      await assert.rejects(
        evaluateGenerator(stacked, { ...o, metrics: ['detail'], stage: 64 }),
        /detail measures what a 64 px stage draws above 64 px/,
      );
      // A cache without the stage's side is refused before any image is generated.
      const low64 = path.join(tmp, 'shapes-64');
      await prepareCache(await openDataset('shapes:64:5'), { out: low64, resolutions: [64] });
      await assert.rejects(
        evaluateGenerator(stacked, { ...o, metrics: ['detail'], dataset: low64 }),
        /detail compares with real 256 px images: .*shapes-64 holds 64 px \(prepare --sizes\)/,
      );
      // The CLI finds the DAMSM through the Stage-I run Stage II names.
      const { stdout } = await run(process.execPath, [
        cli,
        ...['eval', '--model', stage2Run, '--dataset', data, '--split', 'val,test', '--metrics', 'rprec'],
        ...['--n', '6', '--stage', '64'],
      ]);
      assert.match(stdout, /6 generated images, the 64 px stage,/);
      assert.match(stdout, /\| R-precision \(DAMSM: /);
      const shown = await run(process.execPath, [
        cli,
        ...['eval', '--model', stage2Run, '--dataset', data, '--split', 'val,test', '--metrics', 'detail', '--n', '6'],
      ]);
      assert.match(
        shown.stdout,
        /\| Detail above 64 px \| \d\.\d\de[-+]\d+ \(real \d\.\d\de[-+]\d+, ratio [\d.e-]+\) \| .*6 generated, 6 real \|/,
      );
    } finally {
      stacked.dispose();
      alone.dispose();
      d.network.dispose();
      d.conditioner.module.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  test('export holds both stages; the sample CLI writes one grid per stage; the API serves both', async () => {
    const file = path.join(tmp, 'stackgan.safetensors');
    await run(process.execPath, [cli, 'export', '--model', stage2Run, '--out', file]);
    const exp = loadCheckpoint(file);
    const keys = [...exp.tensors.keys()];
    exp.tensors.forEach((t) => t.dispose());
    assert.ok(keys.some((k) => k.startsWith('stage1.')) && keys.some((k) => k.startsWith('text.')));
    assert.ok(!keys.some((k) => k.startsWith('D.') || k.startsWith('optim.')));
    const a = TextToImagePipeline.load(stage2Run);
    const b = TextToImagePipeline.load(file);
    try {
      using x = a.generate(['a small red circle'], { seed: 9 });
      using y = b.generate(['a small red circle'], { seed: 9 });
      assert.equal(maxAbsDiff(x, y), 0);
    } finally {
      a.dispose();
      b.dispose();
    }
    const out = path.join(tmp, 'samples', 'birds.png');
    await run(process.execPath, [
      cli,
      'sample',
      '--model',
      file,
      '--text',
      'a small red circle',
      '--n',
      '2',
      '--out',
      out,
      '--device',
      'cpu',
    ]);
    for (const side of [64, 256]) {
      const m = await sharp(out.replace(/\.png$/, `-${side}.png`)).metadata();
      assert.equal(m.height, side + 4, `${side}: one row with 2 px padding`);
      assert.equal(m.width, 2 * side + 6);
    }
    assert.ok(!fs.existsSync(out));

    // The HTTP API lists both stages and answers with both, the 64 px one being Stage I's image.
    const dir = path.join(tmp, 'served');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(file, path.join(dir, 'stackgan-tiny.safetensors'));
    const app = await buildApp({ service: new LocalGenerationService(new ModelRegistry([dir])) });
    try {
      const models = (await app.inject('/api/models')).json<{ models: { resolutions: number[]; title: string }[] }>();
      assert.deepEqual(models.models[0]!.resolutions, [64, 256]);
      assert.match(models.models[0]!.title, /^StackGAN/);
      const r = await app.inject({
        method: 'POST',
        url: '/api/generate',
        payload: { model: 'stackgan-tiny', text: 'a small red circle', seed: 9, count: 2 },
      });
      assert.equal(r.statusCode, 200, r.body);
      const stages = r.json<{ stages: { resolution: number; images: string[] }[] }>().stages;
      assert.deepEqual(
        stages.map((st) => [st.resolution, st.images.length]),
        [
          [64, 2],
          [256, 2],
        ],
      );
      for (const st of stages) {
        const m = await sharp(Buffer.from(st.images[0]!.split(',')[1]!, 'base64')).metadata();
        assert.equal(m.width, st.resolution);
      }
    } finally {
      await app.close();
    }
  });
});
