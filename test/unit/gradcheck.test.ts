// Autograd against central finite differences in float64, for every differentiable op family.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  F,
  cat,
  grad,
  liveTensors,
  noGrad,
  stack,
  tensor,
  tidy,
  type DType,
  type Tensor,
} from '../../src/engine/index.js';

const START = liveTensors();

// ---- the checker --------------------------------------------------------------------------------
/** A small deterministic PRNG (mulberry32), so inputs do not depend on the engine's generators. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface Spec {
  shape: number[];
  /** Explicit values (otherwise drawn by `kind`). */
  data?: number[];
  /** uniform in [-1, 1]; away: |x| in [0.2, 1]; positive: [0.5, 1.5]; distinct: a shuffled grid (no ties). */
  kind?: 'uniform' | 'away' | 'positive' | 'distinct';
  dtype?: DType;
  /** false: a constant (targets, indices, lengths). */
  grad?: boolean;
}

interface CheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

function draw(spec: Spec, r: () => number): number[] {
  if (spec.data) return spec.data.slice();
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  switch (spec.kind ?? 'uniform') {
    case 'uniform':
      for (let i = 0; i < n; i++) out.push(2 * r() - 1);
      break;
    case 'away':
      for (let i = 0; i < n; i++) out.push((r() < 0.5 ? -1 : 1) * (0.2 + 0.8 * r()));
      break;
    case 'positive':
      for (let i = 0; i < n; i++) out.push(0.5 + r());
      break;
    case 'distinct': {
      for (let i = 0; i < n; i++) out.push(-1 + (2 * i + 1) / n);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      break;
    }
  }
  return out;
}

/**
 * Checks d/dx of sum(f(x) * R) for a fixed random R against central differences, for every
 * element of every differentiable input.
 */
function gradcheck(name: string, specs: Spec[], f: (xs: Tensor[]) => Tensor, o: CheckOptions = {}): void {
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-6;
  const rtol = o.rtol ?? 1e-5;
  tidy(() => {
    const r = rng(hash(name));
    const data = specs.map((s) => draw(s, r));
    const diff = specs.map((s) => s.grad !== false);
    const make = (ds: number[][], withGrad: boolean): Tensor[] =>
      specs.map((s, i) => {
        const t = tensor(ds[i]!, { shape: s.shape, dtype: s.dtype ?? 'float64' });
        return withGrad && diff[i] ? t.requiresGrad_() : t;
      });
    const xs = make(data, true);
    const y = f(xs);
    assert.equal(y.dtype, 'float64', `${name}: output dtype`);
    const proj = tensor(
      Array.from({ length: y.numel }, () => 2 * r() - 1),
      { shape: y.shape, dtype: 'float64' },
    );
    const loss = y.mul(proj).sum();
    const wrt = xs.filter((_, i) => diff[i]);
    const grads = grad(loss, wrt, { allowUnused: true });
    const evaluate = (ds: number[][]): number => tidy(() => noGrad(() => f(make(ds, false)).mul(proj).sum().item()));
    let k = 0;
    specs.forEach((s, i) => {
      if (!diff[i]) return;
      const g = grads[k++];
      const analytic = g ? Array.from(g.toTypedArray() as Float64Array) : new Array<number>(data[i]!.length).fill(0);
      assert.equal(analytic.length, data[i]!.length, `${name}: gradient size of input ${i}`);
      for (let j = 0; j < data[i]!.length; j++) {
        const plus = data.map((d) => d.slice());
        const minus = data.map((d) => d.slice());
        plus[i]![j]! += eps;
        minus[i]![j]! -= eps;
        const numeric = (evaluate(plus) - evaluate(minus)) / (2 * eps);
        const a = analytic[j]!;
        assert.ok(
          Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric),
          `${name}: d/d input ${i} [${j}]: autograd ${a}, finite difference ${numeric}`,
        );
      }
    });
  });
}

