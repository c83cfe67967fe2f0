// Autograd semantics: accumulation, grad(), double backward (the WGAN-GP penalty), grad modes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  F,
  enableGrad,
  grad,
  isGradEnabled,
  keep,
  liveTensors,
  noGrad,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../../src/engine/index.js';

const START = liveTensors();

const scoped = (fn: () => void) => () => {
  tidy(fn);
};

const f64 = (d: number[] | number[][], shape?: number[]) =>
  tensor(d, { dtype: 'float64', ...(shape ? { shape } : {}) });
const vals = (t: Tensor): number[] =>
  t.dtype === 'float64' ? Array.from(t.toTypedArray() as Float64Array) : Array.from(t.toFloat32Array());

function close(actual: number[], expected: number[], tol = 1e-9, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `${what}[${i}]: expected ${expected[i]}, got ${actual[i]}`,
    );
}

describe('backward', () => {
  test(
    'gradients accumulate across backward calls until cleared',
    scoped(() => {
      const x = f64([1, 2, 3]).requiresGrad_();
      assert.equal(x.grad, null);
      x.mul(x).sum().backward();
      close(vals(x.grad!), [2, 4, 6]);
      x.mul(3).sum().backward();
      close(vals(x.grad!), [5, 7, 9]);
      x.grad = null;
      assert.equal(x.grad, null);
      x.sum().backward();
      close(vals(x.grad!), [1, 1, 1]);
      // Setting a gradient by hand.
      x.grad = f64([0.5, 0.5, 0.5]);
      x.sum().backward();
      close(vals(x.grad!), [1.5, 1.5, 1.5]);
    }),
  );

  test(
    'backward of a non-scalar needs a gradient',
    scoped(() => {
      const x = f64([1, 2, 3]).requiresGrad_();
      const y = x.mul(2);
      assert.throws(() => y.backward(), /scalar/);
      y.backward(f64([1, 0, 2]));
      close(vals(x.grad!), [2, 0, 4]);
      assert.throws(() => f64([1]).backward(), /does not require grad/);
    }),
  );

  test(
    'retainGraph keeps the graph for a second backward; without it the second one fails',
    scoped(() => {
      const x = f64([0, 1]).requiresGrad_();
      const y = x.exp().sum();
      y.backward(undefined, { retainGraph: true });
      y.backward();
      close(vals(x.grad!), [2, 2 * Math.E]);
      assert.throws(() => y.backward());
    }),
  );

  test(
    'backward with createGraph makes the gradient differentiable',
    scoped(() => {
      const x = f64([1, 2]).requiresGrad_();
      x.pow(3).sum().backward(undefined, { createGraph: true });
      const g = x.grad!;
      close(vals(g), [3, 12]);
      assert.equal(g.requiresGrad, true);
      g.sum().backward();
      // x.grad accumulates d/dx sum(3 x^2) = 6x on top of 3x^2.
      close(vals(x.grad!), [3 + 6, 12 + 12]);
      // Break the x <-> x.grad reference cycle that createGraph leaves behind.
      x.grad = null;
    }),
  );

  test(
    'gradients flow through dtype conversions and views',
    scoped(() => {
      const x = tensor([1, 2, 3, 4]).requiresGrad_();
      const y = x
        .to('float64')
        .reshape(2, 2)
        .t()
        .narrow(0, 1, 1)
        .mul(f64([[10, 100]]));
      y.sum().backward();
      assert.equal(x.grad!.dtype, 'float32');
      close(vals(x.grad!), [0, 10, 0, 100]);
    }),
  );
});

