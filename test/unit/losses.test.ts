// The arithmetic of every training option, against values worked out by hand (or by a loop written
// here, independent of the tensor code): each adversarial loss with and without one-sided label
// smoothing, GAN-CLS's matching-aware discriminator loss, WGAN-GP's gradient penalty (value,
// interpolation points and its gradient through the critic), the generator EMA, and minibatch
// discrimination. The end-to-end training tests check that the options reach these functions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Generator, liveTensors, noGrad, rand, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { MinibatchDiscrimination } from '../../src/models/layers/minibatch-discrimination.js';
import { BatchNorm2d, Conv2d, Sequential } from '../../src/nn/index.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import {
  ADVERSARIAL_LOSSES,
  dFakeLoss,
  dRealLoss,
  gLoss,
  gradientPenalty,
  matchingAwareDLoss,
  modeSeekingLoss,
  type AdversarialLoss,
} from '../../src/train/losses.js';

const START = liveTensors();
const S = [2.0, -1.0, 0.5]; // discriminator scores (logits for the non-saturating loss)
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const softplus = (x: number): number => Math.log1p(Math.exp(x));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const value = (f: () => Tensor): number => tidy(() => f().item());
const close = (got: number, want: number, what: string, tol = 1e-6): void =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);

describe('adversarial losses against hand values (scores 2, -1, 0.5)', () => {
  // Each loss's three terms: D on "real", D on "fake", G on fakes; then with the real label 0.9.
  const want: Record<AdversarialLoss, { real: number; fake: number; g: number; real09: number | null }> = {
    // -log σ(s), -log(1 - σ(s)) = softplus(s), -log σ(s); smoothed: BCE with target 0.9.
    nonsaturating: {
      real: mean(S.map((s) => softplus(-s))),
      fake: mean(S.map((s) => softplus(s))),
      g: mean(S.map((s) => softplus(-s))),
      real09: mean(S.map((s) => -(0.9 * Math.log(sigmoid(s)) + 0.1 * Math.log(1 - sigmoid(s))))),
    },
    // max(0, 1 - s): 0, 2, 0.5; max(0, 1 + s): 3, 0, 1.5; G: -mean(s).
    hinge: { real: 2.5 / 3, fake: 4.5 / 3, g: -0.5, real09: null },
    // -mean(s), mean(s), -mean(s).
    wasserstein: { real: -0.5, fake: 0.5, g: -0.5, real09: null },
    // ½(s - 1)²: ½, 2, ⅛; ½s²: 2, ½, ⅛; G as real; smoothed: ½(s - 0.9)².
    'least-squares': {
      real: 2.625 / 3,
      fake: 2.625 / 3,
      g: 2.625 / 3,
      real09: mean(S.map((s) => 0.5 * (s - 0.9) ** 2)),
    },
  };
  for (const kind of ADVERSARIAL_LOSSES) {
    test(kind, () => {
      const w = want[kind];
      const s = (): Tensor => tensor(S);
      close(
        value(() => dRealLoss(kind, s())),
        w.real,
        'D real',
      );
      close(
        value(() => dFakeLoss(kind, s())),
        w.fake,
        'D fake',
      );
      close(
        value(() => gLoss(kind, s())),
        w.g,
        'G',
      );
      if (w.real09 === null)
        assert.throws(() => tidy(() => dRealLoss(kind, s(), 0.9)), /label smoothing .* not defined for the/);
      else
        close(
          value(() => dRealLoss(kind, s(), 0.9)),
          w.real09,
          'D real, label 0.9',
        );
    });
  }

  test('the gradients: hinge passes only the scores inside the margin', () => {
    tidy(() => {
      const s = tensor(S).requiresGrad_(true);
      dRealLoss('hinge', s).backward();
      // d/ds mean(max(0, 1 - s)) = -1/3 where s < 1, else 0.
      // (-0 where relu's gradient is 0: compare values, not signs of zero.)
      assert.deepEqual(
        Array.from(s.grad!.toFloat32Array(), (v) => v + 0),
        [0, -1 / 3, -1 / 3].map(Math.fround),
      );
    });
  });
});

describe('mode seeking (MSGAN, Mao et al. 2019)', () => {
  test('1 / (mean|f₁ − f₂| / mean|z₁ − z₂| + ε), and its gradient pushes the two images apart', () => {
    tidy(() => {
      const f1 = tensor([1, 2, -1, 0.5]).requiresGrad_(true);
      const f2 = tensor([0, 0, 1, 0.5]);
      const z1 = tensor([0, 0, 0]);
      const z2 = tensor([1, -2, 0.5]);
      // mean|f₁ − f₂| = (1 + 2 + 2 + 0) / 4 = 1.25; mean|z₁ − z₂| = 3.5 / 3.
      const ratio = 1.25 / (3.5 / 3);
      const l = modeSeekingLoss(f1, f2, z1, z2);
      close(l.item(), 1 / (ratio + 1e-5), 'L_ms');
      l.backward();
      // dL/df₁ = −1/(r + ε)² · sign(f₁ − f₂) / 4 / mean|z₁ − z₂|: each image moves away from its pair.
      const g = -1 / (ratio + 1e-5) ** 2 / 4 / (3.5 / 3);
      const got = Array.from(f1.grad!.toFloat32Array());
      [g, g, -g].forEach((want, i) => close(got[i]!, want, `grad ${i}`, 1e-5));
      close(got[3]!, 0, 'grad where the two are equal', 1e-5);
    });
  });
});

