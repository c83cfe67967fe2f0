// nn: module naming and state dicts, train/eval, layers' defaults, LSTM/GRU with lengths,
// spectral normalisation and the initialisers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  Generator,
  empty,
  liveTensors,
  manualSeed,
  noGrad,
  ones,
  randn,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../../src/engine/index.js';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  Embedding,
  GRU,
  GroupNorm,
  InstanceNorm2d,
  LayerNorm,
  LeakyReLU,
  Linear,
  LSTM,
  Module,
  ReLU,
  Sequential,
  Tanh,
  batchNorms,
  init,
  recomputeStandingStatistics,
  spectralNorm,
} from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';

const START = liveTensors();

const scoped = (fn: () => void) => () => {
  tidy(fn);
};

function vals(t: Tensor): number[] {
  if (t.dtype === 'int64') return Array.from(t.toTypedArray() as BigInt64Array, Number);
  if (t.dtype === 'float64') return Array.from(t.toTypedArray() as Float64Array);
  return Array.from(t.toFloat32Array());
}

function close(actual: number[], expected: number[], tol = 1e-5, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `${what}[${i}]: expected ${expected[i]}, got ${actual[i]}`,
    );
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};
const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Largest singular value of a rows x cols matrix (row-major), by power iteration on W^T W. */
function sigmaMax(w: number[], rows: number, cols: number, iters = 2000): number {
  let v = Array.from({ length: cols }, (_, i) => 1 + 0.1 * Math.sin(i + 1));
  let s = 0;
  for (let it = 0; it < iters; it++) {
    const u = Array.from({ length: rows }, (_, r) => v.reduce((acc, vj, c) => acc + w[r * cols + c]! * vj, 0));
    const next = Array.from({ length: cols }, (_, c) => u.reduce((acc, ur, r) => acc + w[r * cols + c]! * ur, 0));
    const n = Math.sqrt(next.reduce((a, x) => a + x * x, 0));
    v = next.map((x) => x / n);
    s = Math.sqrt(n / Math.sqrt(v.reduce((a, x) => a + x * x, 0)));
  }
  return s;
}

/** A [rows, cols] matrix as nested arrays. */
const matrix = (t: Tensor) => t.toArray() as number[][];

function matmulT(a: number[][], b: number[][]): number[][] {
  // a @ b^T
  return a.map((ra) => b.map((rb) => ra.reduce((s, x, k) => s + x * rb[k]!, 0)));
}

// ---- modules and state dicts ------------------------------------------------------------------
class Block extends Module {
  readonly conv = this.module('conv', new Conv2d(1, 2, 3));
  readonly bn = this.module('bn', new BatchNorm2d(2));
}

class Net extends Module {
  readonly scale = this.param('scale', ones([1]));
  readonly a = this.module('a', new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1)));
  readonly block = this.module('block', new Block());
}

