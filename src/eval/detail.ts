// Fine detail: what an image holds above a coarser side. Each image minus its copy average-pooled to
// `base` px and enlarged back (nearest), the mean of the squares: 0 (up to rounding) for an image that
// is a `base` px image enlarged, and large for feathers, texture and noise alike. Our DAMSM image encoder
// reads 64 px (larger images are pooled to it), so R-precision, FID and KID of a 256 px stage see
// none of this; set against the same figure of real images at the same side, it says how much of the
// real images' fine detail a stage draws (a Stage II that only enlarges its Stage I scores 0). Stripes
// and noise count as detail too, so it is read beside the samples, never alone.
import { F, noGrad, tidy, type Tensor } from '../engine/index.js';

/** Per-image mean squared detail above `base` px of images [B, C, s, s] (s a multiple of base > base). */
export function detailEnergy(images: Tensor, base: number): number[] {
  if (images.rank !== 4) throw new RangeError(`expected images [B, C, H, W], got [${images.shape.join(', ')}]`);
  const [, , h, w] = images.shape as [number, number, number, number];
  const k = h / base;
  if (h !== w || !Number.isInteger(k) || k < 2)
    throw new RangeError(`detail above ${base} px needs square images of a multiple ≥ 2 of ${base} px, got ${h}×${w}`);
  return noGrad(() =>
    tidy(() => {
      const x = images.to('float32');
      const coarse = F.interpolate(F.avgPool2d(x, k), { scaleFactor: k, mode: 'nearest' });
      return Array.from(x.sub(coarse).square().mean([1, 2, 3]).toFloat32Array());
    }),
  );
}

export interface DetailResult {
  /** The coarser side the detail is measured above, and the side of the images. */
  base: number;
  side: number;
  /** Mean detail energy of the generated and of the real images, with their standard errors. */
  generated: number;
  generatedSe: number;
  real: number;
  realSe: number;
  /** generated ÷ real: 0 for enlarged `base` px images; near 1 for as much fine detail as real images. */
  ratio: number;
  images: number;
  realImages: number;
}

function meanSe(xs: readonly number[]): { mean: number; se: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, se: Math.sqrt(variance / n) };
}

/** The generated images' detail against the real images', from their per-image energies. */
export function detailRatio(
  generated: readonly number[],
  real: readonly number[],
  base: number,
  side: number,
): DetailResult {
  if (generated.length === 0 || real.length === 0)
    throw new RangeError(`detail needs generated and real images, got ${generated.length} and ${real.length}`);
  const g = meanSe(generated);
  const r = meanSe(real);
  if (!(r.mean > 0)) throw new RangeError(`the real ${side} px images have no detail above ${base} px to compare with`);
  return {
    base,
    side,
    generated: g.mean,
    generatedSe: g.se,
    real: r.mean,
    realSe: r.se,
    ratio: g.mean / r.mean,
    images: generated.length,
    realImages: real.length,
  };
}
