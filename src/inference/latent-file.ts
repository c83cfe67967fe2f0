// A latent as a file: what `creativeai invert` writes and `creativeai sample --latent` reads.
import fs from 'node:fs';

import { tensor, type Tensor } from '../engine/index.js';

export interface LatentFile {
  /** What it was found in (the model path given to invert). */
  model: string;
  /** The caption or tags the image was projected under. */
  text: string;
  /** The noise vector: noiseDim numbers. */
  z: number[];
  /** Mean squared error of its image against the target, on [-1, 1] pixels, and the PSNR it means. */
  mse: number;
  psnrDb: number;
  steps: number;
  starts: number;
  seconds: number;
}

/** The latent in `file`, checked: a clear error for anything that is not one. */
export function readLatentFile(file: string): LatentFile {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the latent ${file}: ${(e as Error).message}`, { cause: e });
  }
  const o = v as Partial<LatentFile> | null;
  if (o === null || typeof o !== 'object' || !Array.isArray(o.z) || o.z.length === 0 || !o.z.every(Number.isFinite))
    throw new Error(`${file} is not a latent: it needs "z", an array of finite numbers (creativeai invert writes one)`);
  return o as LatentFile;
}

/** [1, z.length] float32 from a latent, after checking it fits a model with noise width `noiseDim`. */
export function latentTensor(l: LatentFile, noiseDim: number, file: string): Tensor {
  if (l.z.length !== noiseDim)
    throw new Error(`${file} holds a ${l.z.length}-wide latent; this model's noise is ${noiseDim} wide`);
  return tensor(Float32Array.from(l.z), { shape: [1, noiseDim] });
}

/** Peak signal-to-noise ratio of a mean squared error on [-1, 1] pixels (peak-to-peak 2). */
export const psnrDb = (mse: number): number => 10 * Math.log10(4 / mse);
