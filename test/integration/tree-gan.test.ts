// StackGAN++ and AttnGAN: the tree generators' sizes at every stage, GLU and colour consistency
// against hand-computed values, AttnGAN's word attention (a distribution over the real words,
// blind to padding), joint training of three stages with finite losses and exact resume, the
// pipeline's stages and attention maps, export, the sample CLI's figures and the API. Tiny widths
// on the shapes set prepared at 32 (DAMSM), 64, 128 and 256 px.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';

import { prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { liveTensors, noGrad, randn, tensor } from '../../src/engine/index.js';
import { AttnGanGenerator, WordContextAttention } from '../../src/models/attngan/index.js';
import { glu } from '../../src/models/layers/glu.js';
import { StackGanDiscriminator } from '../../src/models/stackgan/index.js';
import {
  StackGanPlusPlusGenerator,
  colorConsistency,
  colorStatistics,
  disposeTreeOutput,
} from '../../src/models/stackganpp/index.js';
import { loadCheckpoint } from '../../src/artifacts/checkpoint.js';
import { LocalGenerationService, ModelRegistry, buildApp } from '../../src/server/index.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { assertBestKept, ckptFile, finiteMetrics, maxAbsDiff } from '../helpers/runs.js';
import { makeCubExtra } from '../helpers/cub-extra.js';
import { tinyTreeOverrides } from '../helpers/tiny-attngan.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-tree-'));
const data = path.join(tmp, 'shapes');
const runs = path.join(tmp, 'runs');
const damsmRun = path.join(runs, 'damsm');
const quiet = { progress: false, log: () => undefined } satisfies Partial<TrainOptions>;
const cfg = (name: string): string => path.join(root, 'configs', name);

/** Overrides that shrink the CUB configs to seconds on a CPU. */
const TINY = tinyTreeOverrides(data, damsmRun);

/**
 * Trains a tiny tree model: its CUB config shrunk by TINY, then `sets`; `dir` a run name under runs/
 * or a path. `log` collects the run's log lines.
 */
function trainTree(
  config: 'stackgan-pp-cub.yaml' | 'attngan-cub.yaml',
  dir: string,
  sets: string[],
  log?: string[],
): ReturnType<typeof train> {
  return train({
    ...quiet,
    ...(log ? { log: (m: string) => log.push(m) } : {}),
    config: cfg(config),
    runDir: path.resolve(runs, dir),
    sets: [...TINY, ...sets],
  });
}

/**
 * One tiny 64 px StackGAN++ run of 2 steps and its export (without D): the source the growth and
 * init tests start from, trained by whichever of them asks first, so their order does not matter.
 */
let pp64: Promise<{ run: string; file: string }> | undefined;
function smallTree(): Promise<{ run: string; file: string }> {
  pp64 ??= (async () => {
    const dir = path.join(runs, 'pp-64');
    const file = path.join(tmp, 'pp-64.safetensors');
    await trainTree('stackgan-pp-cub.yaml', dir, ['generator.branches=1', 'data.resolution=64', 'train.steps=2']);
    await run(process.execPath, [cli, 'export', '--model', dir, '--out', file]);
    return { run: dir, file };
  })();
  return pp64;
}