describe('grad()', () => {
  test(
    'returns gradients without touching .grad',
    scoped(() => {
      const x = f64([1, 2]).requiresGrad_();
      const w = f64([3, 4]).requiresGrad_();
      const y = x.mul(w).sum();
      const [gx, gw] = grad(y, [x, w]);
      close(vals(gx!), [3, 4]);
      close(vals(gw!), [1, 2]);
      assert.equal(x.grad, null);
      assert.equal(w.grad, null);
      assert.equal(gx!.requiresGrad, false);
    }),
  );

  test(
    'gradOutputs weight a non-scalar output; without them it throws',
    scoped(() => {
      const x = f64([1, 2, 3]).requiresGrad_();
      const y = x.square();
      assert.throws(() => grad(y, x), /gradOutputs/);
      const [g] = grad(y, x, { gradOutputs: [f64([1, 0.5, -1])] });
      close(vals(g!), [2, 2, -6]);
    }),
  );

  test(
    'allowUnused returns null for inputs the output does not depend on',
    scoped(() => {
      const x = f64([1, 2]).requiresGrad_();
      const z = f64([5]).requiresGrad_();
      assert.throws(() => grad(x.sum(), [x, z]));
      const [gx, gz] = grad(x.mul(2).sum(), [x, z], { allowUnused: true });
      close(vals(gx!), [2, 2]);
      assert.equal(gz, null);
    }),
  );

  test(
    'higher derivatives with createGraph: d/dx x^3 = 3x^2, d2 = 6x, d3 = 6',
    scoped(() => {
      const x = f64([-1, 0.5, 2]).requiresGrad_();
      const y = x.pow(3).sum();
      const [g1] = grad(y, x, { createGraph: true });
      close(vals(g1!), [3, 0.75, 12]);
      assert.equal(g1!.requiresGrad, true);
      const [g2] = grad(g1!.sum(), x, { createGraph: true });
      close(vals(g2!), [-6, 3, 12]);
      const [g3] = grad(g2!.sum(), x);
      close(vals(g3!), [6, 6, 6]);
      // Mixed partials: d/dy (d/dx x^2 y) = 2x.
      const a = f64([3]).requiresGrad_();
      const b = f64([5]).requiresGrad_();
      const [ga] = grad(a.square().mul(b).sum(), a, { createGraph: true });
      const [gab] = grad(ga!.sum(), b);
      close(vals(gab!), [6]);
    }),
  );
});

// ---- WGAN-GP ----------------------------------------------------------------------------------
describe('WGAN-GP gradient penalty (double backward)', () => {
  /** Deterministic values in [-1, 1]. */
  const values = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.9);

  interface Critic {
    names: string[];
    shapes: number[][];
    forward(p: Tensor[], x: Tensor): Tensor;
    input: { shape: number[]; data: number[] };
  }

  const mlp: Critic = {
    names: ['w1', 'b1', 'w2', 'b2'],
    shapes: [[3, 2], [3], [1, 3], [1]],
    forward: ([w1, b1, w2, b2], x) => F.linear(F.linear(x, w1!, b1!).tanh(), w2!, b2!),
    input: { shape: [4, 2], data: values(8, 1) },
  };

  const conv: Critic = {
    names: ['conv.w', 'conv.b', 'ln.w', 'ln.b', 'fc.w', 'fc.b'],
    shapes: [[2, 1, 3, 3], [2], [2, 2, 2], [2, 2, 2], [1, 8], [1]],
    forward: ([cw, cb, lw, lb, fw, fb], x) => {
      const h = F.conv2d(x, cw!, cb!);
      const n = F.layerNorm(h, [2, 2, 2], { weight: lw!, bias: lb! }).softplus();
      return F.linear(n.flatten(1), fw!, fb!);
    },
    input: { shape: [2, 1, 4, 4], data: values(32, 2) },
  };

  /** mean over the batch of (||d D(x) / dx||_2 - 1)^2, differentiable in the parameters. */
  function penalty(c: Critic, params: Tensor[]): Tensor {
    const x = f64(c.input.data, c.input.shape).requiresGrad_();
    const out = c.forward(params, x);
    const [gx] = grad(out.sum(), x, { createGraph: true });
    return gx!.flatten(1).norm(2, 1).sub(1).square().mean();
  }

  function check(c: Critic): void {
    tidy(() => {
      const data = c.shapes.map((s, i) =>
        values(
          s.reduce((a, b) => a * b, 1),
          10 + i,
        ).map((v) => v * 0.8),
      );
      const params = data.map((d, i) => f64(d, c.shapes[i]).requiresGrad_());
      const p = penalty(c, params);
      assert.ok(p.item() > 1e-3, 'the penalty is not trivially zero');
      // Both ways of backpropagating the penalty: grad() and backward().
      const viaGrad = grad(p, params, { retainGraph: true, allowUnused: true });
      p.backward();
      const n = params.length;
      for (let i = 0; i < n; i++) {
        const g = params[i]!.grad;
        const gg = viaGrad[i];
        // The last bias shifts D(x) by a constant: it has no effect on the penalty.
        if (i === n - 1) {
          assert.equal(gg, null, `${c.names[i]}: unused`);
          assert.ok(g === null || vals(g).every((v) => v === 0), `${c.names[i]}: no gradient`);
          continue;
        }
        const analytic = vals(g!);
        close(vals(gg!), analytic, 1e-12, `${c.names[i]} grad() vs backward()`);
        // Central differences of the penalty itself.
        const eps = 1e-6;
        const numeric = data[i]!.map((_, j) => {
          const at = (delta: number) =>
            tidy(() => {
              const ps = data.map((d, k) => {
                const copy = d.slice();
                if (k === i) copy[j]! += delta;
                return f64(copy, c.shapes[k]);
              });
              return penalty(c, ps).item();
            });
          return (at(eps) - at(-eps)) / (2 * eps);
        });
        close(analytic, numeric, 1e-6, `${c.names[i]} autograd vs finite differences`);
        assert.ok(
          numeric.some((v) => Math.abs(v) > 1e-4),
          `${c.names[i]}: the check is not vacuous`,
        );
      }
    });
  }

  test('linear-tanh-linear critic', () => check(mlp));
  test('conv-layerNorm-softplus-linear critic', () => check(conv));
});

