// The device tier: what must hold on whichever device CREATIVEAI_DEVICE names (test/helpers/device.ts;
// cpu in CI, cuda in the GPU routine scripts/gpu-run.sh). Values against closed forms or against the
// same computation on the CPU: transfers, the ops the models use forward and backward, seeded
// generators, Adam, autocast, and a short training run with the trained model sampled on the device.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  F,
  Generator,
  autocast,
  cuda,
  liveTensors,
  noGrad,
  pickDevice,
  bernoulli,
  randn,
  randperm,
  tensor,
  tidy,
  type Tensor,
} from '../../src/engine/index.js';
import { Adam } from '../../src/optim/index.js';
import { TextToImagePipeline } from '../../src/inference/pipeline.js';
import { train } from '../../src/train/trainer.js';
import { ON_GPU, TEST_DEVICE } from '../helpers/device.js';
import { finiteMetrics } from '../helpers/runs.js';
import { TINY_TAG_GAN, prepareTagCache } from '../helpers/tag-dataset.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-device-'));
const START = liveTensors();
const dev = TEST_DEVICE;
// CUDA convolutions and matmuls may run in TF32 (10-bit mantissa) unless told not to.
if (ON_GPU) cuda.setAllowTF32(false);

const vals = (t: Tensor): number[] => tidy(() => Array.from(t.to('cpu').float().toFloat32Array()));
function assertClose(a: Tensor, b: Tensor, tol: number, what: string): void {
  const x = vals(a);
  const y = vals(b);
  assert.equal(x.length, y.length, `${what}: sizes`);
  const worst = Math.max(0, ...x.map((v, i) => Math.abs(v - y[i]!) / Math.max(1, Math.abs(y[i]!))));
  assert.ok(worst <= tol, `${what}: relative difference ${worst} > ${tol}`);
}

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe(`the engine on ${dev}`, () => {
  test('transfers keep every value and dtype, and tensors report their device', () =>
    tidy(() => {
      const f = tensor([1.5, -2.25, 3e-8, 65504]);
      const onDev = f.to(dev);
      assert.equal(onDev.device, dev);
      assert.deepEqual(vals(onDev), vals(f));
      for (const dtype of ['bfloat16', 'float16', 'int64'] as const) {
        const t = f.to({ dtype });
        const back = t.to(dev).to('cpu');
        assert.equal(back.dtype, dtype);
        assert.deepEqual(vals(back), vals(t), dtype);
      }
    }));

  test('the ops the models use match the CPU, forward and backward (fp32)', () =>
    tidy(() => {
      const gen = new Generator(3);
      const x = randn([4, 3, 8, 8], { generator: gen });
      const w = randn([5, 3, 3, 3], { generator: gen });
      const m = randn([5 * 8 * 8, 3], { generator: gen }).div(16);
      const labels = tensor([0, 1, 2, 0], { dtype: 'int64' });
      // conv → batch norm (training) → leaky ReLU → linear → squared mean + cross entropy.
      const run = (d: typeof dev): Tensor[] => {
        const xi = x.to(d).requiresGrad_(true);
        const wi = w.to(d).requiresGrad_(true);
        const h = F.conv2d(xi, wi, null, { padding: 1 });
        const y = F.batchNorm(h, { training: true }).leakyRelu(0.2).flatten(1).matmul(m.to(d));
        const loss = y
          .square()
          .mean()
          .add(F.crossEntropy(y, labels.to(d)));
        loss.backward();
        return [loss, y, xi.grad!, wi.grad!];
      };
      const cpu = run('cpu');
      const here = run(dev);
      ['loss', 'output', 'dL/dx', 'dL/dw'].forEach((what, i) => assertClose(here[i]!, cpu[i]!, 1e-4, what));
    }));

  test('seeded generators repeat their numbers on the device', () =>
    tidy(() => {
      const a = randn([1000], { generator: new Generator(9, dev), device: dev });
      const b = randn([1000], { generator: new Generator(9, dev), device: dev });
      assert.deepEqual(vals(a), vals(b));
      const m = vals(a).reduce((s, v) => s + v, 0) / 1000;
      assert.ok(Math.abs(m) < 0.15, `mean of 1,000 standard normals ${m}`);
    }));

  // The training recipes seed generators on their device and draw CPU tensors from them (shuffles,
  // fixed sample noise), and the reverse; libtorch refuses both mixes, so the engine draws where the
  // generator lives and moves the numbers (the first StackGAN++ run on an H200 stopped there).
  test('a generator draws for tensors of the other device: the same numbers as on its own', () =>
    tidy(() => {
      const mine = vals(randn([64], { generator: new Generator(5, 'cpu') }));
      const other = randn([64], { generator: new Generator(5, 'cpu'), device: dev });
      assert.equal(other.device, dev);
      assert.deepEqual(vals(other), mine);
      const onDev = vals(randn([64], { generator: new Generator(6, dev), device: dev }));
      assert.deepEqual(vals(randn([64], { generator: new Generator(6, dev) })), onDev);
      const perm = vals(randperm(50, { generator: new Generator(7, dev) }));
      assert.deepEqual(
        [...perm].sort((a, b) => a - b),
        [...Array(50).keys()],
      );
      const coins = bernoulli(tensor([0, 1, 0, 1]).to(dev), { generator: new Generator(8, 'cpu') });
      assert.equal(coins.device, dev);
      assert.deepEqual(vals(coins), [0, 1, 0, 1]);
      const filled = tensor([0, 0, 0]).uniform_(2, 3, new Generator(9, dev));
      assert.equal(filled.device, 'cpu');
      assert.ok(vals(filled).every((v) => v >= 2 && v < 3));
    }));

  test('an Adam step on the device equals the CPU step', () => {
    const steps = (d: typeof dev): number[] => {
      const p = tensor([0.5, -1, 2]).to(d).requiresGrad_(true);
      const opt = new Adam([p], { lr: 0.1, betas: [0.5, 0.999] });
      for (let i = 0; i < 3; i++) {
        opt.zeroGrad();
        tidy(() =>
          p
            .mul(tensor([1, 2, 3]).to(d))
            .square()
            .sum()
            .backward(),
        );
        opt.step();
      }
      const v = vals(p);
      opt.dispose();
      p.dispose();
      return v;
    };
    const cpu = steps('cpu');
    steps(dev).forEach((v, i) => assert.ok(Math.abs(v - cpu[i]!) < 1e-6, `p[${i}] ${v} vs ${cpu[i]}`));
  });

  test('autocast computes matmul in the half dtype inside, in float32 outside', () =>
    noGrad(() =>
      tidy(() => {
        const a = randn([8, 8], { device: dev });
        const inside = autocast(dev, 'bfloat16', () => a.matmul(a));
        assert.equal(inside.dtype, 'bfloat16');
        assert.equal(a.matmul(a).dtype, 'float32');
        assertClose(inside.float(), a.matmul(a), 5e-2, 'bf16 matmul');
      }),
    ));
});

