// Optimizers against plain-JavaScript implementations of the update rules in PyTorch's
// documentation, state-dict round trips, gradient clipping and learning-rate schedules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { liveTensors, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import {
  Adam,
  AdamW,
  CosineAnnealingLR,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  RMSprop,
  SGD,
  StepLR,
  type LRScheduler,
  type Optimizer,
  type OptimizerState,
} from '../../src/optim/index.js';

const START = liveTensors();

const vals = (t: Tensor): number[] =>
  t.dtype === 'float64' ? Array.from(t.toTypedArray() as Float64Array) : Array.from(t.toFloat32Array());

function close(actual: number[], expected: number[], tol = 1e-12, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `${what}[${i}]: expected ${expected[i]}, got ${actual[i]}`,
    );
}

// loss(p) = sum(0.5 c p^2 + d p), so grad = c p + d.
const CS = [1, 2, 0.5, 3];
const DS = [0.3, -0.2, 0.1, 0];
const P0 = [1, -2, 0.5, 0.25];
const gradAt = (p: number[]) => p.map((x, i) => CS[i]! * x + DS[i]!);

/** Runs `steps` optimizer steps on the quadratic above; returns the parameter after each step. */
function run(make: (ps: Tensor[]) => Optimizer, steps = 3): number[][] {
  const p = tensor(P0, { dtype: 'float64' }).requiresGrad_();
  // A second parameter that never gets a gradient: optimizers must leave it alone.
  const idle = tensor([5, -5], { dtype: 'float64' }).requiresGrad_();
  const opt = make([p, idle]);
  const c = tensor(CS, { dtype: 'float64' });
  const d = tensor(DS, { dtype: 'float64' });
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      opt.zeroGrad();
      p.square().mul(c).mul(0.5).add(p.mul(d)).sum().backward();
      opt.step();
    });
    out.push(vals(p));
  }
  assert.deepEqual(vals(idle), [5, -5], 'a parameter without gradient is not updated');
  assert.equal(opt.stepCount, steps);
  opt.dispose();
  for (const t of [p, idle, c, d]) t.dispose();
  return out;
}

// ---- references ---------------------------------------------------------------------------------
function adamRef(o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean }, steps = 3) {
  let p = P0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    let g = gradAt(p);
    if (o.decoupled) p = p.map((x) => x * (1 - o.lr * o.wd));
    else g = g.map((gi, i) => gi + o.wd * p[i]!);
    p = p.map((x, i) => {
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g[i]!;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g[i]! ** 2;
      const mhat = m[i]! / (1 - o.b1 ** t);
      const vhat = v[i]! / (1 - o.b2 ** t);
      return x - (o.lr * mhat) / (Math.sqrt(vhat) + o.eps);
    });
    out.push(p.slice());
  }
  return out;
}

function rmspropRef(
  o: { lr: number; alpha: number; eps: number; wd: number; momentum: number; centered: boolean },
  steps = 3,
) {
  let p = P0.slice();
  const sq = p.map(() => 0);
  const ga = p.map(() => 0);
  const buf = p.map(() => 0);
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradAt(p).map((gi, i) => gi + o.wd * p[i]!);
    p = p.map((x, i) => {
      sq[i] = o.alpha * sq[i]! + (1 - o.alpha) * g[i]! ** 2;
      let vt = sq[i]!;
      if (o.centered) {
        ga[i] = o.alpha * ga[i]! + (1 - o.alpha) * g[i]!;
        vt -= ga[i]! ** 2;
      }
      const denom = Math.sqrt(vt) + o.eps;
      if (o.momentum > 0) {
        buf[i] = o.momentum * buf[i]! + g[i]! / denom;
        return x - o.lr * buf[i]!;
      }
      return x - (o.lr * g[i]!) / denom;
    });
    out.push(p.slice());
  }
  return out;
}

function sgdRef(o: { lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean }, steps = 3) {
  let p = P0.slice();
  const buf = p.map(() => 0);
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    let g = gradAt(p).map((gi, i) => gi + o.wd * p[i]!);
    if (o.momentum !== 0) {
      g = g.map((gi, i) => {
        buf[i] = t === 1 ? gi : o.momentum * buf[i]! + (1 - o.dampening) * gi;
        return o.nesterov ? gi + o.momentum * buf[i]! : buf[i]!;
      });
    }
    p = p.map((x, i) => x - o.lr * g[i]!);
    out.push(p.slice());
  }
  return out;
}