const X = (shape: number[], kind: Spec['kind'] = 'uniform'): Spec => ({ shape, kind });
const C = (data: number[], shape: number[], dtype: DType = 'float64'): Spec => ({ data, shape, dtype, grad: false });
const idx = (data: number[], shape = [data.length]): Spec => C(data, shape, 'int64');

// ---- elementwise ------------------------------------------------------------------------------
describe('elementwise', () => {
  const unary: [string, Spec['kind'], (x: Tensor) => Tensor][] = [
    ['neg', 'uniform', (x) => x.neg()],
    ['exp', 'uniform', (x) => x.exp()],
    ['log', 'positive', (x) => x.log()],
    ['log1p', 'positive', (x) => x.log1p()],
    ['sqrt', 'positive', (x) => x.sqrt()],
    ['rsqrt', 'positive', (x) => x.rsqrt()],
    ['reciprocal', 'positive', (x) => x.reciprocal()],
    ['abs', 'away', (x) => x.abs()],
    ['sin', 'uniform', (x) => x.sin()],
    ['cos', 'uniform', (x) => x.cos()],
    ['tanh', 'uniform', (x) => x.tanh()],
    ['sigmoid', 'uniform', (x) => x.sigmoid()],
    ['relu', 'away', (x) => x.relu()],
    ['leakyRelu', 'away', (x) => x.leakyRelu(0.2)],
    ['elu', 'away', (x) => x.elu(1.3)],
    ['gelu', 'uniform', (x) => x.gelu()],
    ['softplus', 'uniform', (x) => x.softplus(2)],
    ['hardtanh', 'uniform', (x) => x.mul(2).hardtanh()],
    ['erf', 'uniform', (x) => x.erf()],
    ['erfinv', 'uniform', (x) => x.mul(0.8).erfinv()],
    ['square', 'uniform', (x) => x.square()],
    ['pow scalar', 'positive', (x) => x.pow(2.5)],
    ['clamp', 'uniform', (x) => x.clamp(-0.5, 0.5)],
    ['add/sub/mul/div scalar', 'positive', (x) => x.add(1).sub(0.5).mul(3).div(2).rsub(1)],
  ];
  for (const [name, kind, f] of unary) test(name, () => gradcheck(name, [X([2, 3], kind)], ([x]) => f(x!)));

  test('binary ops with broadcasting', () => {
    gradcheck('add', [X([2, 3]), X([3])], ([a, b]) => a!.add(b!));
    gradcheck('add alpha', [X([2, 1]), X([1, 3])], ([a, b]) => a!.add(b!, -2));
    gradcheck('sub', [X([2, 1]), X([2, 3])], ([a, b]) => a!.sub(b!));
    gradcheck('mul', [X([2, 3]), X([2, 1])], ([a, b]) => a!.mul(b!));
    gradcheck('div', [X([2, 3]), X([3], 'positive')], ([a, b]) => a!.div(b!));
    gradcheck('pow', [X([2, 3], 'positive'), X([1, 3])], ([a, b]) => a!.pow(b!));
    gradcheck('maximum', [X([2, 3], 'distinct'), X([2, 3], 'distinct')], ([a, b]) => a!.maximum(b!.mul(0.97)));
    gradcheck('minimum', [X([2, 3], 'distinct'), X([2, 3], 'distinct')], ([a, b]) => a!.minimum(b!.mul(0.97)));
    gradcheck('where', [X([2, 3]), X([3])], ([a, b]) => {
      const c = tensor([
        [true, false, true],
        [false, false, true],
      ]);
      return c.where(a!, b!);
    });
    gradcheck('maskedFill', [X([2, 3])], ([a]) => a!.maskedFill(tensor([true, false, true]), 2));
  });
});

