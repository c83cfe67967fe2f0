// DF-GAN's parts (issue 18) against what the paper and its official code say: the fusion's affine
// transforms start as the identity, the channel layouts, shapes and ranges of G and D, the residual
// down-blocks' zero-initialised branch, and the matching-aware gradient penalty against a critic whose
// gradients are known in closed form.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  Generator,
  cat,
  liveTensors,
  manualSeed,
  noGrad,
  randn,
  tensor,
  tidy,
  type Tensor,
} from '../../src/engine/index.js';
import {
  Affine,
  DFBlock,
  DfDiscriminator,
  DfGenerator,
  discriminatorChannels,
  generatorChannels,
  growDiscriminator,
  growGenerator,
} from '../../src/models/dfgan/index.js';
import { F } from '../../src/engine/index.js';
import { init, type Module } from '../../src/nn/index.js';
import { matchingAwareGradientPenalty, matchingAwarePenaltyOf } from '../../src/train/losses.js';

const START = liveTensors();
const maxAbs = (a: Tensor, b: Tensor): number => tidy(() => a.sub(b).abs().max().item());

describe('DF-GAN', () => {
  test('fusion: every affine transform is the identity at the start; DFBlock is then two LeakyReLUs', () => {
    manualSeed(1);
    const a = new Affine(8, 5);
    const f = new DFBlock(8, 5);
    tidy(() => {
      const x = randn([3, 5, 4, 4]);
      const c = randn([3, 8]);
      assert.equal(maxAbs(a.forward(x, c), x), 0);
      assert.ok(maxAbs(f.forward(x, c), x.leakyRelu(0.2).leakyRelu(0.2)) < 1e-6);
      // Once γ's last layer is trained away from zero, the condition acts, per sample and channel.
      noGrad(() => init.normal_(a.gamma.linear2.weight, 0, 1));
      const y = a.forward(x, c);
      const c2 = c.flip(0);
      assert.ok(maxAbs(y, a.forward(x, c2)) > 1e-3, 'another condition, another output');
    });
    a.dispose();
    f.dispose();
  });

  test("channel layouts follow the official code's get_G/D_in_out_chs", () => {
    assert.deepEqual(generatorChannels(32, 64), [256, 256, 128, 64, 32]);
    assert.deepEqual(generatorChannels(32, 256), [256, 256, 256, 256, 128, 64, 32]);
    assert.deepEqual(discriminatorChannels(32, 64), [32, 64, 128, 256, 256]);
    assert.deepEqual(discriminatorChannels(32, 256), [32, 64, 128, 256, 256, 256, 256]);
    assert.throws(() => generatorChannels(32, 48), /2\^k/);
  });

  test('grown layouts: the official one up to the base side, nf channels per block above it', () => {
    assert.deepEqual(generatorChannels(32, 128, 64), [256, 256, 128, 64, 32, 32]);
    assert.deepEqual(generatorChannels(32, 256, 64), [256, 256, 128, 64, 32, 32, 32]);
    assert.deepEqual(discriminatorChannels(32, 128, 64), [32, 32, 64, 128, 256, 256]);
    assert.deepEqual(generatorChannels(32, 64, 64), generatorChannels(32, 64));
    assert.throws(() => generatorChannels(32, 64, 128), /cannot grow from 128/);
    assert.throws(() => generatorChannels(32, 96, 64), /cannot grow/);
  });

  test("growing: the kept weights are the small model's; new G blocks start as up-sampling, new D blocks as pooling", () => {
    manualSeed(4);
    const o = { noiseDim: 8, condDim: 6, width: 2 };
    const G16 = new DfGenerator({ ...o, resolution: 16 });
    const D16 = new DfDiscriminator({ width: 3, resolution: 16, condDim: 6 });
    // Train-like weights: every residual branch and affine transform away from its initial value.
    const perturb = (m: Module): void =>
      noGrad(() => m.parameters().forEach((p) => tidy(() => p.copy_(p.add(randn(p.shape).mul(0.1))))));
    perturb(G16);
    perturb(D16);
    const G64 = new DfGenerator({ ...o, resolution: 64, baseResolution: 16 });
    const D64 = new DfDiscriminator({ width: 3, resolution: 64, condDim: 6, baseResolution: 16 });
    growGenerator(G64, G16.o, G16.stateDict());
    growDiscriminator(D64, { generator: G16.o, discriminatorWidth: 3 }, D16.stateDict());
    const same = (a: Module, prefixA: string, b: Module, prefixB: string): void => {
      const sa = a.stateDict();
      for (const [k, t] of b.stateDict()) {
        const mine = sa.get(k.replace(prefixB, prefixA))!;
        assert.equal(maxAbs(mine, t), 0, k);
      }
    };
    same(G64, '', G16, '');
    for (let i = 0; i < D16.encoder.blocks.length; i++)
      same(D64.encoder.blocks[i + 2]!, '', D16.encoder.blocks[i]!, '');
    same(D64.head, '', D16.head, '');
    same(D64.encoder.stem, '', D16.encoder.stem, '');
    tidy(() => {
      const x = randn([2, 2, 16, 16]);
      const c = randn([2, 14]);
      for (const b of G64.blocks.slice(2))
        assert.equal(maxAbs(b.forward(x, c), F.interpolate(x, { scaleFactor: 2 })), 0);
      const h = randn([2, 3, 32, 32]);
      for (const b of D64.encoder.blocks.slice(0, 2))
        assert.ok(maxAbs(b.forward(h), h.reshape(2, 3, 16, 2, 16, 2).mean([3, 5])) < 1e-6);
      const { images } = G64.forward(randn([2, 8]), randn([2, 6]));
      assert.deepEqual(images.shape, [2, 3, 64, 64]);
      assert.deepEqual(D64.forward(images, randn([2, 6])).shape, [2]);
    });
    // Layouts that cannot grow into each other are refused, naming what differs.
    const wide = new DfGenerator({ ...o, width: 4, resolution: 32, baseResolution: 16 });
    assert.throws(() => growGenerator(wide, G16.o, G16.stateDict()), /generator width 4 here, 2 there/);
    const based = new DfGenerator({ ...o, resolution: 64, baseResolution: 32 });
    assert.throws(() => growGenerator(based, G16.o, G16.stateDict()), /base side 32 here, 16 there/);
    const wideD = new DfDiscriminator({ width: 4, resolution: 32, condDim: 6, baseResolution: 16 });
    assert.throws(
      () => growDiscriminator(wideD, { generator: G16.o, discriminatorWidth: 3 }, D16.stateDict()),
      /discriminator width 4 here, 3 there/,
    );
    for (const m of [G16, D16, G64, D64, wide, based, wideD]) m.dispose();
  });

  test('G: noise and sentence in, [B, 3, R, R] in [-1, 1] out, at 64 and 128 px; text has no effect until trained', () => {
    manualSeed(2);
    for (const resolution of [64, 128]) {
      const G = new DfGenerator({ noiseDim: 16, condDim: 12, width: 4, resolution });
      assert.equal(G.blocks.length, Math.log2(resolution) - 2);
      tidy(() => {
        const z = randn([2, 16]);
        const { images } = G.forward(z, randn([2, 12]));
        assert.deepEqual(images.shape, [2, 3, resolution, resolution]);
        assert.ok(images.abs().max().item() <= 1);
        assert.equal(maxAbs(images, G.forward(z, randn([2, 12])).images), 0, 'identity fusion: the text is ignored');
      });
      G.dispose();
    }
  });

  test('D: a score per image; each down-block starts as its pooled shortcut (γ = 0); the sentence reaches the score', () => {
    manualSeed(3);
    const D = new DfDiscriminator({ width: 4, resolution: 64, condDim: 12 });
    assert.deepEqual(D.encoder.channels, [4, 8, 16, 32, 32]);
    tidy(() => {
      const x = randn([2, 3, 64, 64]);
      const s = randn([2, 12]);
      const score = D.forward(x, s);
      assert.deepEqual(score.shape, [2]);
      assert.ok(maxAbs(score, D.forward(x, randn([2, 12]))) > 1e-6, 'another sentence, another score');
      assert.deepEqual(D.encoder.forward(x).shape, [2, 32, 4, 4]);
      const b = D.encoder.blocks[3]!; // 32 → 32: no shortcut convolution
      const h = randn([2, 32, 8, 8]);
      assert.ok(maxAbs(b.forward(h), h.reshape(2, 32, 4, 2, 4, 2).mean([3, 5])) < 1e-6);
    });
    D.dispose();
  });

  test('matching-aware gradient penalty: k·‖(∇ₓD, ∇ₑD)‖₂^p for a linear critic, and its gradient reaches D', () => {
    // D(x, e) = Σ wₓ·x + Σ wₑ·e: the gradients are wₓ and wₑ whatever the input, so the penalty is
    // k (‖wₓ‖² + ‖wₑ‖²)^(p/2) and its derivative with respect to wₓ is k·p·(‖wₓ‖² + ‖wₑ‖²)^(p/2 − 1)·wₓ.
    const wx = tensor([0.1, -0.2, 0.3, 0.05], { shape: [1, 1, 2, 2] }).requiresGrad_(true);
    const we = tensor([0.2, 0.1, -0.1], { shape: [1, 3] }).requiresGrad_(true);
    const critic = (x: Tensor, e: Tensor): Tensor =>
      tidy(() =>
        x
          .mul(wx)
          .sum([1, 2, 3])
          .add(e.mul(we).sum([1])),
      );
    const sq = [0.1, -0.2, 0.3, 0.05, 0.2, 0.1, -0.1].reduce((a, v) => a + v * v, 0);
    const g = new Generator(4);
    tidy(() => {
      const real = randn([5, 1, 2, 2], { generator: g });
      const sent = randn([5, 3], { generator: g });
      const penalty = matchingAwareGradientPenalty(critic, real, sent);
      const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
      assert.ok(rel(penalty.item(), 2 * sq ** 3) < 1e-5, `${penalty.item()} vs ${2 * sq ** 3}`);
      const p4 = matchingAwareGradientPenalty(critic, real, sent, { k: 1, p: 4 });
      assert.ok(rel(p4.item(), sq ** 2) < 1e-5, `${p4.item()} vs ${sq ** 2}`);
      penalty.backward();
      const want = [0.1, -0.2, 0.3, 0.05].map((w) => 2 * 6 * sq ** 2 * w);
      const got = Array.from(wx.grad!.flatten().toArray() as number[]);
      got.forEach((v, i) => assert.ok(rel(v, want[i]!) < 1e-4, `∂/∂wₓ[${i}]: ${v} vs ${want[i]}`));
    });
    wx.dispose();
    we.dispose();
  });

  test("D's step in one call: rows of D over a concatenated batch equal D over each part, and the penalty from that real pass equals the penalty's own", () => {
    const D = new DfDiscriminator({ width: 4, resolution: 64, condDim: 12 });
    const g = new Generator(7);
    tidy(() => {
      // γ of each block is 0 at the start (its residual is off): set it so every layer counts.
      for (const [name, p] of D.namedParameters()) if (name.endsWith('gamma')) noGrad(() => p.fill_(0.5));
      const real = randn([3, 3, 64, 64], { generator: g });
      const fake = randn([3, 3, 64, 64], { generator: g });
      const e = randn([3, 12], { generator: g });
      const x = real.detach().requiresGrad_(true);
      const ex = e.detach().requiresGrad_(true);
      const scores = D.forward(cat([x, fake, real.narrow(0, 1, 2)], 0), cat([ex, e, e.narrow(0, 0, 2)], 0));
      const apart = [D.forward(real, e), D.forward(fake, e), D.forward(real.narrow(0, 1, 2), e.narrow(0, 0, 2))];
      const joined = cat(apart, 0);
      assert.ok(scores.sub(joined).abs().max().item() < 1e-5, 'no batch coupling in D');
      const fromPass = matchingAwarePenaltyOf(scores.narrow(0, 0, 3), x, ex, { k: 2, p: 6 }).item();
      const own = matchingAwareGradientPenalty((a, b) => D.forward(a, b), real, e, { k: 2, p: 6 }).item();
      assert.ok(Math.abs(fromPass - own) <= 1e-4 * Math.abs(own), `${fromPass} vs ${own}`);
      assert.ok(own > 0);
    });
    D.dispose();
  });

  test('no tensor is left behind', () => assert.equal(liveTensors(), START));
});
