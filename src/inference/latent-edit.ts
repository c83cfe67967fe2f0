// Moving a latent (the GAN overview's "playing with the latent space"). Two kinds of attribute
// direction for a tag model:
// - tag blends, "hair:blue" at strength s in [0, 1]: the hair part of the condition goes from the
//   tags' colour toward blue, (1 − s)·one-hot(tags) + s·one-hot(blue), the noise kept;
// - noise directions, "noise:hair:blue": unit vectors in the noise space found with the attribute
//   classifier over sampled latents (eval/directions.ts), at a strength in standard deviations of
//   the prior. The measurements (docs/results.md) say how little colour the noise carries here.
// And the truncation trick on a given latent, z·ψ: toward the prior's mean, less unusual faces.
import { tensor, type Tensor } from '../engine/index.js';
import { NOISE_PREFIX, type LatentDirections, type LatentEdit, type TagLayout } from './directions-file.js';

export * from './directions-file.js';

/**
 * Why `edit` cannot be applied with `directions` (unknown name, strength out of range, ψ out of
 * (0, 1]), or undefined when it can. The server answers 400 with it.
 */
export function checkEdit(
  edit: LatentEdit,
  directions: LatentDirections | undefined,
  tags: TagLayout | undefined,
): string | undefined {
  if (edit.psi !== undefined && !(edit.psi > 0 && edit.psi <= 1))
    return `psi (truncation) must be in (0, 1], got ${edit.psi}`;
  const blended = new Set<string>();
  for (const [name, strength] of Object.entries(edit.directions ?? {})) {
    if (name.startsWith(NOISE_PREFIX)) {
      if (directions === undefined) return `this model has no noise directions (asked for ${name})`;
      if (!directions.directions.some((d) => d.name === name))
        return `unknown direction "${name}"; this model has ${directions.directions.map((d) => d.name).join(', ')}`;
      const { min, max } = directions.strengths;
      if (!(Number.isFinite(strength) && strength >= min && strength <= max))
        return `the strength of ${name} must be in [${min}, ${max}], got ${strength}`;
      continue;
    }
    if (tags === undefined) return `"${name}": only tag models have tag directions`;
    const [attribute, value] = name.split(':');
    if ((attribute !== 'hair' && attribute !== 'eyes') || value === undefined || !tags[attribute].includes(value))
      return `unknown direction "${name}": tag directions are hair:<colour> (${tags.hair.join(', ')}) and eyes:<colour> (${tags.eyes.join(', ')})`;
    if (blended.has(attribute)) return `one ${attribute} direction at a time, got two`;
    blended.add(attribute);
    if (!(Number.isFinite(strength) && strength >= 0 && strength <= 1))
      return `the strength of ${name} must be in [0, 1], got ${strength}`;
  }
  return undefined;
}

/** The condition [N, nHair + nEyes] with each asked attribute blended toward its colour (checked already). */
export function blendTags(condition: Tensor, edit: LatentEdit, tags: TagLayout): Tensor {
  const width = tags.hair.length + tags.eyes.length;
  if (condition.size(1) !== width)
    throw new Error(`the condition is ${condition.size(1)} wide; the tags need ${width}`);
  // condition·keep + target, with keep 1 − s over the attribute's block and target s at the colour.
  const keep = new Float32Array(width).fill(1);
  const target = new Float32Array(width);
  for (const [name, s] of Object.entries(edit.directions ?? {})) {
    if (name.startsWith(NOISE_PREFIX)) continue;
    const [attribute, value] = name.split(':') as ['hair' | 'eyes', string];
    const from = attribute === 'hair' ? 0 : tags.hair.length;
    for (let i = 0; i < tags[attribute].length; i++) keep[from + i] = 1 - s;
    target[from + tags[attribute].indexOf(value)] = s;
  }
  using k = tensor(keep, { shape: [1, width] });
  using t = tensor(target, { shape: [1, width] });
  using kd = k.to(condition.device);
  using td = t.to(condition.device);
  using kept = condition.mul(kd);
  return kept.add(td);
}

/** z·ψ + Σ strength·direction over the noise directions, row by row; z [N, noiseDim] on any device. */
export function editLatent(
  z: Tensor,
  edit: LatentEdit,
  directions: LatentDirections | undefined,
  tags?: TagLayout,
): Tensor {
  const problem = checkEdit(edit, directions, tags);
  if (problem !== undefined) throw new RangeError(problem);
  const dim = z.size(1);
  const offset = new Float32Array(dim);
  for (const [name, strength] of Object.entries(edit.directions ?? {})) {
    if (!name.startsWith(NOISE_PREFIX)) continue;
    const d = directions!.directions.find((x) => x.name === name)!;
    if (d.vector.length !== dim)
      throw new RangeError(`direction ${name} is ${d.vector.length} wide; the noise is ${dim}`);
    for (let i = 0; i < dim; i++) offset[i]! += strength * d.vector[i]!;
  }
  using scaled = z.mul(edit.psi ?? 1);
  using off = tensor(offset, { shape: [1, dim] });
  using offOn = off.to(z.device);
  return scaled.add(offOn);
}