// ---- linear algebra ---------------------------------------------------------------------------
describe('matmul family', () => {
  test('matmul (matrix, vector, batched with broadcasting)', () => {
    gradcheck('matmul', [X([2, 3]), X([3, 4])], ([a, b]) => a!.matmul(b!));
    gradcheck('matmul vec', [X([3]), X([3, 2])], ([a, b]) => a!.matmul(b!));
    gradcheck('matmul batched', [X([2, 2, 3]), X([3, 2])], ([a, b]) => a!.matmul(b!));
    gradcheck('outer', [X([3]), X([2])], ([a, b]) => a!.outer(b!));
  });
  test('bmm', () => gradcheck('bmm', [X([2, 2, 3]), X([2, 3, 2])], ([a, b]) => a!.bmm(b!)));
  test('linear', () => {
    gradcheck('linear', [X([2, 3]), X([4, 3]), X([4])], ([x, w, b]) => F.linear(x!, w!, b!));
    gradcheck('linear 3-d, no bias', [X([2, 2, 3]), X([2, 3])], ([x, w]) => F.linear(x!, w!));
  });
});

// ---- reductions -------------------------------------------------------------------------------
describe('reductions', () => {
  test('sum and mean', () => {
    gradcheck('sum', [X([2, 3])], ([x]) => x!.sum());
    gradcheck('sum dim', [X([2, 3, 2])], ([x]) => x!.sum(1));
    gradcheck('sum dims keepdim', [X([2, 3, 2])], ([x]) => x!.sum([0, 2], true));
    gradcheck('mean', [X([2, 3])], ([x]) => x!.mean());
    gradcheck('mean dim', [X([2, 3])], ([x]) => x!.mean(-1, true));
    gradcheck('prod', [X([2, 3], 'positive')], ([x]) => x!.prod());
    gradcheck('cumsum', [X([2, 3])], ([x]) => x!.cumsum(1));
  });
  test('var and std', () => {
    gradcheck('var', [X([2, 3])], ([x]) => x!.var());
    gradcheck('var dim biased', [X([2, 3])], ([x]) => x!.var(1, { correction: 0 }));
    gradcheck('std', [X([2, 3])], ([x]) => x!.std());
    gradcheck('std dim keepdim', [X([3, 4])], ([x]) => x!.std(0, { keepdim: true }));
  });
  test('norm and logsumexp', () => {
    gradcheck('norm 2', [X([2, 3])], ([x]) => x!.norm());
    gradcheck('norm 2 dim', [X([2, 3])], ([x]) => x!.norm(2, 1));
    gradcheck('norm 1', [X([2, 3], 'away')], ([x]) => x!.norm(1, 0));
    gradcheck('norm 3', [X([2, 3], 'away')], ([x]) => x!.norm(3));
    gradcheck('logsumexp', [X([2, 3])], ([x]) => x!.logsumexp(1));
    gradcheck('logsumexp all', [X([2, 3])], ([x]) => x!.logsumexp([0, 1], true));
  });
  test('max and min', () => {
    gradcheck('max all', [X([2, 3], 'distinct')], ([x]) => x!.max());
    gradcheck('min all', [X([2, 3], 'distinct')], ([x]) => x!.min());
    gradcheck('maxDim', [X([3, 4], 'distinct')], ([x]) => x!.maxDim(1).values);
    gradcheck('minDim keepdim', [X([3, 4], 'distinct')], ([x]) => x!.minDim(0, true).values);
    gradcheck('topk', [X([2, 4], 'distinct')], ([x]) => x!.topk(2, 1).values);
    gradcheck('sort', [X([2, 4], 'distinct')], ([x]) => x!.sort(1).values);
  });
  test('softmax and logSoftmax', () => {
    gradcheck('softmax', [X([2, 4])], ([x]) => x!.softmax(1));
    gradcheck('softmax dim 0', [X([3, 2])], ([x]) => x!.softmax(0));
    gradcheck('logSoftmax', [X([2, 4])], ([x]) => x!.logSoftmax(-1));
  });
});

