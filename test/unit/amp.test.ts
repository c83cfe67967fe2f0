// Mixed precision: autocast scopes (dtypes inside, state restored after, also on errors and when
// nested; backward always in the forward's dtypes), dynamic loss scaling (unscaled gradients equal
// the unscaled loss's, overflow skips the step and halves the scale, growth after a clean run,
// state round trip) and a gradient penalty that does not depend on the loss scale.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  autocast,
  autocastDtype,
  backendInfo,
  liveTensors,
  manualSeed,
  randn,
  tensor,
  tidy,
  type Tensor,
} from '../../src/engine/index.js';
import { BatchNorm2d, Conv2d, Linear } from '../../src/nn/index.js';
import { GradScaler, SGD } from '../../src/optim/index.js';
import { gradientPenalty } from '../../src/train/losses.js';
import { MixedPrecision } from '../../src/train/precision.js';

const START = liveTensors();
const vals = (t: Tensor): number[] => Array.from(t.toFloat32Array());

describe('autocast', () => {
  test('convolutions and products run in bfloat16 inside, float32 after; gradients are float32', () => {
    manualSeed(1);
    const conv = new Conv2d(3, 4, 3, { padding: 1 });
    const bn = new BatchNorm2d(4);
    const fc = new Linear(4, 2);
    using x = randn([2, 3, 6, 6]);
    assert.equal(autocastDtype('cpu'), null);
    const loss = autocast('cpu', 'bfloat16', () => {
      assert.equal(autocastDtype('cpu'), 'bfloat16');
      using y = conv.forward(x);
      assert.equal(y.dtype, 'bfloat16');
      using z = bn.forward(y);
      using p = z.mean([2, 3]);
      using o = fc.forward(p);
      assert.equal(o.dtype, 'bfloat16');
      using f = o.float();
      using sq = f.square();
      return sq.mean();
    });
    assert.equal(autocastDtype('cpu'), null);
    assert.equal(loss.dtype, 'float32');
    loss.backward();
    loss.dispose();
    for (const m of [conv, bn, fc])
      for (const p of m.parameters()) {
        using g = p.grad!;
        assert.equal(g.dtype, 'float32');
        assert.ok(vals(g).every(Number.isFinite));
      }
    using y32 = conv.forward(x);
    assert.equal(y32.dtype, 'float32', 'outside the scope convolutions are float32 again');
    for (const m of [conv, bn, fc]) m.dispose();
  });

  test('the previous state comes back after an error and after a nested scope', () => {
    assert.throws(
      () =>
        autocast('cpu', 'bfloat16', () => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(autocastDtype('cpu'), null);
    autocast('cpu', 'bfloat16', () => {
      autocast('cpu', 'bfloat16', () => assert.equal(autocastDtype('cpu'), 'bfloat16'));
      assert.equal(autocastDtype('cpu'), 'bfloat16', 'the outer scope is still on');
    });
    assert.equal(autocastDtype('cpu'), null);
    assert.throws(() => autocast('cpu', 'float32' as 'bfloat16', () => 0), /float16 or bfloat16/);
    assert.throws(() => autocast('cpu', 'bfloat16', () => Promise.resolve(1)), /synchronous/);
  });

  test('backward inside a scope still runs in the forward pass dtypes', () => {
    const fc = new Linear(3, 3);
    using x = randn([4, 3]);
    autocast('cpu', 'bfloat16', () => {
      using y = fc.forward(x);
      using s = y.sum();
      s.backward();
    });
    using g = fc.weight.grad!;
    assert.equal(g.dtype, 'float32');
    fc.dispose();
  });
});

describe('GradScaler', () => {
  // A quadratic with known gradients: loss = sum(c * p^2) / 2, so grad = c * p.
  const setup = () => {
    const p = tensor([1, -2, 0.5, 4]).requiresGrad_(true);
    const c = tensor([0.5, 1, 2, 0.25]);
    const loss = (): Tensor => {
      using sq = p.square();
      using w = sq.mul(c);
      using s = w.sum();
      return s.mul(0.5);
    };
    const dispose = (): void => {
      p.dispose();
      c.dispose();
    };
    return { p, loss, dispose };
  };

  test('the unscaled gradients equal those of the unscaled loss', () => {
    const { p, loss, dispose } = setup();
    const scaler = new GradScaler({ initScale: 1024 });
    const opt = new SGD([p], { lr: 0.1 });
    {
      using l = loss();
      using scaled = scaler.scaleLoss(l);
      opt.zeroGrad();
      scaled.backward();
    }
    assert.equal(scaler.unscale(opt), false);
    using g = p.grad!;
    assert.deepEqual(vals(g), [0.5, -2, 1, 1]);
    opt.step();
    assert.deepEqual(vals(p), [0.95, -1.8, 0.4, 3.9].map(Math.fround));
    scaler.update();
    assert.equal(scaler.scale, 1024);
    assert.equal(scaler.growthTracker, 1);
    opt.dispose();
    dispose();
  });

  test('an overflow skips the step and halves the scale; a clean run grows it', () => {
    const { p, loss, dispose } = setup();
    const scaler = new GradScaler({ initScale: 8, growthInterval: 2 });
    const opt = new SGD([p], { lr: 0.1 });
    const before = vals(p);
    using inf = tensor([Infinity, 0, 0, 0]);
    opt.zeroGrad();
    {
      using l = loss();
      using ip = inf.mul(p);
      using sum = ip.sum();
      using withInf = l.add(sum);
      using scaled = scaler.scaleLoss(withInf);
      scaled.backward();
    }
    assert.equal(scaler.step(opt), false, 'the overflowing step is skipped');
    assert.deepEqual(vals(p), before);
    scaler.update();
    assert.equal(scaler.scale, 4);
    assert.equal(scaler.overflows, 1);
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      using l = loss();
      using scaled = scaler.scaleLoss(l);
      scaled.backward();
      assert.equal(scaler.step(opt), true);
      scaler.update();
    }
    assert.equal(scaler.scale, 8, 'doubled after growthInterval clean iterations');
    assert.equal(scaler.growthTracker, 0);
    const restored = new GradScaler();
    restored.loadStateDict(scaler.stateDict());
    assert.deepEqual(restored.stateDict(), { scale: 8, growthTracker: 0, overflows: 1 });
    assert.throws(() => new GradScaler({ backoffFactor: 1 }), /backoffFactor/);
    assert.throws(() => new GradScaler({ growthInterval: 0.5 }), /growthInterval/);
    assert.throws(() => restored.loadStateDict({ scale: 0, growthTracker: 0 }), /scale/);
    opt.dispose();
    dispose();
  });

  test('MixedPrecision.backward: plain gradients in fp32 and bf16; in fp16 scaled, unscaled back, overflow skipped', (t) => {
    // loss = Σ w·x: dloss/dw = x whatever the scale.
    const x = [0.5, -2, 3];
    const gradOf = (mp: MixedPrecision, loss: (w: Tensor) => Tensor): { grad: number[]; overflow: boolean } => {
      const w = tensor([1, 1, 1]).requiresGrad_(true);
      const opt = new SGD([w], { lr: 0.1 });
      try {
        const overflow = tidy(() => mp.backward(loss(w), opt));
        return { grad: tidy(() => Array.from(w.grad!.toFloat32Array())), overflow };
      } finally {
        opt.dispose();
        w.dispose();
      }
    };
    const dot = (w: Tensor): Tensor => tidy(() => w.mul(tensor(x)).sum());
    for (const kind of ['fp32', 'tf32', 'bf16'] as const) {
      const mp = new MixedPrecision(kind, 'cpu');
      assert.equal(mp.scaler, null);
      assert.equal(mp.lossScale, 1);
      assert.deepEqual(gradOf(mp, dot), { grad: x, overflow: false }, kind);
      assert.deepEqual(mp.endIteration(), {});
    }
    assert.throws(() => new MixedPrecision('fp8' as 'fp16', 'cpu'), /precision must be one of fp32, tf32, bf16, fp16/);
    let fp16: MixedPrecision;
    try {
      fp16 = new MixedPrecision('fp16', 'cpu');
    } catch (e) {
      t.skip(`fp16 autocast is not available on this libtorch's CPU: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    const scale = fp16.lossScale;
    assert.ok(scale > 1, 'fp16 scales the loss');
    // The gradients come back divided by the scale, and a clean step keeps the scale.
    assert.deepEqual(gradOf(fp16, dot), { grad: x, overflow: false });
    assert.equal(fp16.lossScale, scale);
    // An infinite loss overflows: backward says so (the caller skips the step) and the scale drops.
    const { overflow } = gradOf(fp16, (w) => tidy(() => dot(w).mul(Infinity)));
    assert.equal(overflow, true);
    const logged = fp16.endIteration();
    assert.equal(fp16.lossScale, scale / 2, 'halved after an overflow');
    assert.equal(logged['amp/overflows'], 1);
  });
});

test('the gradient penalty does not depend on the loss scale', () => {
  manualSeed(3);
  const critic = new Linear(12, 1);
  using real = randn([4, 3, 2, 2]);
  using fake = randn([4, 3, 2, 2]);
  const gp = (scale: number): number => {
    manualSeed(5);
    using v = gradientPenalty(
      (x) => {
        using flat = x.flatten(1);
        return critic.forward(flat);
      },
      real,
      fake,
      undefined,
      scale,
    );
    return v.item();
  };
  const a = gp(1);
  assert.ok(a > 0);
  assert.equal(gp(4096), a, 'a power-of-two scale is exact');
  critic.dispose();
});

test('fp16 on this libtorch: available with a scaler, or refused clearly', () => {
  const { torch } = backendInfo();
  const major = Number(torch.split('.')[0]);
  if (major >= 2) {
    const mp = new MixedPrecision('fp16', 'cpu');
    assert.ok(mp.scaler !== null);
    assert.equal(mp.lossScale, 2 ** 16);
    const fc = new Linear(3, 2);
    using x = randn([2, 3]);
    const y = mp.run(() => fc.forward(x));
    assert.equal(y.dtype, 'float16');
    y.dispose();
    fc.dispose();
  } else
    assert.throws(
      () => new MixedPrecision('fp16', 'cpu'),
      /fp16 is not available on cpu with libtorch 1\.13.*use bf16/,
    );
});

test('no tensor is left behind', () => {
  assert.equal(liveTensors(), START);
});