describe(`a model trains and samples on ${dev}`, () => {
  const tags = path.join(tmp, 'tags');
  before(async () => {
    await prepareTagCache(tags, 4);
  });

  test('the projection tag GAN: 3 steps with finite losses, then the pipeline samples it on the device', async () => {
    const dir = path.join(tmp, 'runs', 'proj');
    const r = await train({
      progress: false,
      log: () => undefined,
      device: dev,
      config: path.join(root, 'configs', 'tag-projection-anime.yaml'),
      runDir: dir,
      sets: [`data.cache=${tags}`, ...TINY_TAG_GAN, 'generator.noiseDim=8', 'train.steps=3', 'train.logEvery=1'],
    });
    assert.equal(r.step, 3);
    assert.ok(finiteMetrics(dir).length >= 3);
    const pipe = TextToImagePipeline.load(dir, dev);
    using a = pipe.generate(['blue hair red eyes'], { seed: 1 });
    using b = pipe.generate(['blue hair red eyes'], { seed: 1 });
    assert.deepEqual(a.shape, [1, 3, 64, 64]);
    assert.deepEqual(vals(a), vals(b));
    pipe.dispose();
  });
});

test('pickDevice: cuda only where libtorch sees it, with the reason otherwise', () => {
  assert.equal(pickDevice('cpu'), 'cpu');
  assert.throws(() => pickDevice('gpu'), /--device must be cpu, cuda or cuda:N/);
  if (cuda.isAvailable()) assert.equal(pickDevice('cuda'), 'cuda:0');
  else for (const d of ['cuda', 'cuda:0']) assert.throws(() => pickDevice(d), /libtorch sees no CUDA device/);
});

test('frees what it made', () => assert.equal(liveTensors(), START));