describe('Module', () => {
  test('nested modules give dotted names; buffers are separate from parameters', () => {
    const net = new Net();
    assert.deepEqual(
      net.namedParameters().map(([n]) => n),
      [
        'scale',
        'a.0.weight',
        'a.0.bias',
        'a.2.weight',
        'a.2.bias',
        'block.conv.weight',
        'block.conv.bias',
        'block.bn.weight',
        'block.bn.bias',
      ],
    );
    assert.deepEqual(
      net.namedBuffers().map(([n]) => n),
      ['block.bn.running_mean', 'block.bn.running_var'],
    );
    assert.deepEqual(
      [...net.stateDict().keys()].sort(),
      [...net.namedParameters().map(([n]) => n), 'block.bn.running_mean', 'block.bn.running_var'].sort(),
    );
    assert.equal(net.stateDict().get('a.0.weight'), net.a.layers[0]!.parameters()[0]);
    assert.deepEqual(
      net.children().map(([n]) => n),
      ['a', 'block'],
    );
    assert.equal(net.numParameters(), 1 + (6 + 3) + (3 + 1) + (18 + 2) + (2 + 2));
    for (const p of net.parameters()) assert.equal(p.requiresGrad, true);
    for (const [, b] of net.namedBuffers()) assert.equal(b.requiresGrad, false);
    tidy(() => assert.throws(() => net.param('scale', ones([1])), /already registered/));
    assert.throws(() => net.module('bad.name', new ReLU()), /Invalid/);
    net.dispose();
  });

  test('loadStateDict copies values, and reports or rejects mismatched names', () => {
    manualSeed(1);
    const src = new Net();
    const dst = new Net();
    tidy(() => {
      dst.loadStateDict(src.stateDict());
      for (const [name, t] of src.stateDict()) assert.deepEqual(vals(dst.stateDict().get(name)!), vals(t), name);
      // A copy, not shared storage.
      src.scale.fill_(42);
      assert.deepEqual(vals(dst.scale), [1]);

      const sd = new Map(src.stateDict());
      sd.delete('block.conv.bias');
      sd.set('extra.weight', zeros([1]));
      assert.throws(
        () => dst.loadStateDict(sd),
        (e: Error) => e.message.includes('block.conv.bias') && e.message.includes('extra.weight'),
      );
      const r = dst.loadStateDict(sd, { strict: false });
      assert.deepEqual(r, { missing: ['block.conv.bias'], unexpected: ['extra.weight'] });
      assert.deepEqual(vals(dst.scale), [42]);

      // A plain object works too; shapes must match.
      const obj: Record<string, Tensor> = Object.fromEntries(src.stateDict());
      obj.scale = ones([2]);
      assert.throws(() => dst.loadStateDict(obj), /shape/);
      assert.equal(dst.loadStateDict({ scale: tensor([7]) }, { strict: false }).missing.length, 10);
      assert.deepEqual(vals(dst.scale), [7]);
    });
    src.dispose();
    dst.dispose();
  });

  test('loadStateDict with fresh takes a smaller state: exactly the fresh names missing, nothing else', () => {
    manualSeed(2);
    const src = new Net();
    const dst = new Net();
    const isBlock = (k: string): boolean => k.startsWith('block.');
    tidy(() => {
      const small = new Map([...src.stateDict()].filter(([k]) => !isBlock(k)));
      const r = dst.loadStateDict(small, { fresh: isBlock });
      assert.deepEqual(r.missing, [...dst.stateDict().keys()].filter(isBlock));
      assert.ok(r.missing.includes('block.conv.weight') && r.missing.includes('block.bn.running_var'));
      assert.deepEqual(vals(dst.scale), vals(src.scale));
      // A kept part missing, a name it does not have, a fresh part present: each refused and named.
      const lacking = new Map(small);
      lacking.delete('scale');
      assert.throws(() => dst.loadStateDict(lacking, { fresh: isBlock }), /missing \[scale\]/);
      assert.throws(
        () => dst.loadStateDict(new Map([...small, ['extra.w', zeros([1])]]), { fresh: isBlock }),
        /unexpected \[extra\.w\]/,
      );
      assert.throws(
        () => dst.loadStateDict(src.stateDict(), { fresh: isBlock }),
        /present for new parts \[block\.conv/,
      );
    });
    src.dispose();
    dst.dispose();
  });
  test('train() and eval() switch every sub-module', () => {
    const net = new Net();
    assert.equal(net.training, true);
    net.eval();
    assert.equal(net.training, false);
    assert.equal(net.block.bn.training, false);
    assert.equal(net.a.layers[2]!.training, false);
    net.train();
    assert.equal(net.block.bn.training, true);
    net.dispose();
  });

  test('zeroGrad, requiresGrad_ and dispose', () => {
    const lin = new Linear(2, 2);
    tidy(() => {
      lin
        .forward(ones([1, 2]))
        .sum()
        .backward();
      assert.notEqual(lin.weight.grad, null);
    });
    lin.zeroGrad();
    assert.equal(lin.weight.grad, null);
    lin.requiresGrad_(false);
    assert.equal(lin.weight.requiresGrad, false);
    assert.equal(lin.bias!.requiresGrad, false);
    const before = liveTensors();
    lin.dispose();
    assert.equal(liveTensors(), before - 2);
    assert.equal(lin.weight.disposed, true);
  });

  test('to("float64") keeps parameter identity, requiresGrad and optimizer references', () => {
    manualSeed(2);
    const net = new Sequential(new Linear(2, 3), new BatchNorm1d(3), new Tanh(), new Linear(3, 1));
    const params = net.parameters();
    const buffers = net.namedBuffers().map(([, b]) => b);
    const opt = new Adam(params, { lr: 0.1 });
    const before = vals(params[0]!);
    const live = liveTensors();
    net.to('float64');
    assert.equal(liveTensors(), live);
    net.parameters().forEach((p, i) => {
      assert.equal(p, params[i]);
      assert.equal(p.dtype, 'float64');
      assert.equal(p.requiresGrad, true);
      assert.equal(p.isLeaf, true);
    });
    for (const b of buffers) assert.equal(b.dtype, 'float64');
    close(vals(params[0]!), before, 1e-7);
    tidy(() => {
      const y = net.forward(randn([4, 2], { dtype: 'float64' }));
      assert.equal(y.dtype, 'float64');
      opt.zeroGrad();
      y.sum().backward();
      assert.equal(params[0]!.grad!.dtype, 'float64');
      opt.step();
    });
    assert.notDeepEqual(vals(params[0]!), before);
    opt.dispose();
    net.dispose();
  });
});

// ---- layers -----------------------------------------------------------------------------------
describe('layers', () => {
  test(
    'Sequential applies its layers in order',
    scoped(() => {
      const seq = new Sequential(new Linear(3, 4), new LeakyReLU(0.2), new Linear(4, 2));
      const x = randn([5, 3]);
      const [l1, , l2] = seq.layers as [Linear, LeakyReLU, Linear];
      const manual = l2.forward(l1.forward(x).leakyRelu(0.2));
      close(vals(seq.forward(x)), vals(manual), 1e-6);
      // An empty Sequential is the identity (a new handle).
      const id = new Sequential();
      const y = id.forward(x);
      assert.notEqual(y, x);
      assert.deepEqual(vals(y), vals(x));
      seq.dispose();
    }),
  );

  test('Linear and convolution defaults: U(-1/sqrt(fan_in), 1/sqrt(fan_in))', () => {
    manualSeed(3);
    const cases: [string, Module & { weight: Tensor; bias: Tensor | null }, number][] = [
      ['Linear', new Linear(50, 400), 50],
      ['Conv1d', new Conv1d(4, 300, 5), 20],
      ['Conv2d', new Conv2d(8, 64, 3), 72],
      ['ConvTranspose2d', new ConvTranspose2d(16, 8, 4), 8 * 16],
    ];
    for (const [name, m, fanIn] of cases) {
      const bound = 1 / Math.sqrt(fanIn);
      const w = vals(m.weight);
      assert.ok(maxAbs(w) <= bound, `${name}: max |w| ${maxAbs(w)} > ${bound}`);
      assert.ok(maxAbs(w) > 0.98 * bound, `${name}: max |w| ${maxAbs(w)} far below ${bound}`);
      assert.ok(Math.abs(std(w) - bound / Math.sqrt(3)) < 0.05 * bound, `${name}: std ${std(w)}`);
      const b = vals(m.bias!);
      assert.ok(maxAbs(b) <= bound, `${name}: bias`);
      m.dispose();
    }
    const noBias = new Linear(2, 2, { bias: false });
    assert.equal(noBias.bias, null);
    assert.deepEqual(
      noBias.namedParameters().map(([n]) => n),
      ['weight'],
    );
    noBias.dispose();
    const grouped = new ConvTranspose2d(6, 4, 3, { groups: 2 });
    assert.deepEqual(grouped.weight.shape, [6, 2, 3, 3]);
    grouped.dispose();
    assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), /divisible/);
  });

  test(
    'BatchNorm: batch statistics and momentum updates in training, running statistics in eval',
    scoped(() => {
      const bn = new BatchNorm1d(2, { momentum: 0.25 });
      bn.loadStateDict({
        weight: tensor([2, 1]),
        bias: tensor([0, 1]),
        running_mean: tensor([1, -1]),
        running_var: tensor([4, 0.25]),
      });
      const rows = [
        [1, 2],
        [3, 0],
        [5, 4],
        [7, -2],
      ];
      const x = tensor(rows);
      bn.eval();
      const e = bn.forward(x).toArray() as number[][];
      rows.forEach((r, i) => {
        close(e[i]!, [(2 * (r[0]! - 1)) / Math.sqrt(4 + 1e-5), (r[1]! + 1) / Math.sqrt(0.25 + 1e-5) + 1], 1e-5);
      });
      close(vals(bn.runningMean!), [1, -1]);
      bn.train();
      const t = bn.forward(x).toArray() as number[][];
      // Column 0: mean 4, biased var 5, unbiased 20/3. Column 1: mean 1, biased var 5, unbiased 20/3.
      rows.forEach((r, i) => {
        close(t[i]!, [(2 * (r[0]! - 4)) / Math.sqrt(5 + 1e-5), (r[1]! - 1) / Math.sqrt(5 + 1e-5) + 1], 1e-5);
      });
      close(vals(bn.runningMean!), [0.75 * 1 + 0.25 * 4, 0.75 * -1 + 0.25 * 1]);
      close(vals(bn.runningVar!), [0.75 * 4 + 0.25 * (20 / 3), 0.75 * 0.25 + 0.25 * (20 / 3)]);
      // Without running statistics, batch statistics are used in eval mode too.
      const free = new BatchNorm2d(2, { trackRunningStats: false, affine: false });
      assert.equal(free.namedBuffers().length, 0);
      free.eval();
      const y = free.forward(randn([3, 2, 2, 2]).mul(5).add(3));
      assert.ok(Math.abs(y.mean().item()) < 1e-5);
      assert.throws(() => free.forward(zeros([2, 2])), /4-d/);
      bn.dispose();
      free.dispose();
    }),
  );

  test(
    'InstanceNorm2d, LayerNorm and GroupNorm modules',
    scoped(() => {
      const x = randn([2, 4, 3, 3]).mul(3).add(1);
      const inorm = new InstanceNorm2d(4);
      assert.equal(inorm.parameters().length, 0);
      const per = inorm.forward(x).reshape(8, 9);
      close(vals(per.mean(1)), new Array<number>(8).fill(0), 1e-5);
      const ln = new LayerNorm([3, 3]);
      assert.deepEqual(ln.weight!.shape, [3, 3]);
      close(vals(ln.forward(x).reshape(8, 9).mean(1)), new Array<number>(8).fill(0), 1e-5);
      const gn = new GroupNorm(2, 4);
      close(vals(gn.forward(x).reshape(4, 18).var(1, { correction: 0 })), [1, 1, 1, 1], 1e-3);
      assert.throws(() => new GroupNorm(3, 4), /groups/);
      // InstanceNorm2d with running stats uses them in eval.
      const tracked = new InstanceNorm2d(4, { trackRunningStats: true, affine: true });
      tracked.forward(x);
      assert.ok(vals(tracked.runningMean!).some((v) => v !== 0));
      tracked.eval();
      const rm = vals(tracked.runningMean!);
      const rv = vals(tracked.runningVar!);
      const e = tracked.forward(x).reshape(2, 4, 9).toArray() as number[][][];
      const xs = x.reshape(2, 4, 9).toArray() as number[][][];
      close(
        e[1]![2]!,
        xs[1]![2]!.map((v) => (v - rm[2]!) / Math.sqrt(rv[2]! + 1e-5)),
        1e-4,
      );
      for (const m of [inorm, ln, gn, tracked]) m.dispose();
    }),
  );

  test(
    'Dropout module: identity in eval',
    scoped(() => {
      const d = new Dropout(0.5);
      const x = ones([1000]);
      const y = vals(d.forward(x));
      assert.ok(y.some((v) => v === 0) && y.some((v) => v === 2));
      d.eval();
      assert.deepEqual(vals(d.forward(x)), vals(x));
      assert.throws(() => new Dropout(2), RangeError);
    }),
  );

  test(
    'Embedding: N(0, 1) rows, paddingIdx row zero and without gradient',
    scoped(() => {
      manualSeed(4);
      const e = new Embedding(200, 50, { paddingIdx: 3 });
      const w = vals(e.weight);
      assert.deepEqual(w.slice(150, 200), new Array<number>(50).fill(0));
      assert.ok(Math.abs(std(w) - 1) < 0.03);
      const out = e.forward(tensor([[3, 1, 3]], { dtype: 'int64' }));
      assert.deepEqual(out.shape, [1, 3, 50]);
      out.sum().backward();
      const g = e.weight.grad!.toArray() as number[][];
      assert.deepEqual(g[3], new Array<number>(50).fill(0));
      assert.deepEqual(g[1], new Array<number>(50).fill(1));
      const none = new Embedding(5, 2); // no padding row: stored as -1
      assert.equal(none.paddingIdx, -1);
      const last = new Embedding(5, 2, { paddingIdx: -1 }); // negative counts from the end, as in PyTorch
      assert.equal(last.paddingIdx, 4);
      last.dispose();
      const neg = new Embedding(5, 2, { paddingIdx: -2 });
      assert.equal(neg.paddingIdx, 3);
      assert.deepEqual(vals(neg.weight.select(0, 3)), [0, 0]);
      for (const m of [e, none, neg]) m.dispose();
    }),
  );
});