// ---- shape ------------------------------------------------------------------------------------
describe('shape ops', () => {
  test('reshape, view, permute, transpose, squeeze, unsqueeze, flatten, flip', () => {
    gradcheck('reshape', [X([2, 3])], ([x]) => x!.reshape(3, 2).mul(tensor([1, 2], { dtype: 'float64' })));
    gradcheck('view', [X([2, 3])], ([x]) => x!.view(6).exp());
    gradcheck('permute', [X([2, 3, 2])], ([x]) => x!.permute(2, 0, 1).contiguous().reshape(-1).cumsum(0));
    gradcheck('transpose', [X([2, 3])], ([x]) => x!.transpose(0, 1).matmul(tensor([[1], [2]], { dtype: 'float64' })));
    gradcheck('squeeze/unsqueeze', [X([1, 3, 1])], ([x]) => x!.squeeze().unsqueeze(0).cumsum(1));
    gradcheck('flatten', [X([2, 2, 2])], ([x]) => x!.flatten(1).cumsum(1));
    gradcheck('flip', [X([2, 3])], ([x]) => x!.flip(1).cumsum(1));
  });
  test('expand and repeat', () => {
    gradcheck('expand', [X([2, 1])], ([x]) => x!.expand(2, 3));
    gradcheck('expand new dim', [X([3])], ([x]) => x!.expand(2, 3));
    gradcheck('repeat', [X([2, 2])], ([x]) => x!.repeat(2, 3));
  });
  test('cat, stack, split, chunk, narrow, select', () => {
    gradcheck('cat', [X([2, 3]), X([1, 3])], ([a, b]) => cat([a!, b!.exp()]));
    gradcheck('cat dim 1', [X([2, 1]), X([2, 2])], ([a, b]) => cat([a!, b!], 1));
    gradcheck('stack', [X([3]), X([3])], ([a, b]) => stack([a!, b!.square()], 1));
    gradcheck('split', [X([5, 2])], ([x]) => {
      const [p, q] = x!.split([2, 3]);
      return cat([p!.mul(2), q!.exp()]);
    });
    gradcheck('split size', [X([5])], ([x]) => {
      const parts = x!.split(2);
      return cat(parts.map((p, i) => p.mul(i + 1)));
    });
    gradcheck('chunk', [X([2, 4])], ([x]) => {
      const [p, q] = x!.chunk(2, 1);
      return p!.mul(q!);
    });
    gradcheck('narrow', [X([3, 4])], ([x]) => x!.narrow(1, 1, 2));
    gradcheck('select', [X([3, 4])], ([x]) => x!.select(0, 2));
  });
  test('indexSelect and gather (with repeated indices)', () => {
    gradcheck('indexSelect', [X([3, 2]), idx([2, 0, 2])], ([x, i]) => x!.indexSelect(0, i!));
    gradcheck('indexSelect dim 1', [X([2, 3]), idx([1, 1])], ([x, i]) => x!.indexSelect(1, i!));
    gradcheck('gather', [X([2, 3]), idx([0, 2, 2, 1, 1, 0], [2, 3])], ([x, i]) => x!.gather(1, i!));
  });
  test('pad', () => {
    gradcheck('pad constant', [X([1, 1, 2, 3])], ([x]) => F.pad(x!, [1, 2, 0, 1], 'constant', 0.5));
    gradcheck('pad reflect', [X([1, 2, 3, 3])], ([x]) => F.pad(x!, [2, 1, 1, 2], 'reflect'));
    gradcheck('pad replicate', [X([1, 1, 2, 3])], ([x]) => F.pad(x!, [1, 2, 2, 0], 'replicate'));
  });
});