// ---- grad modes and flags ---------------------------------------------------------------------
describe('grad mode and flags', () => {
  test(
    'requiresGrad, isLeaf and detach',
    scoped(() => {
      const x = f64([1, 2]);
      assert.equal(x.requiresGrad, false);
      assert.equal(x.isLeaf, true);
      assert.equal(x.requiresGrad_(), x);
      assert.equal(x.requiresGrad, true);
      const y = x.mul(2);
      assert.equal(y.requiresGrad, true);
      assert.equal(y.isLeaf, false);
      assert.equal(y.grad, null);
      const d = y.detach();
      assert.equal(d.requiresGrad, false);
      assert.equal(d.isLeaf, true);
      // A constant mixed with a tracked tensor is tracked.
      assert.equal(f64([1, 1]).add(x).requiresGrad, true);
      assert.equal(f64([1, 1]).add(f64([1, 1])).requiresGrad, false);
      x.requiresGrad = false;
      assert.equal(x.requiresGrad, false);
      assert.throws(() => tensor([1, 2], { dtype: 'int64' }).requiresGrad_(), /floating point/);
      // detach shares storage with its source.
      const src = f64([1, 2, 3]);
      const view = src.detach();
      view.fill_(7);
      close(vals(src), [7, 7, 7]);
    }),
  );

  test(
    'noGrad disables recording, restores the mode (also on throw), enableGrad re-enables it',
    scoped(() => {
      const x = f64([1, 2]).requiresGrad_();
      assert.equal(isGradEnabled(), true);
      const y = noGrad(() => {
        assert.equal(isGradEnabled(), false);
        const inner = enableGrad(() => {
          assert.equal(isGradEnabled(), true);
          return x.mul(2);
        });
        assert.equal(inner.requiresGrad, true);
        assert.equal(isGradEnabled(), false);
        return x.mul(3).exp();
      });
      assert.equal(isGradEnabled(), true);
      assert.equal(y.requiresGrad, false);
      assert.throws(() => y.sum().backward());
      assert.throws(() =>
        noGrad(() => {
          throw new Error('boom');
        }),
      );
      assert.equal(isGradEnabled(), true);
      // Nested noGrad scopes.
      noGrad(() => noGrad(() => assert.equal(isGradEnabled(), false)));
      assert.equal(isGradEnabled(), true);
    }),
  );

  test(
    'in-place updates are not recorded, so parameters stay leaves',
    scoped(() => {
      const p = f64([1, 2]).requiresGrad_();
      p.addScaled_(f64([1, 1]), -0.5);
      p.mul_(2);
      p.clamp_(0, 2);
      p.lerp_(f64([0, 0]), 0.5);
      assert.equal(p.isLeaf, true);
      assert.equal(p.requiresGrad, true);
      close(vals(p), [0.5, 1]);
      p.copy_(f64([3, 4]));
      p.square().sum().backward();
      close(vals(p.grad!), [6, 8]);
    }),
  );
});

describe('tidy and keep', () => {
  test('tidy frees intermediates and keeps what it returns', () => {
    const before = liveTensors();
    const out = tidy(() => {
      const a = zeros([3]);
      const b = a.add(1);
      b.mul(2);
      return { b, list: [a.sub(1)] };
    });
    assert.equal(liveTensors(), before + 2);
    assert.deepEqual(out.b.toArray(), [1, 1, 1]);
    assert.deepEqual(out.list[0]!.toArray(), [-1, -1, -1]);
    out.b.dispose();
    out.list[0]!.dispose();
    assert.equal(liveTensors(), before);
    // keep() exempts a tensor from the scope; a thrown error still frees the rest.
    let kept: Tensor | undefined;
    tidy(() => {
      kept = keep(zeros([2]));
      zeros([2]);
    });
    assert.equal(liveTensors(), before + 1);
    kept!.dispose();
    assert.throws(() =>
      tidy(() => {
        zeros([2]);
        throw new Error('boom');
      }),
    );
    assert.equal(liveTensors(), before);
    // A disposed tensor cannot be used.
    const t = zeros([1]);
    t.dispose();
    assert.equal(t.disposed, true);
    assert.throws(() => t.add(1), /dispose/);
  });
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});