before(async () => {
  await prepareCache(await openDataset('shapes:64:5'), { out: data, resolutions: [32, 64, 128, 256] });
  await train({
    ...quiet,
    config: cfg('shapes/damsm.yaml'),
    runDir: damsmRun,
    sets: [`data.cache=${data}`, 'train.steps=2', 'train.checkpointEvery=2', 'eval.batches=1'],
  });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const treeOpts = {
  noiseDim: 8,
  embeddingDim: 6,
  conditionDim: 4,
  width: 8,
  residualBlocks: 2,
  branches: 3,
  resolution: 256,
};

describe('networks', () => {
  test('GLU: the first half of the channels gated by the sigmoid of the second', () => {
    using x = tensor([[1, -2, 0, Math.log(3)]]);
    using y = glu(x);
    const [a, b] = (y.toArray() as number[][])[0]!;
    assert.ok(Math.abs(a! - 0.5) < 1e-6 && Math.abs(b! - -2 * 0.75) < 1e-6, `${a}, ${b}`);
    using odd = tensor([[1, 2, 3]]);
    assert.throws(() => glu(odd), /even number of channels/);
  });

  test('StackGAN++: a tree of 64, 128 and 256 px images with the official widths; its discriminators', () => {
    const before = liveTensors();
    const G = new StackGanPlusPlusGenerator(treeOpts);
    const Ds = [64, 128, 256].map(
      (resolution) =>
        new StackGanDiscriminator({ embeddingDim: 4, projectionDim: 0, width: 2, resolution, unconditional: true }),
    );
    try {
      assert.deepEqual(G.stages, [64, 128, 256]);
      // 16·N_gf channels at 4×4 (doubled for the GLU), N_gf at 64 px, then halved by each stage.
      assert.equal(G.initial.fc.outFeatures, 16 * 8 * 16 * 2);
      assert.deepEqual(
        G.heads.map((h) => h.conv.weight.size(1)),
        [8, 4, 2],
      );
      assert.equal(G.ca.fc.outFeatures, 4 * 4, 'CA with GLU: 4·N_c outputs');
      assert.equal(G.refinements[0]!.residual.length, 2);
      noGrad(() => {
        using z = randn([2, 8]);
        using s = randn([2, 6]);
        const out = G.forward(z, { sentence: s });
        try {
          assert.deepEqual(
            out.stages.map((t) => t.shape),
            [
              [2, 3, 64, 64],
              [2, 3, 128, 128],
              [2, 3, 256, 256],
            ],
          );
          assert.deepEqual(out.mu.shape, [2, 4]);
          out.stages.forEach((img, i) => {
            using f = Ds[i]!.features(img);
            assert.deepEqual(f.shape, [2, 16, 4, 4]);
            using c = Ds[i]!.score(f, out.mu);
            using u = Ds[i]!.unconditionalScore(f);
            assert.deepEqual([c.shape, u.shape], [[2], [2]]);
          });
          assert.equal(Ds[0]!.projection, null, 'StackGAN++ D joins the code as it is');
        } finally {
          disposeTreeOutput(out);
        }
        G.eval();
        using mean = G.conditionMean(s);
        const e = G.forward(z, { sentence: s });
        try {
          assert.equal(maxAbsDiff(mean, e.mu), 0);
        } finally {
          disposeTreeOutput(e);
        }
      });
      assert.throws(() => new StackGanPlusPlusGenerator({ ...treeOpts, resolution: 48 }), /first stage of 12 px/);
      assert.throws(() => new StackGanPlusPlusGenerator({ ...treeOpts, width: 2 }), /cannot be halved/);
    } finally {
      G.dispose();
      Ds.forEach((d) => d.dispose());
    }
    assert.equal(liveTensors(), before);
  });

  test('AttnGAN: stages, attention β per word over each stage input; padding has no effect', () => {
    const before = liveTensors();
    const G = new AttnGanGenerator({ ...treeOpts, wordDim: 5 });
    try {
      assert.deepEqual(
        G.heads.map((h) => h.conv.weight.size(1)),
        [8, 8, 8],
        'N_gf channels at every stage',
      );
      G.eval();
      noGrad(() => {
        using z = randn([2, 8]);
        using s = randn([2, 6]);
        using w = randn([2, 5, 4]);
        // Caption 0 has 4 words, caption 1 has 2.
        using mask = tensor([
          [false, false, false, false],
          [false, false, true, true],
        ]);
        const out = G.forward(z, { sentence: s, words: w, mask });
        try {
          assert.deepEqual(
            out.stages.map((t) => t.shape[2]),
            [64, 128, 256],
          );
          assert.deepEqual(
            out.attention!.map((t) => t.shape),
            [
              [2, 4, 64, 64],
              [2, 4, 128, 128],
            ],
          );
          for (const a of out.attention!) {
            using total = a.sum(1);
            using one = total.sub(1);
            using dev = one.abs();
            using m = dev.max();
            assert.ok(m.item() < 1e-5, 'β sums to 1 over the words at every sub-region');
            using second = a.narrow(0, 1, 1);
            using padded = second.narrow(1, 2, 2);
            using pm = padded.abs();
            using pmax = pm.max();
            assert.equal(pmax.item(), 0, 'no attention on padding');
          }
          // Other values at the padded positions change nothing.
          using noise = randn([2, 5, 4]);
          using m3 = mask.unsqueeze(1);
          using keep = m3.logicalNot();
          using w2 = keep.where(w, noise);
          const again = G.forward(z, { sentence: s, words: w2, mask });
          try {
            using a1 = out.stages[2]!.narrow(0, 1, 1);
            using b1 = again.stages[2]!.narrow(0, 1, 1);
            assert.equal(maxAbsDiff(a1, b1), 0);
          } finally {
            disposeTreeOutput(again);
          }
          // Other real words do change the image.
          const other = G.forward(z, { sentence: s, words: noise, mask });
          try {
            using a0 = out.stages[2]!.narrow(0, 0, 1);
            using b0 = other.stages[2]!.narrow(0, 0, 1);
            assert.ok(maxAbsDiff(a0, b0) > 1e-4, 'other words, another image');
          } finally {
            disposeTreeOutput(other);
          }
        } finally {
          disposeTreeOutput(out);
        }
        assert.throws(() => G.forward(z, { sentence: s }), /needs word features/);
      });
    } finally {
      G.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  test('word-context attention: c_j = Σ_i β_ji U e_i with β the softmax of h_jᵀ U e_i', () => {
    const att = new WordContextAttention(2, 2);
    try {
      noGrad(() => {
        using eye = tensor([
          [[1], [0]],
          [[0], [1]],
        ]);
        att.project.weight.copy_(eye); // U = I
        // One sub-region h = (1, 0); words e₁ = (2, 0), e₂ = (0, 5): scores 2 and 0.
        using h = tensor([[[[1]], [[0]]]]);
        using e = tensor([
          [
            [2, 0],
            [0, 5],
          ],
        ]);
        const { context, attention } = att.forward(h, e);
        using c = context;
        using a = attention;
        const b1 = Math.exp(2) / (Math.exp(2) + 1);
        const [p1, p2] = (a.toArray() as number[][][][])[0]!.map((m) => m[0]![0]!);
        assert.ok(Math.abs(p1! - b1) < 1e-6 && Math.abs(p2! - (1 - b1)) < 1e-6);
        const [c1, c2] = (c.toArray() as number[][][][])[0]!.map((m) => m[0]![0]!);
        assert.ok(Math.abs(c1! - 2 * b1) < 1e-5 && Math.abs(c2! - 5 * (1 - b1)) < 1e-5, `${c1}, ${c2}`);
      });
    } finally {
      att.dispose();
    }
  });

  test('colour consistency: per-image colour mean and covariance, and their squared differences', () => {
    // One image of two pixels: R = (0, 1), G = (1, 1), B = (−1, 1). Means (0.5, 1, 0);
    // covariance over the 2 pixels: var R = 0.25, var B = 1, cov(R, B) = 0.5, G constant.
    using img = tensor([[[[0, 1]], [[1, 1]], [[-1, 1]]]]);
    const { mean, covariance } = colorStatistics(img);
    using m = mean;
    using c = covariance;
    assert.deepEqual(m.toArray(), [[0.5, 1, 0]]);
    assert.deepEqual(c.toArray(), [
      [
        [0.25, 0, 0.5],
        [0, 0, 0],
        [0.5, 0, 1],
      ],
    ]);
    // Against a flat grey image of another size: means 0, covariance 0.
    using flat = tensor([
      [
        [
          [0, 0],
          [0, 0],
        ],
        [
          [0, 0],
          [0, 0],
        ],
        [
          [0, 0],
          [0, 0],
        ],
      ],
    ]);
    const d = colorConsistency(img, flat);
    using dm = d.mean;
    using dc = d.covariance;
    assert.ok(Math.abs(dm.item() - (0.25 + 1) / 3) < 1e-6);
    assert.ok(Math.abs(dc.item() - (0.0625 + 0.25 * 2 + 1) / 9) < 1e-6);
    const same = colorConsistency(img, img);
    using sm = same.mean;
    using sc = same.covariance;
    assert.equal(sm.item() + sc.item(), 0);
  });
});

const ppRun = path.join(runs, 'stackgan-pp');
const attnRun = path.join(runs, 'attngan');

describe('training', () => {
  test('StackGAN++ and AttnGAN keep the best checkpoint by R-precision of their last stage, with FID beside it', async () => {
    const before = liveTensors();
    for (const [name, config] of [
      ['pp-rprec', 'stackgan-pp-cub.yaml'],
      ['attn-rprec', 'attngan-cub.yaml'],
    ] as const) {
      const dir = path.join(runs, name);
      await trainTree(config, dir, ['train.steps=2', 'train.checkpointEvery=1', 'eval.samples=8', 'eval.fid=16']);
      const best = assertBestKept(dir, 'rprec', 'max', 2);
      assert.ok(best.value >= 0 && best.value <= 1);
      // FID of 16 generated against 16 training images on the DAMSM's image features, at each checkpoint.
      const scored = finiteMetrics(dir).filter((m) => m['eval/rprec'] !== undefined);
      assert.equal(scored.length, 2);
      assert.ok(
        scored.every((m) => m['eval/fid']! > 0),
        JSON.stringify(scored),
      );
    }
    assert.equal(liveTensors(), before);
  });

  test('StackGAN++ trains its three stages jointly with finite losses (colour consistency, the hold and DiffAugment on)', async () => {
    const before = liveTensors();
    const r = await trainTree('stackgan-pp-cub.yaml', ppRun, [
      'train.steps=2',
      'loss.colorConsistency=1',
      'loss.consistency=1',
      'augment.translation=0.125',
      'augment.cutout=0.25',
    ]);
    assert.equal(r.step, 2);
    assert.equal(liveTensors(), before, 'the trainer frees everything it made');
    const lines = finiteMetrics(ppRun);
    for (const k of ['loss/D0', 'loss/D1', 'loss/D2', 'loss/G', 'loss/kl', 'D2/wrong', 'loss/color_cov2', 'grad/G'])
      assert.ok(k in lines[0]!, `missing ${k}`);
    // The hold: an L1 distance between images in [-1, 1], one per stage above 64 px.
    for (const k of ['loss/consistency1', 'loss/consistency2']) assert.ok(lines[0]![k]! > 0 && lines[0]![k]! < 2, k);
    // Per caption, a row per stage (each enlarged to 256) of perCondition images.
    const grid = await sharp(path.join(ppRun, 'samples', 'step-00000002.png')).metadata();
    assert.ok(grid.width! > 2 * 256 && grid.height! > 6 * 256, `${grid.width}×${grid.height}`);
  });

  test('AttnGAN trains with the DAMSM loss and attention; it refuses tag conditions', async () => {
    const before = liveTensors();
    const r = await trainTree('attngan-cub.yaml', attnRun, ['train.steps=2']);
    assert.equal(r.step, 2);
    assert.equal(liveTensors(), before);
    const lines = finiteMetrics(attnRun);
    for (const k of ['loss/D0', 'loss/D2', 'loss/damsm', 'loss/kl']) assert.ok(k in lines[0]!, `missing ${k}`);
    assert.ok(lines[0]!['loss/damsm']! > 0);
    await assert.rejects(
      trainTree('attngan-cub.yaml', 'bad-tags', ['condition.source=tags']),
      /needs condition.source damsm/,
    );
  });

  test('AttnGAN trains in bf16 mixed precision (attention, GLU, DAMSM loss under autocast); weights stay float32', async () => {
    const dir = path.join(runs, 'attngan-bf16');
    const before = liveTensors();
    const r = await trainTree('attngan-cub.yaml', dir, ['train.steps=2', 'train.precision=bf16']);
    assert.equal(r.step, 2);
    assert.equal(liveTensors(), before);
    const lines = finiteMetrics(dir);
    for (const k of ['loss/D0', 'loss/D2', 'loss/damsm', 'grad/G']) assert.ok(k in lines[0]!, `missing ${k}`);
    const ck = loadCheckpoint(ckptFile(dir, 2));
    try {
      for (const [k, t] of ck.tensors) if (k.startsWith('G.')) assert.ok(t.dtype !== 'bfloat16', `${k} is ${t.dtype}`);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  });

  test('a cache without every stage size is refused with the sizes to prepare', async () => {
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'bad-sizes', ['data.resolution=512']),
      /the config asks for 512|--sizes 128,256,512/,
    );
  });

  test('grow.from: StackGAN++ grown from its 64 px stage alone keeps that stage and its D; the 128 and 256 px stages start fresh', async () => {
    const { run: small } = await smallTree();
    const grown = path.join(runs, 'pp-grown');
    const logs: string[] = [];
    // One Adam step moves a weight by at most its learning rate (the first step is ±lr; float32
    // rounding near 1 adds ~1e-7): the kept weights are the small run's within that, where fresh
    // ones would differ by their whole scale.
    const frozen = ['train.steps=1', 'train.checkpointEvery=1'];
    await trainTree('stackgan-pp-cub.yaml', grown, [`grow.from=${small}`, ...frozen], logs);
    assert.ok(
      logs.some((l) => /^grew from .*\(stages 64, step 2\): stages 128, 256 added/.test(l)),
      logs.join('\n'),
    );
    const a = loadCheckpoint(ckptFile(small, 2));
    const b = loadCheckpoint(ckptFile(grown, 1));
    try {
      const buffer = /running_(mean|var)|num_batches_tracked/;
      let kept = 0;
      for (const [k, t] of a.tensors)
        if (/^(G|D0)\./.test(k) && !buffer.test(k)) {
          assert.ok(maxAbsDiff(t, b.tensors.get(k)!) <= 0.0002 + 1e-6, `${k}: ${maxAbsDiff(t, b.tensors.get(k)!)}`);
          kept++;
        }
      assert.ok(kept > 10, `${kept} tensors kept`);
      assert.ok(
        b.tensors.has('G.stage2.up.block.conv.weight') &&
          b.tensors.has('D2.' + [...b.tensors.keys()].find((k) => k.startsWith('D2.'))!.slice(3)),
      );
      assert.ok(![...a.tensors.keys()].some((k) => k.startsWith('G.stage1.') || k.startsWith('D1.')));
    } finally {
      for (const t of [...a.tensors.values(), ...b.tensors.values()]) t.dispose();
    }
    // Only a tree of fewer stages of the same model grows into this one.
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-regrow', [`grow.from=${grown}`, 'train.steps=1']),
      /must start with them and add more/,
    );
    await assert.rejects(
      trainTree('attngan-cub.yaml', 'pp-to-attn', [`grow.from=${small}`, 'train.steps=1']),
      /is not a attngan checkpoint/,
    );
  });

  test('init.from: StackGAN++ goes on from a file exported without its discriminators: fresh Ds train alone first, then G at a rising rate', async () => {
    const { run: src, file } = await smallTree();
    const dir = path.join(runs, 'pp-init');
    const small = ['generator.branches=1', 'data.resolution=64'];
    const logs: string[] = [];
    const warm = ['init.discriminatorSteps=2', 'init.generatorWarmup=2'];
    await trainTree(
      'stackgan-pp-cub.yaml',
      dir,
      [...small, `init.from=${file}`, ...warm, 'train.steps=3', 'train.checkpointEvery=1'],
      logs,
    );
    assert.ok(
      logs.some((l) =>
        /^started from .*pp-64\.safetensors \(stages 64, step 2\); it holds no D for 64 px: fresh; D alone for the first 2 steps$/.test(
          l,
        ),
      ),
      logs.join('\n'),
    );
    const f = loadCheckpoint(file);
    const [c1, c2, c3] = [1, 2, 3].map((s) => loadCheckpoint(ckptFile(dir, s)));
    try {
      assert.ok(![...f.tensors.keys()].some((k) => k.startsWith('D')), 'the file holds no D');
      // Batch-norm statistics follow the batches G draws even while it is held: weights only.
      const buffer = /running_(mean|var)|num_batches_tracked/;
      const weights = [...f.tensors.keys()].filter((k) => k.startsWith('G.') && !buffer.test(k));
      assert.ok(weights.length > 10);
      for (const k of weights) {
        const t = f.tensors.get(k)!;
        // The export holds the moving average: G and the average both start from it and are held.
        for (const held of [c2!.tensors.get(k)!, c2!.tensors.get(`G_ema.${k.slice(2)}`)!])
          assert.equal(maxAbsDiff(t, held), 0, k);
      }
      const d = [...c1!.tensors.keys()].find((k) => k.startsWith('D0.') && k.endsWith('weight'))!;
      assert.ok(maxAbsDiff(c1!.tensors.get(d)!, c2!.tensors.get(d)!) > 0, 'D trains while G is held');
      // Step 3 is G's first update, at half its rate (warm-up over 2 steps): Adam's first step moves
      // a weight by at most that rate.
      const moved = Math.max(...weights.map((k) => maxAbsDiff(f.tensors.get(k)!, c3!.tensors.get(k)!)));
      assert.ok(moved > 0 && moved <= 0.0001 + 1e-6, `G moved ${moved}`);
    } finally {
      for (const ck of [f, c1!, c2!, c3!]) for (const t of ck.tensors.values()) t.dispose();
    }
    // Growing from such a file: its stage's D starts fresh too.
    const grownLogs: string[] = [];
    await trainTree(
      'stackgan-pp-cub.yaml',
      'pp-grow-no-d',
      ['generator.branches=2', 'data.resolution=128', `grow.from=${file}`, 'train.steps=1'],
      grownLogs,
    );
    assert.ok(
      grownLogs.some((l) => /^grew from .*: stages 128 added; it holds no D for 64 px: fresh$/.test(l)),
      grownLogs.join('\n'),
    );
    // init.from keeps the stages (grow.from adds them), and one source starts G.
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-init-more', [`init.from=${file}`, 'train.steps=1']),
      /init\.from: .* has stages 64; this run's \(64, 128, 256\) must be the same \(grow\.from adds stages\)/,
    );
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-init-both', [
        ...small,
        `init.from=${file}`,
        `grow.from=${src}`,
        'train.steps=1',
      ]),
      /grow\.from and init\.from both start G: give one/,
    );
  });

  test('damsm.text: an image encoder fitted to the text encoder in an AttnGAN file (its DAMSM run gone); the file grows to 256 px with that pair', async () => {
    const src = path.join(runs, 'attn-128-src');
    const file = path.join(tmp, 'attn-128.safetensors');
    await trainTree('attngan-cub.yaml', src, ['generator.branches=2', 'data.resolution=128', 'train.steps=1']);
    await run(process.execPath, [cli, 'export', '--model', src, '--out', file, '--fp16']);
    const fitted = path.join(runs, 'damsm-fitted');
    const damsmSets = [`data.cache=${data}`, 'train.checkpointEvery=1', 'eval.batches=1'];
    const logs: string[] = [];
    await train({
      ...quiet,
      log: (m) => logs.push(m),
      config: cfg('shapes/damsm.yaml'),
      runDir: fitted,
      sets: [...damsmSets, `damsm.text=${file}`, 'train.steps=2'],
    });
    assert.ok(
      logs.some((l) => l.includes(`text encoder of ${file}, held fixed`)),
      logs.join('\n'),
    );
    const f = loadCheckpoint(file);
    const [c1, c2] = [1, 2].map((s) => loadCheckpoint(ckptFile(fitted, s)));
    try {
      const text = [...f.tensors.keys()].filter((k) => k.startsWith('text.'));
      assert.ok(text.length > 3);
      // The text encoder is the file's (fp16 there, float32 here: the same numbers); the image encoder trains.
      for (const k of text) {
        using there = f.tensors.get(k)!.float();
        assert.equal(maxAbsDiff(there, c2!.tensors.get(k)!), 0, k);
      }
      const image = [...c1!.tensors.keys()].find((k) => k.startsWith('image.') && k.endsWith('weight'))!;
      assert.ok(maxAbsDiff(c1!.tensors.get(image)!, c2!.tensors.get(image)!) > 0, 'the image encoder trains');
      assert.equal(c2!.metadata.vocabulary, f.metadata.vocabulary);
    } finally {
      for (const ck of [f, c1!, c2!]) for (const t of ck.tensors.values()) t.dispose();
    }
    // The file grows with the fitted pair (its text encoder passes the check; the DAMSM loss reads
    // the fitted image encoder); the file's discriminators are not in it, so its stages are held.
    const grown: string[] = [];
    await trainTree(
      'attngan-cub.yaml',
      'attn-grown-fitted',
      [`condition.damsm=${fitted}`, `grow.from=${file}`, 'grow.frozenStages=2', 'train.steps=1'],
      grown,
    );
    assert.ok(
      grown.some((l) =>
        /^grew from .*attn-128\.safetensors .*: stages 256 added; it holds no D for 64, 128 px: fresh; stages 64, 128 held$/.test(
          l,
        ),
      ),
      grown.join('\n'),
    );
    // A joint space of another size than the text encoder's is refused.
    await assert.rejects(
      train({
        ...quiet,
        config: cfg('shapes/damsm.yaml'),
        runDir: path.join(runs, 'damsm-fitted-bad'),
        sets: [...damsmSets, `damsm.text=${file}`, 'damsm.embeddingDim=8', 'train.steps=1'],
      }),
      /damsm\.text: .* encodes sentences in 32 dimensions, damsm\.embeddingDim is 8/,
    );
  });

  test("grow.frozenStages: the file's stages stay its own, bit for bit; only the added stage and its D train", async () => {
    const { file } = await smallTree();
    const dir = path.join(runs, 'pp-held');
    const two = ['generator.branches=2', 'data.resolution=128', `grow.from=${file}`];
    const logs: string[] = [];
    await trainTree(
      'stackgan-pp-cub.yaml',
      dir,
      [...two, 'grow.frozenStages=1', 'loss.consistency=1', 'train.steps=2', 'train.checkpointEvery=1'],
      logs,
    );
    assert.ok('loss/consistency1' in finiteMetrics(dir)[0]!, 'the added stage is held to the held one below');
    assert.ok(
      logs.some((l) => /: stages 128 added; it holds no D for 64 px: fresh; stages 64 held$/.test(l)),
      logs.join('\n'),
    );
    const f = loadCheckpoint(file);
    const [c1, c2] = [1, 2].map((s) => loadCheckpoint(ckptFile(dir, s)));
    try {
      const buffer = /running_(mean|var)|num_batches_tracked/;
      const held = [...f.tensors.keys()].filter((k) => /^G\.(ca|stage0|image0)\./.test(k) && !buffer.test(k));
      assert.ok(held.length > 10);
      for (const k of held) assert.equal(maxAbsDiff(f.tensors.get(k)!, c2!.tensors.get(k)!), 0, k);
      const changed = (prefix: string): boolean =>
        [...c1!.tensors.keys()]
          .filter((k) => k.startsWith(prefix) && !buffer.test(k))
          .some((k) => maxAbsDiff(c1!.tensors.get(k)!, c2!.tensors.get(k)!) > 0);
      assert.ok(changed('G.stage1.') && changed('D1.'), 'the added stage and its D train');
      assert.ok(!changed('D0.'), "the held stage's D sits idle");
    } finally {
      for (const ck of [f, c1!, c2!]) for (const t of ck.tensors.values()) t.dispose();
    }
    // A refused config leaves no tensors behind.
    const live = liveTensors();
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-held-all', [...two, 'grow.frozenStages=2', 'train.steps=1']),
      /grow\.frozenStages is 2: it would hold every stage of 64, 128 \(one at least must train\)/,
    );
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-held-fresh', [`grow.from=${file}`, 'grow.frozenStages=2', 'train.steps=1']),
      /grow\.frozenStages is 2; .* has 1 stage\(s\): only trained stages can be held/,
    );
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-held-none', ['grow.frozenStages=1', 'train.steps=1']),
      /grow\.frozenStages holds trained stages: it needs grow\.from/,
    );
    await assert.rejects(
      trainTree('stackgan-pp-cub.yaml', 'pp-hold-one', [
        'generator.branches=1',
        'data.resolution=64',
        'loss.consistency=1',
      ]),
      /loss\.consistency holds a stage to the stage below it: a tree of one stage has none \(generator\.branches is 1\)/,
    );
    assert.equal(liveTensors(), live);
  });

  test('extra.cache: uncaptioned birds join the image-only real term at the stages they have; counted; resumed exactly', async () => {
    const extraDir = path.join(tmp, 'extra-src');
    await makeCubExtra(extraDir, ['901.Alpha_Extra', '902.Beta_Extra'], 4);
    const extra = path.join(tmp, 'extra');
    await prepareCache(await openDataset(`cub-extra:${extraDir}`), { out: extra, resolutions: [64, 128] });
    const s = (dir: string, steps: number, sets: string[] = [`extra.cache=${extra}`, 'extra.batchSize=3']) => ({
      ...quiet,
      config: cfg('stackgan-pp-cub.yaml'),
      runDir: dir,
      // DiffAugment off: its draws for the extra birds would shift D2's and hide what D2 is trained on.
      sets: [
        ...TINY,
        ...sets,
        'augment.translation=0',
        'augment.cutout=0',
        `train.steps=${steps}`,
        'train.checkpointEvery=1',
      ],
    });
    const before = liveTensors();
    const a = path.join(runs, 'extra-straight');
    const b = path.join(runs, 'extra-resumed');
    const plain = path.join(runs, 'extra-none');
    await train(s(a, 3));
    await train(s(b, 2));
    await train({ ...quiet, resume: b, sets: ['train.steps=3'] });
    await train(s(plain, 1, []));
    assert.equal(liveTensors(), before);
    assert.ok(fs.readFileSync(ckptFile(a, 3)).equals(fs.readFileSync(ckptFile(b, 3))), 'the extra stream resumes');
    const [first] = finiteMetrics(a);
    // The 64 and 128 px discriminators see the extra birds; the cache has no 256 px images for D2.
    assert.ok('D0/extra' in first! && 'D1/extra' in first!, JSON.stringify(first));
    assert.ok(!('D2/extra' in first!));
    assert.notEqual(first!['loss/D0'], finiteMetrics(plain)[0]!['loss/D0']);
    assert.equal(first!['loss/D2'], finiteMetrics(plain)[0]!['loss/D2'], 'D2 is trained as without them');
    const ck = loadCheckpoint(ckptFile(a, 3));
    assert.equal((ck.manifest.state as { imagesSeen: number }).imagesSeen, 3 * (4 + 3));
    for (const t of ck.tensors.values()) t.dispose();
    // Images of a held-out class would leak it: the shapes set again, every class in its training split.
    const allShapes = path.join(tmp, 'shapes-all-train');
    await prepareCache(await openDataset('shapes:64:5'), { out: allShapes, resolutions: [64], split: 'classes:1,0' });
    await assert.rejects(
      train(s(path.join(runs, 'extra-leak'), 1, [`extra.cache=${allShapes}`])),
      /validation\/test split/,
    );
  });

  for (const [name, config, extra] of [
    ['StackGAN++', 'stackgan-pp-cub.yaml', ['loss.colorConsistency=0.5']],
    ['AttnGAN', 'attngan-cub.yaml', []],
  ] as const)
    test(`${name} resumes exactly (generator, three discriminators, moving average)`, async () => {
      const a = path.join(runs, `${name}-straight`);
      const b = path.join(runs, `${name}-resumed`);
      const s = (dir: string, steps: number): TrainOptions => ({
        ...quiet,
        config: cfg(config),
        runDir: dir,
        // Standing statistics at every checkpoint too: their draws must leave the run's own alone.
        sets: [
          ...TINY,
          ...extra,
          `train.steps=${steps}`,
          'train.checkpointEvery=1',
          'optim.ema=0.9',
          'train.standingStats=2',
        ],
      });
      await train(s(a, 3));
      await train(s(b, 2));
      await train({ ...quiet, resume: b, sets: ['train.steps=3'] });
      assert.ok(
        fs.readFileSync(ckptFile(a, 3)).equals(fs.readFileSync(ckptFile(b, 3))),
        'checkpoints at step 3 differ',
      );
    });
});

