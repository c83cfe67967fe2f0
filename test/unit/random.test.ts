// Random numbers: reproducibility from seeds and generator states, and rough distribution checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  F,
  Generator,
  bernoulli,
  liveTensors,
  manualSeed,
  multinomial,
  normal,
  ones,
  rand,
  randint,
  randn,
  randperm,
  tensor,
  tidy,
  truncatedNormal,
  zeros,
  type Tensor,
} from '../../src/engine/index.js';

const START = liveTensors();

const scoped = (fn: () => void) => () => {
  tidy(fn);
};

function vals(t: Tensor): number[] {
  if (t.dtype === 'int64') return Array.from(t.toTypedArray() as BigInt64Array, Number);
  if (t.dtype === 'float64') return Array.from(t.toTypedArray() as Float64Array);
  return Array.from(t.toFloat32Array());
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
};

/** Every sampler, drawing from a given generator. */
const samplers: [string, (g: Generator) => Tensor][] = [
  ['rand', (g) => rand([50], { generator: g })],
  ['randn', (g) => randn([50], { generator: g })],
  ['randn float64', (g) => randn([50], { generator: g, dtype: 'float64' })],
  ['randint', (g) => randint(0, 1000, [50], { generator: g })],
  ['normal', (g) => normal(2, 3, [50], { generator: g })],
  ['bernoulli', (g) => bernoulli(zeros([200]).add(0.5), { generator: g })],
  ['multinomial', (g) => multinomial(ones([100]), 20, { generator: g })],
  ['multinomial with replacement', (g) => multinomial(ones([2, 10]), 30, { replacement: true, generator: g })],
  ['randperm', (g) => randperm(50, { generator: g })],
  ['truncatedNormal', (g) => truncatedNormal([50], { generator: g })],
  ['uniform_', (g) => zeros([50]).uniform_(-1, 1, g)],
  ['normal_', (g) => zeros([50]).normal_(0, 1, g)],
];

describe('reproducibility', () => {
  for (const [name, draw] of samplers) {
    test(
      `${name}: same seed, same numbers; another seed, other numbers`,
      scoped(() => {
        const a = vals(draw(new Generator(1234)));
        const b = vals(draw(new Generator(1234)));
        const c = vals(draw(new Generator(4321)));
        assert.deepEqual(a, b);
        assert.notDeepEqual(a, c);
        // Successive draws from one generator differ.
        const g = new Generator(1234);
        assert.deepEqual(vals(draw(g)), a);
        assert.notDeepEqual(vals(draw(g)), a);
      }),
    );
  }

  test(
    'manualSeed seeds the default generator',
    scoped(() => {
      manualSeed(77);
      const a = vals(randn([20]));
      const a2 = vals(rand([5]));
      manualSeed(77);
      assert.deepEqual(vals(randn([20])), a);
      assert.deepEqual(vals(rand([5])), a2);
      manualSeed(78);
      assert.notDeepEqual(vals(randn([20])), a);
    }),
  );

  test(
    'a private generator does not disturb the default stream',
    scoped(() => {
      manualSeed(3);
      const a = vals(randn([10]));
      manualSeed(3);
      randn([10], { generator: new Generator(99) });
      assert.deepEqual(vals(randn([10])), a);
    }),
  );

  test('a generator reports its seed; bad seeds are rejected', () => {
    assert.equal(new Generator(123).seed, 123);
    assert.equal(new Generator(2 ** 40).seed, 2 ** 40);
    assert.throws(() => new Generator(-1), TypeError);
    assert.throws(() => new Generator(1.5), TypeError);
    assert.throws(() => manualSeed(-3), TypeError);
  });

  test(
    'getState/setState replays the same numbers',
    scoped(() => {
      const g = new Generator(9);
      randn([7], { generator: g }); // move away from the initial state
      const state = g.getState();
      assert.equal(state.dtype, 'uint8');
      const first = [vals(randn([10], { generator: g })), vals(randint(0, 100, [10], { generator: g }))];
      g.setState(state);
      const again = [vals(randn([10], { generator: g })), vals(randint(0, 100, [10], { generator: g }))];
      assert.deepEqual(again, first);
      // A state moves between generators: another generator continues the same stream.
      const h = new Generator(555);
      h.setState(state);
      assert.deepEqual(vals(randn([10], { generator: h })), first[0]);
    }),
  );

  test(
    'manualSeed and the default generator state make dropout reproducible',
    scoped(() => {
      const x = ones([200]);
      manualSeed(5);
      const d1 = vals(F.dropout(x, 0.5));
      manualSeed(5);
      const d2 = vals(F.dropout(x, 0.5));
      assert.deepEqual(d1, d2);
      manualSeed(6);
      assert.notDeepEqual(vals(F.dropout(x, 0.5)), d1);
      const def = Generator.default();
      const s = def.getState();
      const d3 = vals(F.dropout(x, 0.5));
      def.setState(s);
      assert.deepEqual(vals(F.dropout(x, 0.5)), d3);
    }),
  );
});