describe('the matching-aware discriminator loss (GAN-CLS, Reed et al. 2016, Alg. 1)', () => {
  const real = [1.0, -0.5];
  const wrong = [0.25, 2.0];
  const fake = [-1.5, 0.75];
  test('non-saturating: -log D(x, h) - ½ log(1 - D(x, ĥ)) - ½ log(1 - D(G(z), h))', () => {
    const got = value(() =>
      matchingAwareDLoss('nonsaturating', { real: tensor(real), wrong: tensor(wrong), fake: tensor(fake) }, 0.5),
    );
    const want = mean(real.map((s) => softplus(-s))) + 0.5 * mean(wrong.map(softplus)) + 0.5 * mean(fake.map(softplus));
    close(got, want, 'L_D');
  });
  test('another weight, hinge and label smoothing; without wrong text it is the plain loss', () => {
    const hinge = value(() =>
      matchingAwareDLoss('hinge', { real: tensor(real), wrong: tensor(wrong), fake: tensor(fake) }, 0.25),
    );
    // relu(1 - real): 0, 1.5; relu(1 + wrong): 1.25, 3; relu(1 + fake): 0, 1.75.
    close(hinge, 0.75 + 0.25 * 2.125 + 0.75 * 0.875, 'hinge, weight ¼');
    const smoothed = value(() =>
      matchingAwareDLoss('least-squares', { real: tensor(real), wrong: null, fake: tensor(fake) }, 0, 0.9),
    );
    close(smoothed, mean(real.map((s) => 0.5 * (s - 0.9) ** 2)) + mean(fake.map((s) => 0.5 * s * s)), 'LS, no wrong');
    assert.throws(
      () => tidy(() => matchingAwareDLoss('hinge', { real: tensor(real), wrong: null, fake: tensor(fake) }, 0.5)),
      /wrong-text weight 0.5 without wrong-text scores/,
    );
  });
});

describe('the WGAN-GP gradient penalty (Gulrajani et al. 2017, Eq. 3)', () => {
  test('a linear critic: (‖w‖ - 1)² wherever it is evaluated, and its gradient in w', () => {
    tidy(() => {
      // f(x) = Σ w·x with ‖w‖ = 2 (four entries of 1): the penalty is (2 - 1)² = 1.
      const w = tensor([1, 1, 1, 1], { shape: [1, 1, 2, 2] }).requiresGrad_(true);
      const real = rand([3, 1, 2, 2]);
      const fake = rand([3, 1, 2, 2]);
      const gp = gradientPenalty((x) => x.mul(w).flatten(1).sum(1), real, fake, new Generator(7));
      close(gp.item(), 1, 'penalty');
      // d/dw (‖w‖ - 1)² = 2 (‖w‖ - 1) w / ‖w‖ = w: double backward through grad().
      gp.backward();
      assert.deepEqual(Array.from(w.grad!.toFloat32Array()), [1, 1, 1, 1]);
    });
  });

  test('a quadratic critic sees the random interpolation points x̂ = real + α (fake - real)', () => {
    tidy(() => {
      // f(x) = ½ Σ x²: ∇f(x̂) = x̂, so the penalty is mean_i (‖x̂_i‖ - 1)² with x̂_i = α_i · fake_i from 0.
      const fake = tensor([3, 4, 0, 1, 1, 1, 0, 0.5], { shape: [2, 1, 2, 2] });
      const real = tensor([0, 0, 0, 0, 0, 0, 0, 0], { shape: [2, 1, 2, 2] });
      const alpha = Array.from(rand([2, 1, 1, 1], { generator: new Generator(11) }).toFloat32Array());
      const got = gradientPenalty((x) => x.square().flatten(1).sum(1).mul(0.5), real, fake, new Generator(11)).item();
      const norms = [Math.sqrt(26), 1.5];
      close(got, mean(norms.map((n, i) => (alpha[i]! * n - 1) ** 2)), 'penalty', 1e-5);
      // And the float16 loss scale divides back out.
      const scaled = gradientPenalty((x) => x.square().flatten(1).sum(1).mul(0.5), real, fake, new Generator(11), 1024);
      close(scaled.item(), got, 'with loss scale 1024', 1e-5);
    });
  });
});