describe('sampling', () => {
  test('the pipeline: stages 64/128/256, AttnGAN attention maps with their words, interpolation', () => {
    const before = liveTensors();
    const pp = TextToImagePipeline.load(ppRun);
    const attn = TextToImagePipeline.load(attnRun);
    try {
      for (const p of [pp, attn]) {
        assert.deepEqual(p.stages, [64, 128, 256]);
        assert.equal(p.noiseDim, 8);
      }
      assert.equal(pp.hasAttention, false);
      assert.equal(attn.hasAttention, true);
      const caps = ['a small red circle', 'a large blue square above a small green triangle'];
      using z = attn.noise(2, 3);
      const r = attn.generateWithAttention(z, caps);
      try {
        assert.deepEqual(r.words, [
          ['a', 'small', 'red', 'circle'],
          ['a', 'large', 'blue', 'square', 'above', 'a', 'small', 'green', 'triangle'],
        ]);
        assert.deepEqual(
          r.maps.map((m) => m.shape),
          [
            [2, 9, 64, 64],
            [2, 9, 128, 128],
          ],
        );
        using last = attn.generate(caps, { seed: 3 });
        assert.equal(maxAbsDiff(last, r.stages[2]!), 0, 'generate() is the last stage of the same draw');
      } finally {
        [...r.stages, ...r.maps].forEach((t) => t.dispose());
      }
      assert.throws(() => pp.generateWithAttention(z, caps), /no word attention/);
      // A smaller stage alone: the tree stops there (the larger stages are not run) and draws the same.
      for (const p of [pp, attn]) {
        const all = p.generateStagesFrom(z, caps);
        try {
          for (const [i, side] of [64, 128].entries()) {
            const upTo = p.generateStagesFrom(z, caps, undefined, i + 1);
            assert.deepEqual(
              upTo.map((t) => t.size(-1)),
              [64, 128].slice(0, i + 1),
              `${p.model}: ${i + 1} stage(s) run`,
            );
            upTo.forEach((t) => t.dispose());
            using one = p.generate(caps, { seed: 3, stage: side });
            assert.equal(
              maxAbsDiff(one, all[i]!),
              0,
              `${p.model}: generate({ stage: ${side} }) is that stage of the draw`,
            );
          }
        } finally {
          all.forEach((t) => t.dispose());
        }
        assert.throws(
          () => p.generateStagesFrom(z, caps, undefined, 4),
          /depth must be 1 to 3 \(the tree's stages\), got 4/,
        );
      }
      for (const p of [pp, attn]) {
        const inter = p.interpolateStages(caps[0]!, caps[1]!, 3, { seed: 2 });
        try {
          assert.deepEqual(
            inter.map((t) => t.shape),
            [
              [3, 3, 64, 64],
              [3, 3, 128, 128],
              [3, 3, 256, 256],
            ],
          );
          // The ends of the interpolation are the two captions themselves.
          using z1 = p.noise(1, 2);
          const ends = p.generateStagesFrom(z1, [caps[1]!]);
          using lastRow = inter[2]!.narrow(0, 2, 1);
          const d = maxAbsDiff(ends[2]!, lastRow);
          ends.forEach((t) => t.dispose());
          assert.ok(d < 1e-4, `${p.model}: t = 1 is caption b (${d})`);
        } finally {
          inter.forEach((t) => t.dispose());
        }
      }
    } finally {
      pp.dispose();
      attn.dispose();
    }
    assert.equal(liveTensors(), before);
  });

  test('export; the sample CLI writes every stage, the stages side by side and the attention figures; the API serves it', async () => {
    const file = path.join(tmp, 'attngan.safetensors');
    await run(process.execPath, [cli, 'export', '--model', attnRun, '--out', file, '--fp16']);
    const exp = loadCheckpoint(file);
    const keys = [...exp.tensors.keys()];
    exp.tensors.forEach((t) => t.dispose());
    assert.ok(keys.some((k) => k.startsWith('text.')) && keys.some((k) => k.startsWith('G.stage2.attention')));
    assert.ok(!keys.some((k) => k.startsWith('D')), 'no discriminators in an export');
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
    ]);
    for (const side of [64, 128, 256]) {
      const m = await sharp(out.replace(/\.png$/, `-${side}.png`)).metadata();
      assert.deepEqual([m.width, m.height], [2 * side + 6, side + 4]);
    }
    const stages = await sharp(out.replace(/\.png$/, '-stages.png')).metadata();
    assert.deepEqual([stages.width, stages.height], [3 * 258 + 2, 2 * 258 + 2], 'per image, its three stages');
    for (const side of [128, 256]) {
      // Per image: the image and one tile per word (4 words).
      const m = await sharp(out.replace(/\.png$/, `-attention-${side}.png`)).metadata();
      assert.deepEqual([m.width, m.height], [5 * (side + 2) + 2, 2 * (side + 2) + 2]);
    }

    const dir = path.join(tmp, 'served');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(file, path.join(dir, 'attngan-tiny.safetensors'));
    const app = await buildApp({ service: new LocalGenerationService(new ModelRegistry([dir])) });
    try {
      const models = (await app.inject('/api/models')).json<{ models: { resolutions: number[]; title: string }[] }>();
      assert.deepEqual(models.models[0]!.resolutions, [64, 128, 256]);
      assert.match(models.models[0]!.title, /^AttnGAN/);
      const r = await app.inject({
        method: 'POST',
        url: '/api/generate',
        payload: { model: 'attngan-tiny', text: 'a small red circle', seed: 9, count: 2 },
      });
      assert.equal(r.statusCode, 200, r.body);
      const got = r.json<{ stages: { resolution: number; images: string[] }[] }>().stages;
      assert.deepEqual(
        got.map((st) => [st.resolution, st.images.length]),
        [
          [64, 2],
          [128, 2],
          [256, 2],
        ],
      );
      const inter = await app.inject({
        method: 'POST',
        url: '/api/interpolate',
        payload: { model: 'attngan-tiny', from: 'a small red circle', to: 'a large blue square', steps: 3, seed: 1 },
      });
      assert.equal(inter.statusCode, 200, inter.body);
    } finally {
      await app.close();
    }
  });

  test("the API's word attention: every stage's image and, per word, the image lit by its map (AttnGAN only)", async () => {
    // The served folder of the test above, with the StackGAN++ run (no attention) exported next to it,
    // and AttnGAN's 64 px tree alone (the first step of growing it: no attentional stage yet).
    const dir = path.join(tmp, 'served');
    await run(process.execPath, [
      cli,
      'export',
      '--model',
      ppRun,
      '--out',
      path.join(dir, 'stackgan-pp-tiny.safetensors'),
    ]);
    const attn64 = path.join(runs, 'attngan-64');
    await trainTree('attngan-cub.yaml', attn64, ['generator.branches=1', 'data.resolution=64', 'train.steps=1']);
    await run(process.execPath, [
      cli,
      'export',
      '--model',
      attn64,
      '--out',
      path.join(dir, 'attngan-tiny-64.safetensors'),
    ]);
    const service = new LocalGenerationService(new ModelRegistry([dir]));
    const app = await buildApp({ service });
    interface Attention {
      model: string;
      text: string;
      seed: number;
      words: string[];
      stages: { resolution: number; image: string }[];
      attention: { resolution: number; maps: string[] }[];
      unknownWords: string[];
      timings: { queueMs: number; generateMs: number };
    }
    const ask = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/attention', payload });
    const png = (dataUrl: string): Buffer => {
      assert.match(dataUrl, /^data:image\/png;base64,/);
      return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
    };
    const side = async (dataUrl: string): Promise<number[]> => {
      const m = await sharp(png(dataUrl)).metadata();
      return [m.format === 'png' ? m.width! : -1, m.height!];
    };
    try {
      const models = (await app.inject('/api/models')).json<{ models: { name: string; attention: boolean }[] }>();
      assert.deepEqual(models.models.map((m) => [m.name, m.attention]).sort(), [
        ['attngan-tiny', true],
        ['attngan-tiny-64', false],
        ['stackgan-pp-tiny', false],
      ]);
      const body = { model: 'attngan-tiny', text: 'a  small red circle', seed: 11 };
      const r = await ask(body);
      assert.equal(r.statusCode, 200, r.body);
      const a = r.json<Attention>();
      assert.deepEqual([a.model, a.text, a.seed], ['attngan-tiny', 'a small red circle', 11]);
      assert.deepEqual(a.words, ['a', 'small', 'red', 'circle']);
      assert.deepEqual(a.unknownWords, []);
      assert.ok(a.timings.generateMs > 0);
      assert.deepEqual(
        a.stages.map((s) => s.resolution),
        [64, 128, 256],
      );
      for (const s of a.stages) assert.deepEqual(await side(s.image), [s.resolution, s.resolution]);
      assert.deepEqual(
        a.attention.map((s) => [s.resolution, s.maps.length]),
        [
          [128, 4],
          [256, 4],
        ],
      );
      for (const s of a.attention) {
        for (const m of s.maps) assert.deepEqual(await side(m), [s.resolution, s.resolution]);
        assert.ok(new Set(s.maps).size > 1, `${s.resolution}: the words look at different places`);
        assert.ok(!s.maps.includes(a.stages.find((st) => st.resolution === s.resolution)!.image), 'lit, not the image');
      }
      // The images are the ones /api/generate draws from the same seed; the same request, the same bytes.
      const g = await app.inject({ method: 'POST', url: '/api/generate', payload: { ...body, count: 1 } });
      assert.deepEqual(
        g.json<{ stages: { images: string[] }[] }>().stages.map((s) => s.images[0]),
        a.stages.map((s) => s.image),
      );
      const before = liveTensors();
      const again = (await ask(body)).json<Attention>();
      assert.deepEqual({ ...again, timings: null }, { ...a, timings: null });
      const other = (await ask({ ...body, seed: 12, text: 'a small zorglub circle' })).json<Attention>();
      assert.deepEqual(other.words, ['a', 'small', 'zorglub', 'circle'], 'unknown words keep their place');
      assert.deepEqual(other.unknownWords, ['zorglub']);
      assert.notEqual(other.stages[2]!.image, a.stages[2]!.image);
      assert.equal(liveTensors(), before, 'no tensors are left behind');
      const truncated = await ask({ ...body, truncation: 0.5 });
      assert.equal(truncated.statusCode, 200, truncated.body);
      assert.notEqual(truncated.json<Attention>().stages[2]!.image, a.stages[2]!.image);

      for (const bad of [
        { model: 'attngan-tiny' },
        { ...body, count: 2 },
        { ...body, seed: '11' },
        { ...body, seed: -1 },
        { ...body, text: '' },
        { ...body, truncation: 0 },
      ]) {
        const b = await ask(bad);
        assert.equal(b.statusCode, 400, JSON.stringify(bad));
      }
      const none = await ask({ ...body, model: 'stackgan-pp-tiny' });
      assert.equal(none.statusCode, 400);
      assert.equal(
        none.json<{ message: string }>().message,
        "stackgan-pp-tiny has no word attention (only AttnGAN's stages above the first have it)",
      );
      const first = await ask({ ...body, model: 'attngan-tiny-64' });
      assert.equal(first.statusCode, 400);
      assert.match(first.json<{ message: string }>().message, /^attngan-tiny-64 has no word attention/);
      const drawn = await app.inject({
        method: 'POST',
        url: '/api/generate',
        payload: { ...body, model: 'attngan-tiny-64' },
      });
      assert.equal(drawn.statusCode, 200, drawn.body);
      assert.deepEqual(
        drawn.json<{ stages: { resolution: number }[] }>().stages.map((s) => s.resolution),
        [64],
        'it draws its one stage',
      );
      assert.equal((await ask({ ...body, model: 'nope' })).statusCode, 404);
      const spec = (await app.inject('/docs/json')).json<{ paths: Record<string, unknown> }>();
      assert.ok('/api/attention' in spec.paths);
    } finally {
      await app.close();
      await service.close();
    }
  });
});
