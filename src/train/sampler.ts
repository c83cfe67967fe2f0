// The generator a recipe hands to src/eval for its checkpoint metric (see recipe.ts `sampler`):
// the moving average when there is one, in eval mode while it is measured.
import { noGrad, type Device, type Tensor } from '../engine/index.js';
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
  return { ...o, images, inEvalMode: (fn) => g.inEvalMode(fn), network: g };
}

/** A recipe's fixed noise and conditions for its sample grid, `perCondition` images per row. */
export interface FixedInputs {
  noise: Tensor;
  condition: Tensor;
  perCondition: number;
}

/** The sample grid of generator g (the moving average, when a recipe has one) in eval mode, no graph. */
export function fixedSamples(g: ConditionVectorGenerator, fixed: FixedInputs): { images: Tensor; nrow: number } {
  return g.inEvalMode(() =>
    noGrad(() => {
      const out = g.forward(fixed.noise, fixed.condition);
      out.mu?.dispose();
      out.logvar?.dispose();
      return { images: out.images, nrow: fixed.perCondition };
    }),
  );
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