// ---- recurrent layers -------------------------------------------------------------------------
describe('LSTM and GRU', () => {
  const B = 3;
  const T = 5;
  const I = 3;
  const H = 4;
  const LENGTHS = [5, 2, 3];

  function checkLengths(rnn: LSTM | GRU, batchFirst: boolean): void {
    tidy(() => {
      const dirs = rnn.bidirectional ? 2 : 1;
      const xb = randn([B, T, I]); // batch-first data
      const x = batchFirst ? xb : xb.transpose(0, 1).contiguous();
      const lengths = tensor(LENGTHS, { dtype: 'int64' });
      const { output, h, c } = rnn.forward(x, { lengths });
      const outB = batchFirst ? output : output.transpose(0, 1);
      assert.deepEqual(outB.shape, [B, T, dirs * H]);
      assert.deepEqual(h.shape, [rnn.numLayers * dirs, B, H]);
      if (rnn.mode === 'lstm') assert.deepEqual(c!.shape, [rnn.numLayers * dirs, B, H]);
      else assert.equal(c, null);
      LENGTHS.forEach((len, b) => {
        const row = outB.select(0, b);
        // Padded positions are zero.
        if (len < T)
          assert.ok(
            vals(row.narrow(0, len, T - len)).every((v) => v === 0),
            `padding of sequence ${b}`,
          );
        // The valid part and the final states equal a run on the sequence alone.
        const seq = xb.narrow(0, b, 1).narrow(1, 0, len);
        const alone = rnn.forward(batchFirst ? seq : seq.transpose(0, 1).contiguous());
        const aloneOut = batchFirst ? alone.output : alone.output.transpose(0, 1);
        close(vals(row.narrow(0, 0, len)), vals(aloneOut.select(0, 0)), 1e-5, `output of sequence ${b}`);
        close(vals(h.select(1, b)), vals(alone.h.select(1, 0)), 1e-5, `h of sequence ${b}`);
        if (c) close(vals(c.select(1, b)), vals(alone.c!.select(1, 0)), 1e-5, `c of sequence ${b}`);
      });
    });
  }

  test('LSTM with lengths: zero padding and final states of short sequences', () => {
    manualSeed(5);
    const lstm = new LSTM(I, H, { batchFirst: true });
    checkLengths(lstm, true);
    lstm.dispose();
  });

  test('LSTM time-major, bidirectional, two layers, with lengths', () => {
    manualSeed(6);
    const lstm = new LSTM(I, H, { bidirectional: true, numLayers: 2 });
    checkLengths(lstm, false);
    lstm.dispose();
  });

  test('GRU with lengths, unidirectional and bidirectional', () => {
    manualSeed(7);
    const gru = new GRU(I, H, { batchFirst: true });
    checkLengths(gru, true);
    gru.dispose();
    const bi = new GRU(I, H, { batchFirst: true, bidirectional: true });
    checkLengths(bi, true);
    bi.dispose();
  });

  test('parameter names, shapes and init bounds match PyTorch', () => {
    manualSeed(8);
    const lstm = new LSTM(3, 16, { bidirectional: true, numLayers: 2 });
    const shapes = Object.fromEntries(lstm.namedParameters().map(([n, p]) => [n, p.shape]));
    assert.deepEqual(shapes, {
      weight_ih_l0: [64, 3],
      weight_hh_l0: [64, 16],
      bias_ih_l0: [64],
      bias_hh_l0: [64],
      weight_ih_l0_reverse: [64, 3],
      weight_hh_l0_reverse: [64, 16],
      bias_ih_l0_reverse: [64],
      bias_hh_l0_reverse: [64],
      weight_ih_l1: [64, 32],
      weight_hh_l1: [64, 16],
      bias_ih_l1: [64],
      bias_hh_l1: [64],
      weight_ih_l1_reverse: [64, 32],
      weight_hh_l1_reverse: [64, 16],
      bias_ih_l1_reverse: [64],
      bias_hh_l1_reverse: [64],
    });
    for (const p of lstm.parameters()) assert.ok(maxAbs(vals(p)) <= 0.25);
    lstm.dispose();
    const gru = new GRU(3, 5, { bias: false });
    assert.deepEqual(
      gru.namedParameters().map(([n, p]) => [n, p.shape]),
      [
        ['weight_ih_l0', [15, 3]],
        ['weight_hh_l0', [15, 5]],
      ],
    );
    tidy(() => {
      const r = gru.forward(randn([4, 2, 3]), { h0: randn([1, 2, 5]) });
      assert.deepEqual(r.output.shape, [4, 2, 5]);
      // The last output step is the final hidden state.
      close(vals(r.output.select(0, 3)), vals(r.h.select(0, 0)), 1e-6);
      assert.throws(() => gru.forward(randn([4, 2, 2])), /input features/);
      assert.throws(() => gru.forward(randn([4, 2, 3]), { lengths: tensor([5, 1], { dtype: 'int64' }) }));
    });
    gru.dispose();
  });
});

