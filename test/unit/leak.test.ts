// 1,000 training steps of a small conditional GAN must not leak a single tensor handle.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  F,
  Generator,
  cat,
  grad,
  liveTensors,
  manualSeed,
  ones,
  randint,
  randn,
  tidy,
  zeros,
} from '../../src/engine/index.js';
import {
  BatchNorm1d,
  Embedding,
  LeakyReLU,
  Linear,
  Module,
  ReLU,
  Sequential,
  Tanh,
  spectralNorm,
} from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import type { Tensor } from '../../src/engine/index.js';

const CLASSES = 4;

/** Conditional generator: noise + class embedding -> a point in 2-D. */
class G extends Module {
  readonly embed = this.module('embed', new Embedding(CLASSES, 8));
  readonly net = this.module(
    'net',
    new Sequential(new Linear(16 + 8, 64), new BatchNorm1d(64), new ReLU(), new Linear(64, 2), new Tanh()),
  );
  forward(z: Tensor, y: Tensor): Tensor {
    return tidy(() => this.net.forward(cat([z, this.embed.forward(y)], 1)));
  }
}

/** Matching-aware discriminator: scores (point, class) pairs. */
class D extends Module {
  readonly embed = this.module('embed', new Embedding(CLASSES, 8));
  readonly net = this.module(
    'net',
    new Sequential(spectralNorm(new Linear(2 + 8, 64)), new LeakyReLU(0.2), spectralNorm(new Linear(64, 1))),
  );
  forward(x: Tensor, y: Tensor): Tensor {
    return tidy(() => this.net.forward(cat([x, this.embed.forward(y)], 1)));
  }
}

test('1,000 cGAN steps (with WGAN-GP penalty every 10th) keep the live-tensor count constant', () => {
  manualSeed(0);
  const gen = new Generator(1);
  const g = new G();
  const d = new D();
  const optG = new Adam(g.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const optD = new Adam(d.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const batch = 32;
  const counts: number[] = [];
  let lastLoss = NaN;

  for (let step = 0; step < 1000; step++) {
    tidy(() => {
      const y = randint(0, CLASSES, [batch], { generator: gen });
      // Real data: class c sits at angle 2*pi*c/4 on the unit circle, with a little noise.
      const angle = y.float().mul((2 * Math.PI) / CLASSES);
      const real = cat([angle.cos().unsqueeze(1), angle.sin().unsqueeze(1)], 1).add(
        randn([batch, 2], { generator: gen }).mul(0.05),
      );
      const z = randn([batch, 16], { generator: gen });
      const fake = g.forward(z, y);

      const lossD = tidy(() => {
        const onesT = ones([batch, 1]);
        const zerosT = zeros([batch, 1]);
        // A mismatched condition: the next class (wrapping round).
        const shifted = y.add(1);
        const wrong = shifted.ge(CLASSES).where(shifted.sub(CLASSES), shifted);
        let loss = F.bceWithLogits(d.forward(real, y), onesT.mul(0.9)) // one-sided label smoothing
          .add(F.bceWithLogits(d.forward(fake.detach(), y), zerosT))
          .add(F.bceWithLogits(d.forward(real, wrong), zerosT));
        if (step % 10 === 0) {
          const x = real.detach().requiresGrad_();
          const [gx] = grad(d.forward(x, y).sum(), x, { createGraph: true });
          loss = loss.add(gx!.norm(2, 1).sub(1).square().mean().mul(10));
        }
        return loss;
      });
      optD.backwardStep(lossD);

      const lossG = F.bceWithLogits(d.forward(fake, y), ones([batch, 1]));
      optG.backwardStep(lossG);
      lastLoss = lossG.item();
    });
    if (step >= 10) counts.push(liveTensors());
  }
  assert.ok(Number.isFinite(lastLoss), 'losses stay finite');
  assert.equal(
    Math.min(...counts),
    Math.max(...counts),
    `live tensors varied: ${Math.min(...counts)}..${Math.max(...counts)}`,
  );
  optG.dispose();
  optD.dispose();
  g.dispose();
  d.dispose();
});