// ---- convolutions -----------------------------------------------------------------------------
describe('convolutions', () => {
  test('conv1d', () => {
    gradcheck('conv1d', [X([2, 2, 5]), X([3, 2, 3]), X([3])], ([x, w, b]) =>
      F.conv1d(x!, w!, b!, { padding: 1, stride: 2 }),
    );
    gradcheck('conv1d dilation groups', [X([1, 2, 6]), X([2, 1, 2])], ([x, w]) =>
      F.conv1d(x!, w!, null, { dilation: 2, groups: 2 }),
    );
  });
  test('conv2d', () => {
    gradcheck('conv2d', [X([1, 2, 4, 4]), X([2, 2, 3, 3]), X([2])], ([x, w, b]) =>
      F.conv2d(x!, w!, b!, { padding: 1, stride: 2 }),
    );
    gradcheck('conv2d dilation', [X([1, 1, 5, 5]), X([1, 1, 2, 2])], ([x, w]) =>
      F.conv2d(x!, w!, null, { dilation: 2 }),
    );
    gradcheck('conv2d groups', [X([1, 4, 3, 3]), X([2, 2, 2, 2])], ([x, w]) => F.conv2d(x!, w!, null, { groups: 2 }));
  });
  test('convTranspose2d', () => {
    gradcheck('convTranspose2d', [X([1, 2, 3, 3]), X([2, 2, 4, 4]), X([2])], ([x, w, b]) =>
      F.convTranspose2d(x!, w!, b!, { stride: 2, padding: 1 }),
    );
    gradcheck('convTranspose2d output padding', [X([1, 1, 2, 2]), X([1, 2, 3, 3])], ([x, w]) =>
      F.convTranspose2d(x!, w!, null, { stride: 2, padding: 1, outputPadding: 1 }),
    );
  });
});

// ---- normalisation ----------------------------------------------------------------------------
describe('normalisation', () => {
  const o = { atol: 1e-5, rtol: 1e-4 };
  test('batchNorm (training, batch statistics)', () => {
    gradcheck(
      'batchNorm 2-d',
      [X([4, 3]), X([3]), X([3])],
      ([x, w, b]) => F.batchNorm(x!, { weight: w!, bias: b! }),
      o,
    );
    gradcheck(
      'batchNorm 4-d',
      [X([2, 2, 2, 2]), X([2]), X([2])],
      ([x, w, b]) => F.batchNorm(x!, { weight: w!, bias: b! }),
      o,
    );
  });
  test('batchNorm (eval, running statistics)', () => {
    gradcheck(
      'batchNorm eval',
      [X([3, 2]), X([2]), X([2]), C([0.1, -0.2], [2]), C([0.5, 2], [2])],
      ([x, w, b, rm, rv]) =>
        F.batchNorm(x!, { weight: w!, bias: b!, runningMean: rm!, runningVar: rv!, training: false }),
    );
  });
  test('layerNorm', () => {
    gradcheck(
      'layerNorm',
      [X([2, 3, 2]), X([3, 2]), X([3, 2])],
      ([x, w, b]) => F.layerNorm(x!, [3, 2], { weight: w!, bias: b! }),
      o,
    );
  });
  test('groupNorm', () => {
    gradcheck(
      'groupNorm',
      [X([2, 4, 2, 1]), X([4]), X([4])],
      ([x, w, b]) => F.groupNorm(x!, 2, { weight: w!, bias: b! }),
      o,
    );
  });
  test('instanceNorm', () => {
    gradcheck(
      'instanceNorm',
      [X([2, 2, 2, 2]), X([2]), X([2])],
      ([x, w, b]) => F.instanceNorm(x!, { weight: w!, bias: b! }),
      o,
    );
  });
});

