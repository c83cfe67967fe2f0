// How well image → latent works (issue 20): held-out real faces and generated faces (whose true noise
// exists) are projected into the model, and the reconstruction error, the encoder's first guess
// and the time per image are reported, with and without the encoder.
import { F, type Device, type Tensor } from '../engine/index.js';
import type { TextToImagePipeline } from '../inference/pipeline.js';
import { tagText } from '../text/index.js';
import { project } from '../inference/projection.js';
import { readReal } from './evaluate.js';

export interface InversionStats {
  images: number;
  /** Mean over images of the final pixel MSE (on [-1, 1]) and of the PSNR it means. */
  mse: number;
  psnrDb: number;
  /** Mean MSE of the encoder's guess alone (no optimisation); null without the encoder. */
  encoderMse: number | null;
  encoderPsnrDb: number | null;
  secondsPerImage: number;
}

export interface InversionResult {
  model: string;
  dataset: string;
  split: string;
  steps: number;
  starts: number;
  /** Whether the encoder's guess was the first start. */
  encoder: boolean;
  real: InversionStats;
  generated: InversionStats;
}

export interface InversionOptions {
  dataset: string;
  split?: 'train' | 'val' | 'test';
  /** Real faces, and as many generated ones (default 24). */
  n?: number;
  steps?: number;
  starts?: number;
  /** Use the model's encoder for the first guess (default: when it has one). */
  encoder?: boolean;
  seed?: number;
  onImage?: (set: 'real' | 'generated', done: number, total: number) => void;
}

const psnr = (mse: number): number => 10 * Math.log10(4 / mse);

async function projectAll(
  pipe: TextToImagePipeline,
  faces: { x: Tensor; text: string }[],
  o: InversionOptions & { encoder: boolean },
  set: 'real' | 'generated',
): Promise<InversionStats> {
  let mse = 0;
  let db = 0;
  let guess = 0;
  let guessDb = 0;
  const started = performance.now();
  for (const [i, f] of faces.entries()) {
    const r = await project(pipe, f.x, f.text, {
      steps: o.steps ?? 100,
      starts: o.starts ?? 4,
      seed: (o.seed ?? 0) + i,
      encoder: o.encoder,
    });
    r.z.dispose();
    mse += r.mse;
    db += psnr(r.mse);
    if (r.encoderMse !== undefined) {
      guess += r.encoderMse;
      guessDb += psnr(r.encoderMse);
    }
    o.onImage?.(set, i + 1, faces.length);
  }
  const n = faces.length;
  return {
    images: n,
    mse: mse / n,
    psnrDb: db / n,
    encoderMse: o.encoder ? guess / n : null,
    encoderPsnrDb: o.encoder ? guessDb / n : null,
    secondsPerImage: (performance.now() - started) / 1000 / n,
  };
}

/** Projects n held-out real faces and n generated faces (the real faces' tags, seeded noise). */
export async function measureInversion(pipe: TextToImagePipeline, o: InversionOptions): Promise<InversionResult> {
  if (pipe.tags === undefined) throw new Error('measureInversion takes tag models (the faces carry their tags)');
  const n = o.n ?? 24;
  const split = o.split ?? 'test';
  const encoder = o.encoder ?? pipe.encoder !== undefined;
  const device: Device = 'cpu';
  const real: { x: Tensor; text: string }[] = [];
  await readReal(o.dataset, split, device, pipe.resolution, 32, { limit: n, seed: o.seed ?? 0 }, (b, images) => {
    b.indices.forEach((_, i) => {
      const a = b.attributes[i];
      if (a?.hair === undefined || a.eyes === undefined) return;
      using one = images.narrow(0, i, 1);
      // The cache may hold a larger side than the model draws.
      real.push({
        x:
          one.size(-1) === pipe.resolution
            ? one.clone()
            : F.interpolate(one, { size: pipe.resolution, mode: 'bilinear' }),
        text: tagText({ hair: a.hair, eyes: a.eyes }),
      });
    });
  });
  if (real.length === 0) throw new Error(`${o.dataset} has no tagged faces in its ${split} split`);
  const generated = real.map((f, i) => ({ x: pipe.generate([f.text], { seed: 1_000_000 + i }), text: f.text }));
  try {
    const opts = { ...o, encoder };
    return {
      model: pipe.source,
      dataset: o.dataset,
      split,
      steps: o.steps ?? 100,
      starts: o.starts ?? 4,
      encoder,
      real: await projectAll(pipe, real, opts, 'real'),
      generated: await projectAll(pipe, generated, opts, 'generated'),
    };
  } finally {
    [...real, ...generated].forEach((f) => f.x.dispose());
  }
}