// ---- spectral normalisation -------------------------------------------------------------------
describe('spectralNorm', () => {
  test('after 20 training forward passes the effective weight has spectral norm 1', () => {
    manualSeed(9);
    const lin = spectralNorm(new Linear(6, 4));
    assert.deepEqual(
      lin.namedParameters().map(([n]) => n),
      ['bias', 'weight_orig'],
    );
    assert.deepEqual([...lin.stateDict().keys()].sort(), ['bias', 'weight_orig', 'weight_u', 'weight_v']);
    assert.deepEqual(lin.stateDict().get('weight_u')!.shape, [4]);
    assert.deepEqual(lin.stateDict().get('weight_v')!.shape, [6]);
    const orig = lin.stateDict().get('weight_orig')!;
    orig.mul_(5);
    tidy(() => {
      const x = randn([3, 6]);
      for (let i = 0; i < 20; i++)
        tidy(() => {
          lin.forward(x);
        });
      const w = vals(lin.weight);
      const o = vals(orig);
      const s0 = sigmaMax(o, 4, 6);
      assert.ok(s0 > 1.5, `the raw weight is not already normalised (sigma ${s0})`);
      close([sigmaMax(w, 4, 6)], [1], 1e-3, 'sigma of the effective weight');
      close(
        w,
        o.map((v) => v / s0),
        1e-3,
        'weight = weight_orig / sigma',
      );
      // u and v are the leading singular vectors: W v = sigma u.
      const u = vals(lin.stateDict().get('weight_u')!);
      const v = vals(lin.stateDict().get('weight_v')!);
      const wv = [0, 1, 2, 3].map((r) => v.reduce((s, vj, c) => s + o[r * 6 + c]! * vj, 0));
      close(
        wv,
        u.map((ui) => ui * s0),
        1e-3,
        'W v = sigma u',
      );
      // Eval: u and v stay put.
      lin.eval();
      lin.forward(x);
      assert.deepEqual(vals(lin.stateDict().get('weight_u')!), u);
      // The gradient reaches weight_orig.
      lin.train();
      lin.forward(x).square().sum().backward();
      assert.ok(vals(orig.grad!).some((g) => g !== 0));
    });
    lin.weight.dispose(); // the layer's current effective weight
    lin.dispose();
  });

  test('the gradient through the normalisation matches finite differences (eval, float64)', () => {
    manualSeed(10);
    const lin = tidy(() => spectralNorm(new Linear(3, 2)));
    lin.to('float64');
    for (let i = 0; i < 30; i++)
      tidy(() => {
        lin.forward(zeros([1, 3], { dtype: 'float64' }));
      });
    lin.eval();
    const orig = lin.stateDict().get('weight_orig')!;
    tidy(() => {
      const x = randn([4, 3], { dtype: 'float64' });
      const proj = randn([4, 2], { dtype: 'float64' });
      const loss = () => lin.forward(x).mul(proj).sum();
      lin.zeroGrad();
      loss().backward();
      const analytic = vals(orig.grad!);
      const base = vals(orig);
      const eps = 1e-6;
      const numeric = base.map((_, j) => {
        const at = (d: number) =>
          tidy(() => {
            const p = base.slice();
            p[j]! += d;
            orig.copy_(tensor(p, { shape: [2, 3], dtype: 'float64' }));
            return noGrad(() => loss().item());
          });
        const g = (at(eps) - at(-eps)) / (2 * eps);
        orig.copy_(tensor(base, { shape: [2, 3], dtype: 'float64' }));
        return g;
      });
      close(analytic, numeric, 1e-6, 'd loss / d weight_orig');
    });
    lin.weight.dispose();
    lin.dispose();
  });

  test('ConvTranspose2d is normalised along its output-channel dimension (1)', () => {
    manualSeed(11);
    const ct = tidy(() => spectralNorm(new ConvTranspose2d(3, 5, 2)));
    assert.deepEqual(ct.stateDict().get('weight_u')!.shape, [5]);
    assert.deepEqual(ct.stateDict().get('weight_v')!.shape, [12]);
    tidy(() => {
      const x = randn([1, 3, 2, 2]);
      for (let i = 0; i < 30; i++)
        tidy(() => {
          ct.forward(x);
        });
      // The [out, in * kH * kW] matrix of the effective weight.
      const m = vals(ct.weight.permute(1, 0, 2, 3).contiguous());
      close([sigmaMax(m, 5, 12)], [1], 1e-3, 'sigma');
    });
    ct.weight.dispose();
    ct.dispose();
    const conv = tidy(() => spectralNorm(new Conv2d(2, 3, 3)));
    assert.deepEqual(conv.stateDict().get('weight_v')!.shape, [18]);
    conv.weight.dispose();
    conv.dispose();
  });
});

