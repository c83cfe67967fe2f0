// The generator a recipe hands to src/eval for its checkpoint metric (see recipe.ts `sampler`):
// the moving average when there is one, in eval mode while it is measured.
import type { Device, Tensor } from '../engine/index.js';
import type { Sampler } from '../eval/checkpoint-metric.js';
import type { Conditioner } from '../models/conditioning.js';
import type { Module } from '../nn/index.js';

interface SamplerContext {
  noiseDim: number;
  device: Device;
  conditioner: Conditioner;
}

/** A generator that reads noise and one condition vector (the DCGAN-style G, the tag projection G). */
type ConditionVectorGenerator = Module & {
  forward(z: Tensor, condition: Tensor): { images: Tensor; mu?: Tensor; logvar?: Tensor };
};

/** A Sampler over generator g, with the recipe's own way from noise and captions to images. */
export function samplerOf(
  g: Module,
  o: SamplerContext,
  images: (z: Tensor, captions: readonly string[]) => Tensor,
): Sampler {
  return { ...o, images, inEvalMode: (fn) => g.inEvalMode(fn) };
}

/** The Sampler of a generator that reads the conditioner's vector for each caption. */
export function conditionVectorSampler(g: ConditionVectorGenerator, o: SamplerContext): Sampler {
  return samplerOf(g, o, (z, captions) => {
    using h = o.conditioner.encode({ captions }, o.device);
    const out = g.forward(z, h);
    out.mu?.dispose();
    out.logvar?.dispose();
    return out.images;
  });
}
