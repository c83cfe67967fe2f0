// Adversarial objectives a config can choose, written per term so that conditional models can
// weigh (real, right text), (real, wrong text) and (fake, right text) separately:
//   non-saturating (Goodfellow et al. 2014), hinge (Lim & Ye 2017; Miyato et al. 2018),
//   Wasserstein (Arjovsky et al. 2017) with gradient penalty (Gulrajani et al. 2017), and
//   least squares (Mao et al. 2017).
import { F, cat, fullLike, grad, noGrad, rand, tidy, type Generator, type Tensor } from '../engine/index.js';
import type { Optimizer } from '../optim/index.js';
import type { MixedPrecision } from './precision.js';

export const ADVERSARIAL_LOSSES = ['nonsaturating', 'hinge', 'wasserstein', 'least-squares'] as const;
export type AdversarialLoss = (typeof ADVERSARIAL_LOSSES)[number];

/**
 * Discriminator loss for scores that should read "real" (mean over the batch). `realLabel` < 1 is
 * one-sided label smoothing (Salimans et al. 2016): only the real target is softened.
 */
export function dRealLoss(kind: AdversarialLoss, score: Tensor, realLabel = 1): Tensor {
  if (realLabel !== 1 && (kind === 'hinge' || kind === 'wasserstein'))
    throw new RangeError(
      `loss.realLabel ${realLabel}: one-sided label smoothing is not defined for the ${kind} loss ` +
        `(it has no target label); use 1, or the nonsaturating or least-squares loss`,
    );
  switch (kind) {
    case 'nonsaturating': {
      using target = fullLike(score, realLabel);
      return F.bceWithLogits(score, target);
    }
    case 'hinge': {
      using m = score.rsub(1);
      using r = m.relu();
      return r.mean();
    }
    case 'wasserstein':
      return negMean(score);
    case 'least-squares': {
      using d = score.sub(realLabel);
      using sq = d.square();
      using m = sq.mean();
      return m.mul(0.5);
    }
  }
}

/** Discriminator loss for scores that should read "fake" (fake images, or real ones with wrong text). */
export function dFakeLoss(kind: AdversarialLoss, score: Tensor): Tensor {
  switch (kind) {
    case 'nonsaturating': {
      using target = fullLike(score, 0);
      return F.bceWithLogits(score, target);
    }
    case 'hinge': {
      using m = score.add(1);
      using r = m.relu();
      return r.mean();
    }
    case 'wasserstein':
      return score.mean();
    case 'least-squares': {
      using sq = score.square();
      using m = sq.mean();
      return m.mul(0.5);
    }
  }
}

/** Generator loss on the discriminator's scores of fakes. */
export function gLoss(kind: AdversarialLoss, score: Tensor): Tensor {
  switch (kind) {
    case 'nonsaturating': {
      // -log D(G(z)) rather than log(1 - D(G(z))): strong gradients early in training.
      using target = fullLike(score, 1);
      return F.bceWithLogits(score, target);
    }
    case 'hinge':
    case 'wasserstein':
      return negMean(score);
    case 'least-squares': {
      using d = score.sub(1);
      using sq = d.square();
      using m = sq.mean();
      return m.mul(0.5);
    }
  }
}

/**
 * GAN-CLS's matching-aware discriminator loss (Reed et al. 2016, Algorithm 1): (real image, right
 * text) is real; (real image, wrong text) and (fake image, right text) are both fake, weighted
 * wrongWeight and 1 − wrongWeight (the paper: ½ each). Without wrong-text scores it is the plain
 * conditional loss.
 */
export function matchingAwareDLoss(
  kind: AdversarialLoss,
  scores: { real: Tensor; wrong: Tensor | null; fake: Tensor },
  wrongWeight: number,
  realLabel = 1,
): Tensor {
  if (!(wrongWeight >= 0 && wrongWeight < 1))
    throw new RangeError(`wrong-text weight must be in [0, 1), got ${wrongWeight}`);
  if (wrongWeight > 0 && scores.wrong === null)
    throw new TypeError(`matchingAwareDLoss: wrong-text weight ${wrongWeight} without wrong-text scores`);
  using real = dRealLoss(kind, scores.real, realLabel);
  using fake = dFakeLoss(kind, scores.fake);
  if (wrongWeight === 0) return real.add(fake);
  using wrong = dFakeLoss(kind, scores.wrong!);
  using a = real.add(wrong, wrongWeight);
  return a.add(fake, 1 - wrongWeight);
}

function negMean(score: Tensor): Tensor {
  using m = score.mean();
  return m.neg();
}

/**
 * WGAN-GP's penalty (Gulrajani et al. 2017, Eq. 3): E[(‖∇x̂ D(x̂)‖₂ − 1)²] at random points x̂ on
 * lines between real and fake samples. `critic` maps images to per-sample scores (for conditional
 * critics: with the matching text). Differentiable (double backward) so it trains D. `lossScale`
 * (float16 loss scaling) scales the scores before grad() so that small input gradients survive
 * float16, and the gradients back after.
 */
export function gradientPenalty(
  critic: (x: Tensor) => Tensor,
  real: Tensor,
  fake: Tensor,
  generator?: Generator,
  lossScale = 1,
): Tensor {
  const n = real.size(0);
  using alpha = rand([n, 1, 1, 1], { device: real.device, ...(generator ? { generator } : {}) });
  using d = fake.sub(real);
  using step = d.mul(alpha);
  using x0 = real.add(step);
  using x = x0.detach().requiresGrad_(true);
  using s = critic(x);
  using sum = s.sum();
  using total = sum.mul(lossScale);
  const [g] = grad(total, x, { createGraph: true });
  using scaled = g!;
  using gr = scaled.div(lossScale);
  using flat = gr.flatten(1);
  using norms = flat.norm(2, 1);
  using dev = norms.sub(1);
  using sq = dev.square();
  return sq.mean();
}