// ---- initialisers -----------------------------------------------------------------------------
describe('init', () => {
  test('calculateGain and fans', () => {
    assert.equal(init.calculateGain('linear'), 1);
    assert.equal(init.calculateGain('sigmoid'), 1);
    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('relu'), Math.SQRT2);
    assert.equal(init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
    assert.deepEqual(init.fans([8, 4, 3, 3]), { fanIn: 36, fanOut: 72 });
    assert.throws(() => init.fans([3]));
  });

  test(
    'xavier and kaiming: bounds and standard deviations',
    scoped(() => {
      const g = new Generator(12);
      const t = empty([128, 64]); // fan_in 64, fan_out 128
      const cases: [string, () => void, number, number | null][] = [
        ['xavierUniform', () => init.xavierUniform_(t, 1, g), Math.sqrt(6 / 192) / Math.sqrt(3), Math.sqrt(6 / 192)],
        [
          'xavierUniform gain 2',
          () => init.xavierUniform_(t, 2, g),
          (2 * Math.sqrt(6 / 192)) / Math.sqrt(3),
          2 * Math.sqrt(6 / 192),
        ],
        ['xavierNormal', () => init.xavierNormal_(t, 1, g), Math.sqrt(2 / 192), null],
        ['kaimingUniform', () => init.kaimingUniform_(t, { generator: g }), Math.SQRT2 / 8, Math.sqrt(6 / 64)],
        [
          'kaimingUniform a=sqrt(5)',
          () => init.kaimingUniform_(t, { a: Math.sqrt(5), generator: g }),
          1 / 8 / Math.sqrt(3),
          1 / 8,
        ],
        [
          'kaimingNormal fan_out relu',
          () => init.kaimingNormal_(t, { mode: 'fan_out', nonlinearity: 'relu', generator: g }),
          Math.SQRT2 / Math.sqrt(128),
          null,
        ],
        ['normal', () => init.normal_(t, 0, 0.02, g), 0.02, null],
        ['uniform', () => init.uniform_(t, -0.1, 0.1, g), 0.1 / Math.sqrt(3), 0.1],
      ];
      for (const [name, run, wantStd, bound] of cases) {
        run();
        const v = vals(t);
        assert.ok(Math.abs(std(v) - wantStd) < 0.03 * wantStd, `${name}: std ${std(v)} vs ${wantStd}`);
        assert.ok(Math.abs(mean(v)) < 0.05 * wantStd, `${name}: mean ${mean(v)}`);
        if (bound !== null) {
          assert.ok(maxAbs(v) <= bound, `${name}: max |w| ${maxAbs(v)} > ${bound}`);
          assert.ok(maxAbs(v) > 0.99 * bound, `${name}: max |w| ${maxAbs(v)}`);
        }
      }
      // A generator makes an initialiser reproducible.
      const a = vals(init.xavierUniform_(empty([4, 4]), 1, new Generator(3)));
      const b = vals(init.xavierUniform_(empty([4, 4]), 1, new Generator(3)));
      assert.deepEqual(a, b);
      assert.deepEqual(vals(init.constant_(empty([2]), 0.5)), [0.5, 0.5]);
      assert.deepEqual(vals(init.zeros_(ones([2]))), [0, 0]);
      assert.deepEqual(vals(init.ones_(zeros([2]))), [1, 1]);
      // Initialising a parameter keeps it a leaf.
      const p = zeros([3, 3]).requiresGrad_();
      init.kaimingNormal_(p);
      assert.equal(p.isLeaf, true);
      assert.equal(p.requiresGrad, true);
    }),
  );

  test(
    'orthogonal: W W^T = gain^2 I (wide), W^T W = gain^2 I (tall), conv weights flattened',
    scoped(() => {
      const identity = (n: number, s = 1) =>
        Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? s : 0)));
      const check = (got: number[][], want: number[][], what: string) =>
        got.forEach((row, i) => close(row, want[i]!, 1e-5, `${what} row ${i}`));
      const wide = matrix(init.orthogonal_(empty([4, 6]), 1, new Generator(1)));
      check(matmulT(wide, wide), identity(4), 'wide');
      const tall = matrix(init.orthogonal_(empty([6, 4]), 1, new Generator(2)));
      const tallT = tall[0]!.map((_, j) => tall.map((r) => r[j]!));
      check(matmulT(tallT, tallT), identity(4), 'tall');
      const gained = matrix(init.orthogonal_(empty([3, 3]), 2, new Generator(3)));
      check(matmulT(gained, gained), identity(3, 4), 'gain 2');
      const conv = init.orthogonal_(empty([4, 2, 2, 2]), 1, new Generator(4));
      const flat = matrix(conv.reshape(4, 8));
      check(matmulT(flat, flat), identity(4), 'conv');
      // Different generators give different matrices.
      assert.notDeepEqual(matrix(init.orthogonal_(empty([4, 6]), 1, new Generator(5))), wide);
      assert.throws(() => init.orthogonal_(empty([4])), /2 dimensions/);
      const w = empty([4, 2, 3]);
      const live = liveTensors();
      init.orthogonal_(w);
      assert.equal(liveTensors(), live, 'orthogonal_ leaves no temporaries behind');
    }),
  );
});