describe('distributions', () => {
  test(
    'randn: mean 0, std 1 over 10k draws',
    scoped(() => {
      const v = vals(randn([10000], { generator: new Generator(1) }));
      assert.ok(Math.abs(mean(v)) < 0.04, `mean ${mean(v)}`);
      assert.ok(Math.abs(std(v) - 1) < 0.03, `std ${std(v)}`);
      // About 95.4% within two standard deviations.
      const within = v.filter((x) => Math.abs(x) < 2).length / v.length;
      assert.ok(Math.abs(within - 0.9545) < 0.01, `within 2 sd: ${within}`);
      assert.equal(randn([3, 4]).dtype, 'float32');
      assert.deepEqual(randn([3, 4]).shape, [3, 4]);
    }),
  );

  test(
    'normal(mean, std) and rand',
    scoped(() => {
      const n = vals(normal(3, 2, [10000], { generator: new Generator(2) }));
      assert.ok(Math.abs(mean(n) - 3) < 0.08, `mean ${mean(n)}`);
      assert.ok(Math.abs(std(n) - 2) < 0.06, `std ${std(n)}`);
      assert.throws(() => normal(0, -1, [2]), RangeError);
      const u = vals(rand([10000], { generator: new Generator(3), dtype: 'float64' }));
      assert.ok(u.every((x) => x >= 0 && x < 1));
      assert.ok(Math.abs(mean(u) - 0.5) < 0.015, `mean ${mean(u)}`);
      assert.ok(Math.abs(std(u) - Math.sqrt(1 / 12)) < 0.01, `std ${std(u)}`);
      const w = vals(zeros([10000]).uniform_(-3, 1, new Generator(4)));
      assert.ok(w.every((x) => x >= -3 && x < 1));
      assert.ok(Math.abs(mean(w) + 1) < 0.05);
    }),
  );

  test(
    'randint: integers in [low, high), roughly uniform',
    scoped(() => {
      const t = randint(-2, 3, [10000], { generator: new Generator(5) });
      assert.equal(t.dtype, 'int64');
      const v = vals(t);
      assert.ok(v.every((x) => Number.isInteger(x) && x >= -2 && x < 3));
      for (let k = -2; k < 3; k++) {
        const f = v.filter((x) => x === k).length / v.length;
        assert.ok(Math.abs(f - 0.2) < 0.02, `frequency of ${k}: ${f}`);
      }
      assert.throws(() => randint(3, 3, [1]), RangeError);
    }),
  );

  test(
    'bernoulli and multinomial follow their probabilities',
    scoped(() => {
      const probs = tensor([0, 0.3, 1]).reshape(3, 1).expand(3, 5000).contiguous();
      const b = vals(bernoulli(probs, { generator: new Generator(6) }));
      assert.ok(b.slice(0, 5000).every((x) => x === 0));
      const f = mean(b.slice(5000, 10000));
      assert.ok(Math.abs(f - 0.3) < 0.02, `frequency ${f}`);
      assert.ok(b.slice(10000).every((x) => x === 1));
      // Unnormalised probabilities [0, 1, 3] with replacement.
      const m = vals(multinomial(tensor([0, 1, 3]), 10000, { replacement: true, generator: new Generator(7) }));
      assert.equal(m.filter((x) => x === 0).length, 0);
      const f2 = m.filter((x) => x === 2).length / m.length;
      assert.ok(Math.abs(f2 - 0.75) < 0.02, `frequency of class 2: ${f2}`);
      // Without replacement: distinct indices, never a zero-probability class.
      for (let seed = 0; seed < 20; seed++) {
        const s = vals(multinomial(tensor([1, 0, 2, 1, 5]), 4, { generator: new Generator(seed) }));
        assert.equal(new Set(s).size, 4);
        assert.ok(!s.includes(1));
      }
    }),
  );

  test(
    'randperm is a permutation',
    scoped(() => {
      const p = randperm(100, { generator: new Generator(8) });
      assert.equal(p.dtype, 'int64');
      const v = vals(p);
      assert.deepEqual(
        [...v].sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, i) => i),
      );
      assert.notDeepEqual(
        v,
        Array.from({ length: 100 }, (_, i) => i),
      );
    }),
  );

  test(
    'truncatedNormal stays inside its bounds with the truncated mean and std',
    scoped(() => {
      // Closed forms for N(mu, s) truncated to [mu + a s, mu + b s] (a, b in standard deviations).
      const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
      const cdf = (x: number) => {
        // Simpson integration of phi from 0 (accurate to ~1e-10 on this range).
        const n = 2000;
        const h = x / n;
        let s = phi(0) + phi(x);
        for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(i * h);
        return 0.5 + (s * h) / 3;
      };
      const cases = [
        { mean: 1, std: 2, a: -1, b: 2 },
        { mean: 0, std: 1, a: -2, b: 2 },
        { mean: -3, std: 0.5, a: 0, b: 3 },
      ];
      const live = liveTensors();
      truncatedNormal([4], { generator: new Generator(1) }).dispose();
      assert.equal(liveTensors(), live, 'truncatedNormal leaves no temporaries behind');
      for (const c of cases) {
        const t = truncatedNormal([20000], { ...c, generator: new Generator(10), dtype: 'float64' });
        const v = vals(t);
        const lo = c.mean + c.a * c.std;
        const hi = c.mean + c.b * c.std;
        assert.ok(
          v.every((x) => x >= lo && x <= hi),
          `inside [${lo}, ${hi}]: ${Math.min(...v)}..${Math.max(...v)}`,
        );
        const z = cdf(c.b) - cdf(c.a);
        const d = (phi(c.a) - phi(c.b)) / z;
        const wantMean = c.mean + c.std * d;
        const wantStd = c.std * Math.sqrt(1 + (c.a * phi(c.a) - c.b * phi(c.b)) / z - d * d);
        assert.ok(
          Math.abs(mean(v) - wantMean) < 4 * (wantStd / Math.sqrt(v.length)) + 1e-3,
          `mean ${mean(v)} vs ${wantMean}`,
        );
        assert.ok(Math.abs(std(v) - wantStd) < 0.03 * wantStd, `std ${std(v)} vs ${wantStd}`);
        // The draws reach close to both bounds.
        assert.ok(Math.min(...v) < lo + 0.05 * c.std && Math.max(...v) > hi - 0.05 * c.std);
      }
      const d = truncatedNormal([1000]);
      assert.equal(d.dtype, 'float32');
      assert.ok(vals(d).every((x) => x >= -2 && x <= 2));
      assert.throws(() => truncatedNormal([2], { a: 1, b: 1 }), RangeError);
    }),
  );
});

test('no tensor handles leak from this file', () => {
  assert.equal(liveTensors(), START);
});
