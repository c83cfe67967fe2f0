// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
// every image the discriminator sees, real or generated, in the D step and in the G step, goes
// through the same kind of random, differentiable transform, so D cannot memorise a small training
// set and G still gets gradients through it. Translation and cutout only, as the paper's policy for
// small data; no colour transform, because for tag and caption models colour is the label.
import { F, noGrad, rand, tensor, type Generator, type Tensor } from '../../engine/index.js';

export interface DiffAugmentOptions {
  /** Translation by up to this fraction of the side, zero-filled (the paper's 1/8). 0: off. */
  translation?: number;
  /** A square of this fraction of the side, at a random centre, set to zero (the paper's 1/2). 0: off. */
  cutout?: number;
  /** Where the random offsets come from (a run's own generator, for exact resumes). */
  generator?: Generator;
}

/** Uniform integers in [low, high) from one draw of the generator, as numbers. */
function randomInts(n: number, low: number, high: number, generator?: Generator): number[] {
  using u = noGrad(() => rand([n], generator ? { generator } : {}));
  return Array.from(u.toFloat32Array(), (v) => Math.min(high - 1, low + Math.floor(v * (high - low))));
}

/**
 * x [B, C, H, W] shifted per image by (dx, dy) in [-s, s] with s = round(ratio · side), the
 * uncovered border zero: one gather from the zero-padded batch.
 */
export function translate(x: Tensor, ratio: number, generator?: Generator): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const sx = Math.floor(h * ratio + 0.5);
  const sy = Math.floor(w * ratio + 0.5);
  const dx = randomInts(b, -sx, sx + 1, generator);
  const dy = randomInts(b, -sy, sy + 1, generator);
  const hp = h + 2;
  const wp = w + 2;
  const index = new BigInt64Array(b * h * w);
  let k = 0;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h; i++) {
      const si = Math.min(hp - 1, Math.max(0, i + dx[n]! + 1));
      for (let j = 0; j < w; j++) {
        const sj = Math.min(wp - 1, Math.max(0, j + dy[n]! + 1));
        index[k++] = BigInt(n * hp * wp + si * wp + sj);
      }
    }
  using idx = tensor(index, { shape: [b * h * w], device: x.device });
  using padded = F.pad(x, [1, 1, 1, 1]);
  // Pixels as rows of C values (free for a channels-last batch), gathered, back to [B, C, H, W].
  using nhwcPadded = padded.permute(0, 2, 3, 1);
  using rows = nhwcPadded.reshape(b * hp * wp, c);
  using picked = rows.indexSelect(0, idx);
  using nhwc = picked.reshape(b, h, w, c);
  return nhwc.permute(0, 3, 1, 2);
}

/** x with a square of side round(ratio · side) per image set to zero, centred anywhere (clipped at the border). */
export function cutout(x: Tensor, ratio: number, generator?: Generator): Tensor {
  const [b, , h, w] = x.shape as [number, number, number, number];
  const ch = Math.floor(h * ratio + 0.5);
  const cw = Math.floor(w * ratio + 0.5);
  const ox = randomInts(b, 0, h + (1 - (ch % 2)), generator);
  const oy = randomInts(b, 0, w + (1 - (cw % 2)), generator);
  const mask = new Float32Array(b * h * w).fill(1);
  for (let n = 0; n < b; n++) {
    const x0 = Math.max(0, ox[n]! - Math.floor(ch / 2));
    const x1 = Math.min(h, ox[n]! - Math.floor(ch / 2) + ch);
    const y0 = Math.max(0, oy[n]! - Math.floor(cw / 2));
    const y1 = Math.min(w, oy[n]! - Math.floor(cw / 2) + cw);
    for (let i = x0; i < x1; i++) mask.fill(0, n * h * w + i * w + y0, n * h * w + i * w + y1);
  }
  using m = tensor(mask, { shape: [b, 1, h, w], device: x.device });
  using typed = m.to(x.dtype);
  return x.mul(typed);
}

/** The DiffAugment policy 'translation,cutout' (either may be switched off with a ratio of 0). */
export function diffAugment(x: Tensor, o: DiffAugmentOptions = {}): Tensor {
  const t = o.translation ?? 0.125;
  const c = o.cutout ?? 0.5;
  if (t < 0 || t >= 1 || c < 0 || c >= 1)
    throw new RangeError(`DiffAugment ratios must be in [0, 1): translation ${t}, cutout ${c}`);
  let y = t > 0 ? translate(x, t, o.generator) : x.alias();
  if (c > 0) {
    const z = cutout(y, c, o.generator);
    y.dispose();
    y = z;
  }
  return y;
}
