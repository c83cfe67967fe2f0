// The attribute directions of a model as a file (what `creativeai directions` writes beside an
// export) and the edit a request asks for; no tensors here, so the HTTP thread can read them.
import fs from 'node:fs';

/** `models/x.safetensors` → `models/x.directions.json` (exports only: a run has no such file). */
export const directionsFileOf = (model: string): string => model.replace(/\.safetensors$/, '.directions.json');

export const DIRECTIONS_FORMAT = 'creativeai.latent-directions';

/** One noise direction: moving z along `vector` makes the classifier read `value` for `attribute`. */
export interface LatentDirection {
  /** "noise:hair:blue": what requests name it by. */
  name: string;
  attribute: string;
  value: string;
  /** Unit length, noiseDim numbers. */
  vector: number[];
}

/** How often the classifier reads the direction's value, and keeps the other attribute, at a strength. */
export interface DirectionEffect {
  strength: number;
  /** Fraction of faces whose tags ask for another value that the classifier reads as the direction's value. */
  target: number;
  /** Fraction of faces whose other attribute the classifier reads as it did at strength 0. */
  othersKept: number;
}

/** At a truncation ψ: both colours right, and the per-pixel spread of faces that share their tags. */
export interface TruncationEffect {
  psi: number;
  both: number;
  pixelStd: number;
}

/** What `creativeai directions` writes next to a model: `<model>.directions.json`. */
export interface LatentDirections {
  format: typeof DIRECTIONS_FORMAT;
  /** The model file the directions were found in. */
  model: string;
  noiseDim: number;
  /** The noise strengths a client may ask for (the page's slider range): those the measurements cover. */
  strengths: { min: number; max: number };
  /** How they were found: sampled latents, classifier, seed. */
  method: { samples: number; classifier: string; seed: number };
  directions: (LatentDirection & { measured: DirectionEffect[] })[];
  /** The truncation trick measured at several ψ (absent in files written before it was measured). */
  truncation?: TruncationEffect[];
  /** The tag blends measured the same way ("hair:blue" at strengths in [0, 1]). */
  blends: { name: string; attribute: string; value: string; measured: DirectionEffect[] }[];
}

/** The colours a tag model's condition holds: [hair one-hot | eyes one-hot] (models/tag-encoder.ts). */
export interface TagLayout {
  hair: readonly string[];
  eyes: readonly string[];
}

export const NOISE_PREFIX = 'noise:';

export interface LatentEdit {
  /** Direction name → strength (standard deviations of the prior along it). */
  directions?: Readonly<Record<string, number>>;
  /** Truncation ψ in (0, 1]: z becomes z·ψ before the directions are added. */
  psi?: number;
}

/** The directions in `file`, checked: a clear error for anything that is not a directions file. */
export function readDirections(file: string): LatentDirections {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the directions ${file}: ${(e as Error).message}`, { cause: e });
  }
  const o = v as Partial<LatentDirections> | null;
  const bad = (why: string): Error => new Error(`${file} is not a latent directions file: ${why}`);
  if (o === null || typeof o !== 'object' || o.format !== DIRECTIONS_FORMAT)
    throw bad(`format is not "${DIRECTIONS_FORMAT}"`);
  if (!Number.isInteger(o.noiseDim) || o.noiseDim! < 1) throw bad('no noiseDim');
  const s = o.strengths;
  if (s === undefined || !(Number.isFinite(s.min) && Number.isFinite(s.max) && s.min < 0 && s.max > 0))
    throw bad('strengths must be { min < 0, max > 0 }');
  if (!Array.isArray(o.directions) || !Array.isArray(o.blends)) throw bad('no directions or blends');
  for (const d of o.directions)
    if (
      typeof d?.name !== 'string' ||
      !Array.isArray(d.vector) ||
      d.vector.length !== o.noiseDim ||
      !d.vector.every(Number.isFinite)
    )
      throw bad(`direction ${JSON.stringify(d?.name)} needs a name and ${o.noiseDim} finite numbers`);
  return o as LatentDirections;
}