// ---- pooling and resampling -------------------------------------------------------------------
describe('pooling and resampling', () => {
  test('max and average pooling', () => {
    gradcheck('maxPool2d', [X([1, 2, 4, 4], 'distinct')], ([x]) => F.maxPool2d(x!, 2));
    gradcheck('maxPool2d overlapping', [X([1, 1, 4, 4], 'distinct')], ([x]) =>
      F.maxPool2d(x!, 3, { stride: 1, padding: 1 }),
    );
    gradcheck('avgPool2d', [X([1, 2, 4, 4])], ([x]) => F.avgPool2d(x!, 2));
    gradcheck('avgPool2d padded', [X([1, 1, 4, 4])], ([x]) =>
      F.avgPool2d(x!, 3, { stride: 2, padding: 1, countIncludePad: false }),
    );
  });
  test('adaptive average pooling', () => {
    gradcheck('adaptiveAvgPool2d', [X([1, 2, 5, 5])], ([x]) => F.adaptiveAvgPool2d(x!, 3));
    gradcheck('adaptiveAvgPool2d global', [X([2, 2, 3, 3])], ([x]) => F.adaptiveAvgPool2d(x!, 1));
  });
  test('interpolate', () => {
    gradcheck('bilinear', [X([1, 1, 3, 3])], ([x]) => F.interpolate(x!, { size: [5, 4], mode: 'bilinear' }));
    gradcheck('bilinear alignCorners', [X([1, 2, 2, 3])], ([x]) =>
      F.interpolate(x!, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }),
    );
    gradcheck('nearest', [X([1, 1, 2, 2])], ([x]) => F.interpolate(x!, { scaleFactor: 2 }));
  });
  test('pixelShuffle', () => gradcheck('pixelShuffle', [X([1, 8, 2, 2])], ([x]) => F.pixelShuffle(x!, 2)));
});

// ---- embedding --------------------------------------------------------------------------------
describe('embedding', () => {
  test('weight gradient accumulates repeated indices', () => {
    gradcheck('embedding', [X([4, 3]), idx([0, 2, 2, 3, 0, 2], [2, 3])], ([w, i]) => F.embedding(i!, w!));
  });
  test('paddingIdx rows get no gradient', () => {
    tidy(() => {
      const w = tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { dtype: 'float64' },
      ).requiresGrad_();
      const out = F.embedding(tensor([0, 1, 1, 2], { dtype: 'int64' }), w, 1);
      const [g] = grad(out.sum(), w);
      assert.deepEqual(g!.toArray(), [
        [1, 1],
        [0, 0],
        [1, 1],
      ]);
    });
  });
});

// ---- losses -----------------------------------------------------------------------------------
describe('losses', () => {
  test('bceWithLogits (logits and targets, weights)', () => {
    gradcheck('bce', [X([2, 3]), { shape: [2, 3], data: [0, 1, 0.3, 1, 0, 0.8] }], ([x, y]) => F.bceWithLogits(x!, y!));
    gradcheck('bce weighted', [X([3]), C([1, 0, 1], [3]), C([0.5, 2, 1], [3]), C([3, 3, 3], [3])], ([x, y, w, p]) =>
      F.bceWithLogits(x!, y!, { weight: w!, posWeight: p!, reduction: 'sum' }),
    );
    gradcheck('bce none', [X([4]), C([1, 0, 1, 0], [4])], ([x, y]) => F.bceWithLogits(x!, y!, { reduction: 'none' }));
  });
  test('crossEntropy and nllLoss', () => {
    gradcheck('crossEntropy', [X([3, 4]), idx([1, 3, 0])], ([x, y]) => F.crossEntropy(x!, y!));
    gradcheck('crossEntropy weighted smoothed', [X([3, 4]), idx([1, 3, 1]), C([1, 2, 0.5, 1], [4])], ([x, y, w]) =>
      F.crossEntropy(x!, y!, { weight: w!, labelSmoothing: 0.2 }),
    );
    gradcheck('crossEntropy ignoreIndex', [X([3, 4]), idx([1, -100, 2])], ([x, y]) => F.crossEntropy(x!, y!));
    gradcheck('crossEntropy spatial', [X([1, 3, 2, 2]), idx([0, 2, 1, 1], [1, 2, 2])], ([x, y]) =>
      F.crossEntropy(x!, y!, { reduction: 'sum' }),
    );
    gradcheck('nllLoss', [X([3, 4]), idx([2, 0, 3])], ([x, y]) => F.nllLoss(x!.logSoftmax(1), y!));
  });
  test('mse, l1 and gaussianKl', () => {
    gradcheck('mse', [X([2, 3]), X([2, 3])], ([a, b]) => F.mseLoss(a!, b!));
    gradcheck('mse sum', [X([4]), X([4])], ([a, b]) => F.mseLoss(a!, b!, 'sum'));
    gradcheck('l1', [X([2, 3], 'away'), C([0, 0, 0, 0, 0, 0], [2, 3])], ([a, b]) => F.l1Loss(a!, b!));
    gradcheck('l1 both', [X([4], 'away'), C([0, 0, 0, 0], [4])], ([a, b]) => F.l1Loss(b!, a!, 'none'));
    gradcheck('gaussianKl', [X([3, 2]), X([3, 2])], ([mu, lv]) => F.gaussianKl(mu!, lv!));
  });
});