function expectSteps(got: number[][], want: number[][], what: string): void {
  assert.equal(got.length, want.length);
  got.forEach((row, s) => close(row, want[s]!, 1e-12, `${what} step ${s + 1}`));
  // The reference is not trivially the starting point.
  assert.ok(
    want[0]!.some((v, i) => Math.abs(v - P0[i]!) > 1e-4),
    `${what}: the step moves`,
  );
}

describe('update rules', () => {
  test('Adam, with and without L2 weight decay', () => {
    for (const wd of [0, 0.1]) {
      const o = { lr: 0.1, b1: 0.8, b2: 0.9, eps: 1e-3, wd, decoupled: false };
      const got = run((ps) => new Adam(ps, { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: wd }));
      expectSteps(got, adamRef(o), `Adam wd=${wd}`);
    }
    // Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8.
    const got = run((ps) => new Adam(ps));
    expectSteps(got, adamRef({ lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false }), 'Adam defaults');
  });

  test('AdamW: decoupled weight decay (default 0.01)', () => {
    const o = { lr: 0.1, b1: 0.8, b2: 0.9, eps: 1e-3, wd: 0.1, decoupled: true };
    const got = run((ps) => new AdamW(ps, { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: o.wd }));
    expectSteps(got, adamRef(o), 'AdamW');
    const def = run((ps) => new AdamW(ps, { lr: 0.1 }));
    expectSteps(def, adamRef({ lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01, decoupled: true }), 'AdamW defaults');
    // Decoupled and L2 decay differ.
    const l2 = adamRef({ ...o, decoupled: false });
    assert.ok(Math.abs(l2[2]![1]! - got[2]![1]!) > 1e-6);
  });

  test('RMSprop: plain, momentum, centered, weight decay', () => {
    const variants = [
      { lr: 0.01, alpha: 0.9, eps: 1e-3, wd: 0, momentum: 0, centered: false },
      { lr: 0.01, alpha: 0.9, eps: 1e-3, wd: 0, momentum: 0.5, centered: false },
      { lr: 0.01, alpha: 0.9, eps: 1e-3, wd: 0, momentum: 0, centered: true },
      { lr: 0.01, alpha: 0.8, eps: 1e-2, wd: 0.1, momentum: 0.5, centered: true },
    ];
    for (const o of variants) {
      const got = run(
        (ps) =>
          new RMSprop(ps, {
            lr: o.lr,
            alpha: o.alpha,
            eps: o.eps,
            weightDecay: o.wd,
            momentum: o.momentum,
            centered: o.centered,
          }),
      );
      expectSteps(got, rmspropRef(o), `RMSprop ${JSON.stringify(o)}`);
    }
    const def = run((ps) => new RMSprop(ps));
    expectSteps(
      def,
      rmspropRef({ lr: 0.01, alpha: 0.99, eps: 1e-8, wd: 0, momentum: 0, centered: false }),
      'RMSprop defaults',
    );
  });

  test('SGD: plain, momentum with dampening, Nesterov, weight decay', () => {
    const variants = [
      { lr: 0.1, momentum: 0, dampening: 0, wd: 0, nesterov: false },
      { lr: 0.1, momentum: 0, dampening: 0, wd: 0.1, nesterov: false },
      { lr: 0.1, momentum: 0.9, dampening: 0, wd: 0, nesterov: false },
      { lr: 0.1, momentum: 0.9, dampening: 0.3, wd: 0.1, nesterov: false },
      { lr: 0.1, momentum: 0.9, dampening: 0, wd: 0, nesterov: true },
      { lr: 0.05, momentum: 0.5, dampening: 0, wd: 0.2, nesterov: true },
    ];
    for (const o of variants) {
      const got = run(
        (ps) =>
          new SGD(ps, {
            lr: o.lr,
            momentum: o.momentum,
            dampening: o.dampening,
            weightDecay: o.wd,
            nesterov: o.nesterov,
          }),
        4,
      );
      expectSteps(got, sgdRef(o, 4), `SGD ${JSON.stringify(o)}`);
    }
    assert.throws(() => tidy(() => new SGD([tensor([1]).requiresGrad_()], { lr: 0.1, nesterov: true })), /Nesterov/);
  });

  test('Adam: a parameter that first gets a gradient later starts its own step count', () => {
    tidy(() => {
      const a = tensor([1], { dtype: 'float64' }).requiresGrad_();
      const b = tensor([1], { dtype: 'float64' }).requiresGrad_();
      const opt = new Adam([a, b], { lr: 0.1 });
      a.grad = tensor([1], { dtype: 'float64' });
      opt.step();
      b.grad = tensor([2], { dtype: 'float64' });
      opt.step();
      // b's first step: mhat / sqrt(vhat) = g / |g| = 1 (up to eps), so b moves by lr.
      close(vals(b), [0.9], 1e-7);
      opt.dispose();
    });
  });

  test('SGD: a momentum buffer starts at the first gradient its parameter gets (as torch.optim.SGD)', () => {
    tidy(() => {
      const a = tensor([1], { dtype: 'float64' }).requiresGrad_();
      const b = tensor([1], { dtype: 'float64' }).requiresGrad_();
      const opt = new SGD([a, b], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
      try {
        a.grad = tensor([1], { dtype: 'float64' });
        opt.step();
        b.grad = tensor([2], { dtype: 'float64' });
        opt.step();
        close(vals(a), [1 - 0.1 - 0.1 * (0.9 * 1 + 0.5 * 1)]);
        // b's buffer starts at its gradient, undamped: b = 1 - 0.1 * 2.
        close(vals(b), [0.8]);
      } finally {
        opt.dispose();
      }
    });
  });

  test('constructor checks', () => {
    tidy(() => {
      const p = tensor([1]).requiresGrad_();
      assert.throws(() => new Adam([]), /empty/);
      assert.throws(() => new Adam([tensor([1])]), /does not require grad/);
      assert.throws(() => new Adam([p], { lr: -1 }), /lr/);
      assert.throws(() => new Adam([p], { betas: [1, 0.9] }), /betas/);
      assert.throws(() => new RMSprop([p], { alpha: 1.5 }), /alpha/);
      assert.throws(() => new SGD([p], { lr: 0 }), /lr/);
    });
  });

  test('backwardStep = zeroGrad + backward + step', () => {
    const a = run((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), 2);
    const p = tensor(P0, { dtype: 'float64' }).requiresGrad_();
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    const c = tensor(CS, { dtype: 'float64' });
    const d = tensor(DS, { dtype: 'float64' });
    for (let s = 0; s < 2; s++) tidy(() => opt.backwardStep(p.square().mul(c).mul(0.5).add(p.mul(d)).sum()));
    close(vals(p), a[1]!);
    opt.dispose();
    for (const t of [p, c, d]) t.dispose();
  });
});

// ---- state dicts ----------------------------------------------------------------------------------
describe('state dict', () => {
  /** A checkpoint: a deep copy, as saving to disk and loading back would give. */
  const snapshot = (sd: OptimizerState): OptimizerState => ({
    scalars: { ...sd.scalars },
    tensors: new Map([...sd.tensors].map(([k, t]) => [k, t.clone()])),
  });

  const makers: [string, (ps: Tensor[], lr: number) => Optimizer, string[]][] = [
    ['Adam', (ps, lr) => new Adam(ps, { lr, betas: [0.8, 0.9], weightDecay: 0.1 }), ['exp_avg', 'exp_avg_sq', 'step']],
    ['AdamW', (ps, lr) => new AdamW(ps, { lr }), ['exp_avg', 'exp_avg_sq', 'step']],
    [
      'RMSprop',
      (ps, lr) => new RMSprop(ps, { lr, momentum: 0.5, centered: true }),
      ['square_avg', 'momentum_buffer', 'grad_avg'],
    ],
    ['SGD', (ps, lr) => new SGD(ps, { lr, momentum: 0.9, dampening: 0.2 }), ['momentum_buffer']],
  ];

  for (const [name, make, stateNames] of makers) {
    test(`${name}: a restored optimizer continues exactly like the original`, () => {
      const c = tensor(CS, { dtype: 'float64' });
      const d = tensor(DS, { dtype: 'float64' });
      const lossOf = (p: Tensor) => p.square().mul(c).mul(0.5).add(p.mul(d)).sum();
      const p1 = tensor(P0, { dtype: 'float64' }).requiresGrad_();
      const opt1 = make([p1], 0.05);
      for (let s = 0; s < 2; s++) tidy(() => opt1.backwardStep(lossOf(p1)));
      const sd = opt1.stateDict();
      assert.deepEqual([...sd.tensors.keys()].sort(), stateNames.map((n) => `${n}.0`).sort());
      assert.equal(sd.scalars.step, 2);
      assert.equal(sd.scalars.lr, 0.05);
      const saved = snapshot(sd);

      const p2 = tensor(vals(p1), { dtype: 'float64' }).requiresGrad_();
      const opt2 = make([p2], 1); // a different lr, replaced by the state dict
      opt2.loadStateDict(saved);
      for (const t of saved.tensors.values()) t.dispose();
      assert.equal(opt2.lr, 0.05);
      assert.equal(opt2.stepCount, 2);
      for (let s = 0; s < 3; s++) {
        tidy(() => opt1.backwardStep(lossOf(p1)));
        tidy(() => opt2.backwardStep(lossOf(p2)));
        assert.deepEqual(vals(p2), vals(p1), `step ${s + 3}`);
      }
      assert.throws(() => opt2.loadStateDict({ scalars: {}, tensors: new Map([['exp_avg.3', c]]) }), /parameter 3/);
      opt1.dispose();
      opt2.dispose();
      for (const t of [p1, p2, c, d]) t.dispose();
    });
  }

  test('hyper-parameters travel with the state', () => {
    tidy(() => {
      const p = tensor([1]).requiresGrad_();
      const a = new Adam([p], { lr: 0.3, betas: [0.5, 0.6], eps: 1e-4, weightDecay: 0.2 });
      const b = new Adam([p]);
      b.loadStateDict(a.stateDict());
      assert.deepEqual([b.lr, b.beta1, b.beta2, b.eps, b.weightDecay], [0.3, 0.5, 0.6, 1e-4, 0.2]);
      a.dispose();
      b.dispose();
    });
  });

  test('keepSettings: the state and step come back, the rate and hyper-parameters stay (a resume with a new rate)', () => {
    tidy(() => {
      const p = tensor([1, 2]).requiresGrad_();
      const a = new Adam([p], { lr: 0.3, betas: [0.5, 0.6] });
      a.backwardStep(p.square().sum());
      const b = new Adam([p], { lr: 0.01, betas: [0, 0.9] });
      b.loadStateDict(a.stateDict(), { keepSettings: true });
      assert.deepEqual([b.lr, b.beta1, b.beta2, b.stepCount], [0.01, 0, 0.9, 1]);
      const m = (o: Adam): number[] => vals(o.stateDict().tensors.get('exp_avg.0')!);
      assert.deepEqual(m(b), m(a), "Adam's moments are the saved ones");
      a.dispose();
      b.dispose();
    });
  });
});

// ---- gradient clipping ------------------------------------------------------------------------
describe('clipGradNorm', () => {
  function withGrads(grads: (number[] | null)[], fn: (opt: Optimizer, ps: Tensor[]) => void): void {
    tidy(() => {
      const ps = grads.map((g, i) => {
        const p = tensor(new Array<number>(g?.length ?? 1).fill(i), { dtype: 'float64' }).requiresGrad_();
        if (g) p.grad = tensor(g, { dtype: 'float64' });
        return p;
      });
      const opt = new SGD(ps, { lr: 0.1 });
      fn(opt, ps);
      opt.dispose();
    });
  }

  test('scales all gradients by maxNorm / (total norm + 1e-6) when the norm is too large', () => {
    withGrads([[3, 4], [12], null], (opt, ps) => {
      const total = opt.clipGradNorm(6.5);
      close([total], [13]);
      const s = 6.5 / (13 + 1e-6);
      close(vals(ps[0]!.grad!), [3 * s, 4 * s]);
      close(vals(ps[1]!.grad!), [12 * s]);
      assert.equal(ps[2]!.grad, null);
      // Clipping again: the norm is now (just under) 6.5, so nothing changes.
      close([opt.clipGradNorm(6.5)], [6.5], 1e-6);
      close(vals(ps[1]!.grad!), [12 * s], 1e-6);
    });
  });

  test('leaves small gradients alone; other norm types', () => {
    withGrads([[3, 4], [12]], (opt, ps) => {
      close([opt.clipGradNorm(100)], [13]);
      close(vals(ps[0]!.grad!), [3, 4]);
      // Infinity norm: the largest |g|.
      close([opt.clipGradNorm(6, Infinity)], [12]);
      const s = 6 / (12 + 1e-6);
      close(vals(ps[0]!.grad!), [3 * s, 4 * s]);
      close(vals(ps[1]!.grad!), [12 * s]);
    });
    withGrads([[-3, 4], [1]], (opt) => {
      close([opt.clipGradNorm(100, 1)], [8]);
    });
    withGrads([null], (opt) => {
      assert.equal(opt.clipGradNorm(1), 0);
    });
  });
});

// ---- schedules --------------------------------------------------------------------------------
describe('learning-rate schedules', () => {
  function lrs(make: (opt: Optimizer) => LRScheduler, steps: number, base = 0.1): number[] {
    return tidy(() => {
      const opt = new SGD([tensor([1]).requiresGrad_()], { lr: base });
      const sched = make(opt);
      const out = [opt.lr];
      for (let i = 0; i < steps; i++) {
        sched.step();
        out.push(opt.lr);
        assert.equal(sched.lr, opt.lr);
      }
      assert.equal(sched.lastEpoch, steps);
      opt.dispose();
      return out;
    });
  }

  test('StepLR: gamma^floor(epoch / stepSize)', () => {
    close(
      lrs((o) => new StepLR(o, 2, 0.5), 6),
      [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125],
    );
    close(
      lrs((o) => new StepLR(o, 3), 4),
      [0.1, 0.1, 0.1, 0.01, 0.01],
    );
    assert.throws(() => lrs((o) => new StepLR(o, 0), 1), /stepSize/);
  });

  test('ExponentialLR: gamma^epoch', () => {
    close(
      lrs((o) => new ExponentialLR(o, 0.9), 4),
      [0, 1, 2, 3, 4].map((k) => 0.1 * 0.9 ** k),
    );
  });

  test('CosineAnnealingLR: etaMin + (base - etaMin)(1 + cos(pi t / tMax)) / 2', () => {
    close(
      lrs((o) => new CosineAnnealingLR(o, 4, 0.01), 4),
      [0, 1, 2, 3, 4].map((k) => 0.01 + (0.09 * (1 + Math.cos((Math.PI * k) / 4))) / 2),
    );
    close(
      lrs((o) => new CosineAnnealingLR(o, 10), 10),
      Array.from({ length: 11 }, (_, k) => (0.1 * (1 + Math.cos((Math.PI * k) / 10))) / 2),
    );
  });

  test('LinearLR: from startFactor to endFactor over totalIters, then constant', () => {
    close(
      lrs((o) => new LinearLR(o, 0.25, 1, 4), 6),
      [0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.1],
    );
    // Defaults: 1/3 -> 1 over 5 epochs.
    close(
      lrs((o) => new LinearLR(o), 5),
      [0, 1, 2, 3, 4, 5].map((k) => 0.1 * (1 / 3 + ((2 / 3) * k) / 5)),
    );
    // Linear decay.
    close(
      lrs((o) => new LinearLR(o, 1, 0, 2), 3),
      [0.1, 0.05, 0, 0],
    );
  });

  test('LambdaLR: base * fn(epoch)', () => {
    close(
      lrs((o) => new LambdaLR(o, (k) => 0.95 ** k), 3),
      [0.1, 0.095, 0.09025, 0.0857375],
    );
    close(
      lrs((o) => new LambdaLR(o, (k) => (k < 2 ? 1 : 0.1)), 3),
      [0.1, 0.1, 0.01, 0.01],
    );
  });

  test('LambdaLR: the initial rate is base * fn(0), as torch.optim.lr_scheduler.LambdaLR sets it', () => {
    close(
      lrs((o) => new LambdaLR(o, (k) => (k + 1) / 4), 4),
      [0.025, 0.05, 0.075, 0.1, 0.125],
    );
  });

  test('a scheduler state dict restores the epoch and the rate', () => {
    tidy(() => {
      const a = new SGD([tensor([1]).requiresGrad_()], { lr: 0.1 });
      const sa = new StepLR(a, 2, 0.5);
      for (let i = 0; i < 5; i++) sa.step();
      const b = new SGD([tensor([1]).requiresGrad_()], { lr: 0.1 });
      const sb = new StepLR(b, 2, 0.5);
      sb.loadStateDict(sa.stateDict());
      assert.equal(sb.lastEpoch, 5);
      close([b.lr], [0.025]);
      sa.step();
      sb.step();
      close([b.lr], [a.lr]);
      assert.deepEqual(sa.stateDict(), { lastEpoch: 6, baseLr: 0.1 });
      a.dispose();
      b.dispose();
    });
  });
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});