describe('standing statistics', () => {
  test('running statistics become the mean of the passes’ batch statistics; momentum and mode restored', () => {
    manualSeed(3);
    const net = new Block();
    const untracked = net.module('free', new BatchNorm2d(2, { trackRunningStats: false }));
    const norms = batchNorms(net); // identity, not deepEqual: that would read every tensor's getters
    assert.ok(norms.length === 1 && norms[0] === net.bn);
    // Running statistics of other weights first, as a moving average of weights carries them.
    net.train();
    for (let i = 0; i < 5; i++) tidy(() => void net.bn.forward(net.conv.forward(randn([4, 1, 5, 5]).mul(3).add(2))));
    const xs = [0, 1, 2].map((i) =>
      tidy(() =>
        randn([4, 1, 5, 5])
          .mul(i + 1)
          .add(i),
      ),
    );
    // Expected: per channel, the mean over passes of the batch mean and of the unbiased batch variance.
    const mean = [0, 0];
    const variance = [0, 0];
    for (const x of xs) {
      const y = noGrad(() => net.conv.forward(x));
      const v = Array.from(y.toFloat32Array()); // [4, 2, 3, 3]
      y.dispose();
      for (let c = 0; c < 2; c++) {
        const vals: number[] = [];
        for (let b = 0; b < 4; b++) for (let k = 0; k < 9; k++) vals.push(v[b * 18 + c * 9 + k]!);
        const m = vals.reduce((a, b) => a + b, 0) / vals.length;
        mean[c]! += m / xs.length;
        variance[c]! += vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1) / xs.length;
      }
    }
    net.eval();
    const passes: number[] = [];
    const n = recomputeStandingStatistics(net, 3, (i) => {
      passes.push(i);
      assert.ok(net.training && net.bn.training);
      tidy(() => void untracked.forward(net.bn.forward(net.conv.forward(xs[i]!))));
    });
    assert.equal(n, 1);
    assert.deepEqual(passes, [0, 1, 2]);
    close(vals(net.bn.runningMean!), mean, 1e-4, 'running mean');
    close(vals(net.bn.runningVar!), variance, 1e-4, 'running var');
    assert.equal(net.bn.momentum, 0.1);
    assert.ok(!net.training && !net.bn.training);
    xs.forEach((x) => x.dispose());
    net.dispose();
  });

  test('a network in training mode stays in it', () => {
    const net = new Block().train();
    recomputeStandingStatistics(net, 1, () => tidy(() => void net.bn.forward(net.conv.forward(ones([2, 1, 4, 4])))));
    assert.ok(net.training && net.bn.training);
    net.dispose();
  });

  test('a network without batch norm is left alone; no batches is an error', () => {
    const lin = new Linear(2, 2);
    let ran = false;
    assert.equal(
      recomputeStandingStatistics(lin, 4, () => (ran = true)),
      0,
    );
    assert.ok(!ran);
    assert.throws(() => recomputeStandingStatistics(lin, 0, () => undefined), /at least one batch/);
    lin.dispose();
  });
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});

// Leak checks of their own, for construction paths that once leaked.
test('an out-of-range paddingIdx is rejected without leaking the weight', () => {
  const before = liveTensors();
  assert.throws(() => new Embedding(5, 2, { paddingIdx: 5 }), RangeError);
  assert.equal(liveTensors(), before);
});

test('spectralNorm frees its temporaries when used outside tidy()', () => {
  const before = liveTensors();
  const lin = spectralNorm(new Linear(3, 2));
  const x = zeros([1, 3]);
  lin.forward(x).dispose();
  lin.eval();
  lin.forward(x).dispose();
  x.dispose();
  lin.weight.dispose();
  lin.dispose();
  assert.equal(liveTensors(), before);
});