// ---- recurrent layers -------------------------------------------------------------------------
describe('recurrent layers through F.rnn', () => {
  const I = 2;
  const H = 2;
  function rnnCase(
    name: string,
    mode: 'lstm' | 'gru',
    o: { bidirectional?: boolean; batchFirst?: boolean; lengths?: number[]; layers?: number },
  ): void {
    const T = 3;
    const B = 2;
    const dirs = o.bidirectional ? 2 : 1;
    const layers = o.layers ?? 1;
    const gates = mode === 'lstm' ? 4 : 3;
    const specs: Spec[] = [X(o.batchFirst ? [B, T, I] : [T, B, I]), X([layers * dirs, B, H])];
    if (mode === 'lstm') specs.push(X([layers * dirs, B, H]));
    const nParams = layers * dirs * 4;
    for (let l = 0; l < layers; l++)
      for (let d = 0; d < dirs; d++) {
        const inSize = l === 0 ? I : H * dirs;
        specs.push(X([gates * H, inSize]), X([gates * H, H]), X([gates * H]), X([gates * H]));
      }
    if (o.lengths) specs.push(idx(o.lengths));
    gradcheck(name, specs, (xs) => {
      const [x, h0] = xs;
      const c0 = mode === 'lstm' ? xs[2]! : null;
      const first = mode === 'lstm' ? 3 : 2;
      const params = xs.slice(first, first + nParams);
      const lengths = o.lengths ? xs[first + nParams]! : null;
      const r = F.rnn(x!, h0!, c0, {
        mode,
        params,
        numLayers: layers,
        bidirectional: o.bidirectional ?? false,
        batchFirst: o.batchFirst ?? false,
        lengths,
      });
      const parts = [r.output.flatten(), r.h.flatten()];
      if (r.c) parts.push(r.c.flatten());
      return cat(parts);
    });
  }
  test('LSTM', () => rnnCase('lstm', 'lstm', {}));
  test('LSTM batchFirst with lengths (unsorted)', () =>
    rnnCase('lstm lengths', 'lstm', { batchFirst: true, lengths: [1, 3] }));
  test('LSTM bidirectional', () => rnnCase('lstm bidir', 'lstm', { bidirectional: true }));
  test('LSTM bidirectional with lengths', () =>
    rnnCase('lstm bidir lengths', 'lstm', { bidirectional: true, lengths: [2, 3] }));
  test('LSTM two layers', () => rnnCase('lstm 2 layers', 'lstm', { layers: 2, lengths: [3, 2] }));
  test('GRU', () => rnnCase('gru', 'gru', {}));
  test('GRU with lengths (unsorted)', () => rnnCase('gru lengths', 'gru', { batchFirst: true, lengths: [2, 3] }));
  test('GRU bidirectional with lengths', () =>
    rnnCase('gru bidir lengths', 'gru', { bidirectional: true, lengths: [3, 1] }));
});

test('the checker catches a wrong gradient', () => {
  // A custom "op" whose forward and backward disagree: detach() hides half of x * x from autograd.
  assert.throws(() => gradcheck('wrong', [X([3])], ([x]) => x!.mul(x!.detach())), /autograd .* finite difference/);
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});