/**
 * DF-GAN's matching-aware gradient penalty (Tao et al. 2022, Eq. 4): k · E[(‖∇ₓD(x, e)‖₂ +
 * ‖∇ₑD(x, e)‖₂)^p] on real images x with their own sentence embeddings e, as the official code
 * computes it: one L2 norm over the gradients with respect to the image and the sentence joined, then
 * raised to p (k = 2, p = 6). It smooths D around the real, matching pairs so that G's images are
 * pulled towards them. `critic` maps (images, sentences) to per-sample scores. Differentiable.
 */
export function matchingAwareGradientPenalty(
  critic: (x: Tensor, e: Tensor) => Tensor,
  real: Tensor,
  sentence: Tensor,
  o: { k?: number; p?: number } = {},
): Tensor {
  using x = real.detach().requiresGrad_(true);
  using e = sentence.detach().requiresGrad_(true);
  using s = critic(x, e);
  return matchingAwarePenaltyOf(s, x, e, o);
}

/**
 * The same penalty from scores D already computed on (x, e), leaves that require gradients: D's
 * real pass then serves both the hinge term and the penalty, as the official code does it.
 */
export function matchingAwarePenaltyOf(
  scores: Tensor,
  x: Tensor,
  e: Tensor,
  o: { k?: number; p?: number } = {},
): Tensor {
  using sum = scores.sum();
  const [gx, ge] = grad(sum, [x, e], { createGraph: true });
  using a = gx!;
  using b = ge!;
  using fa = a.flatten(1);
  using fb = b.flatten(1);
  using joined = cat([fa, fb], 1);
  using norms = joined.norm(2, 1);
  using pow = norms.pow(o.p ?? 6);
  using m = pow.mean();
  return m.mul(o.k ?? 2);
}

/** Global L2 norm of the gradients of some parameters (0 when none has a gradient). */
export function gradNorm(params: readonly Tensor[]): number {
  let sum = 0;
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    using n = g.norm();
    sum += n.item() ** 2;
    g.dispose();
  }
  return Math.sqrt(sum);
}

/**
 * One update from a loss: zero the optimizer's gradients, back-propagate, step, and free the loss;
 * when logging, the gradient norm goes under grad/<name> and the loss under loss/<name>. Under
 * float16 loss scaling the scaled loss is back-propagated and an overflowing step is skipped.
 */
export function minimize(
  opt: Optimizer,
  loss: Tensor,
  name: string,
  scalars: Record<string, number>,
  logging: boolean,
  precision: MixedPrecision,
): void {
  try {
    opt.zeroGrad();
    const overflow = precision.backward(loss, opt);
    // An overflowed float16 step is skipped (and the loss scale lowered): its norm is inf.
    if (logging && !overflow) scalars[`grad/${name}`] = gradNorm(opt.params);
    if (!overflow) opt.step();
    if (logging) scalars[`loss/${name}`] = loss.item();
  } finally {
    loss.dispose();
  }
}

/** For logging: the mean probability "real" under the non-saturating loss, the mean raw score otherwise. */
export function meanScore(kind: AdversarialLoss, score: Tensor): number {
  return noGrad(() => {
    using v = kind === 'nonsaturating' ? score.sigmoid() : score.alias();
    using m = v.mean();
    return m.item();
  });
}

/**
 * Mode seeking (Mao et al. 2019, MSGAN): for two latents z₁, z₂ under one condition c,
 *   L_ms = 1 / (mean|G(c, z₁) − G(c, z₂)| / mean|z₁ − z₂| + ε),
 * added to G's loss with a weight: G pays when different noise draws the same image.
 */
export function modeSeekingLoss(fake1: Tensor, fake2: Tensor, z1: Tensor, z2: Tensor, eps = 1e-5): Tensor {
  return tidy(() => {
    const images = fake1.sub(fake2).abs().mean();
    const latents = z1.sub(z2).abs().mean();
    return images.div(latents).add(eps).reciprocal();
  });
}

/**
 * `loss` + weight·L_ms over a batch whose halves share their conditions (images and latents row i
 * paired with row i + n/2), as a new tensor; `loss` is consumed. Logs L_ms as G/ms.
 */
export function addModeSeeking(
  loss: Tensor,
  fake: Tensor,
  z: Tensor,
  weight: number,
  scalars: Record<string, number>,
  logging: boolean,
): Tensor {
  try {
    const h = fake.size(0) / 2;
    using f1 = fake.narrow(0, 0, h);
    using f2 = fake.narrow(0, h, h);
    using z1 = z.narrow(0, 0, h);
    using z2 = z.narrow(0, h, h);
    using lms = modeSeekingLoss(f1, f2, z1, z2);
    if (logging) scalars['G/ms'] = lms.item();
    return loss.add(lms, weight);
  } finally {
    loss.dispose();
  }
}

/** Σ wₖ·termₖ as a new tensor (the terms stay the caller's). */
export function weightedSum(terms: Tensor[], weights: number[]): Tensor {
  let total = terms[0]!.mul(weights[0]!);
  for (let k = 1; k < terms.length; k++) {
    const next = total.add(terms[k]!, weights[k]!);
    total.dispose();
    total = next;
  }
  return total;
}