describe('the generator EMA (shadow ← d · shadow + (1 - d) · source)', () => {
  test('parameters follow the formula over two updates; buffers are copied', () => {
    const build = (): Sequential => new Sequential(new Conv2d(1, 2, 1), new BatchNorm2d(2));
    const G = build();
    const ema = new ExponentialMovingAverage(G, build, 0.9);
    const w0 = G.namedParameters().map(([k, p]) => [k, Array.from(p.toFloat32Array())] as const);
    const shadowOf = (k: string): Float32Array => new Map(ema.shadow.namedParameters()).get(k)!.toFloat32Array();
    for (const [k, v] of w0) assert.deepEqual(Array.from(shadowOf(k)), v, `${k} starts equal`);
    // Two updates after moving the source: s1 = .9 w0 + .1 w1, s2 = .9 s1 + .1 w2.
    const moves: number[][] = [];
    const expected = new Map(w0.map(([k, v]) => [k, v.slice()]));
    for (const [step, delta] of [1, -3].entries()) {
      noGrad(() => {
        for (const [k, p] of G.namedParameters()) {
          tidy(() => p.copy_(p.add(delta)));
          const wNow = Array.from(p.toFloat32Array());
          moves.push(wNow);
          expected.set(
            k,
            expected.get(k)!.map((s, i) => 0.9 * s + 0.1 * wNow[i]!),
          );
        }
        // A batch-norm statistic moves too: the shadow copies it, it does not average it.
        const rm = new Map(G.namedBuffers()).get('1.running_mean')!;
        tidy(() => rm.copy_(rm.add(delta * 10)));
      });
      ema.update(step);
    }
    for (const [k] of w0) {
      const got = Array.from(shadowOf(k));
      const want = expected.get(k)!;
      got.forEach((g, i) => close(g, want[i]!, `${k}[${i}]`, 1e-6));
    }
    const rm = new Map(ema.shadow.namedBuffers()).get('1.running_mean')!;
    assert.deepEqual(Array.from(rm.toFloat32Array()), [-20, -20]);
    assert.throws(() => new ExponentialMovingAverage(G, build, 1), /decay must be in \(0, 1\)/);
    G.dispose();
    ema.shadow.dispose();
  });

  test('with warm-up the decay is min(decay, (1 + t) / (10 + t)): the first update moves the shadow 90 % of the way', () => {
    const build = (): Sequential => new Sequential(new Conv2d(1, 2, 1));
    const G = build();
    const ema = ExponentialMovingAverage.fromConfig(G, build, { ema: 0.999, emaWarmup: true })!;
    assert.equal(ema.decayAt(0), 0.1);
    assert.equal(ema.decayAt(90), 0.91);
    assert.equal(ema.decayAt(10_000), 0.999); // (1 + t) / (10 + t) passes 0.999 at t = 8,991
    const w0 = Array.from(G.namedParameters()[0]![1].toFloat32Array());
    noGrad(() => tidy(() => G.namedParameters()[0]![1].copy_(G.namedParameters()[0]![1].add(1))));
    ema.update(0);
    const got = Array.from(ema.shadow.namedParameters()[0]![1].toFloat32Array());
    got.forEach((g, i) => close(g, 0.1 * w0[i]! + 0.9 * (w0[i]! + 1), `[${i}]`, 1e-6));
    // Off (the default), the configured decay from the first step; 0 builds no average.
    const plain = ExponentialMovingAverage.fromConfig(G, build, { ema: 0.999, emaWarmup: false })!;
    assert.equal(plain.decayAt(0), 0.999);
    assert.equal(ExponentialMovingAverage.fromConfig(G, build, { ema: 0, emaWarmup: true }), null);
    G.dispose();
    ema.shadow.dispose();
    plain.shadow.dispose();
  });
});

describe('minibatch discrimination (Salimans et al. 2016, §3.2)', () => {
  test('a small case by hand: o(x_i)_b = Σ_{j≠i} exp(-‖M_i,b - M_j,b‖₁)', () => {
    const md = new MinibatchDiscrimination(2, 2, 2);
    // T maps f = (a, b) to M = (a, b | b, a): kernel 0 sees (a, b), kernel 1 sees (b, a).
    noGrad(() => tidy(() => md.T.copy_(tensor([1, 0, 0, 1, 0, 1, 1, 0], { shape: [2, 4] }))));
    tidy(() => {
      const f = tensor([1, 0, 0, 1, 1, 1], { shape: [3, 2] });
      const out = md.forward(f);
      assert.deepEqual(out.shape, [3, 4]);
      // L1 distances, either kernel: d(1,2) = 2, d(1,3) = 1, d(2,3) = 1.
      const e1 = Math.exp(-1);
      const e2 = Math.exp(-2);
      const want = [
        [1, 0, e2 + e1, e2 + e1],
        [0, 1, e2 + e1, e2 + e1],
        [1, 1, 2 * e1, 2 * e1],
      ];
      const got = out.toArray() as number[][];
      got.forEach((row, i) => row.forEach((v, j) => close(v, want[i]![j]!, `out[${i}][${j}]`)));
    });
    md.dispose();
  });
});

test('frees what it made', () => assert.equal(liveTensors(), START));
