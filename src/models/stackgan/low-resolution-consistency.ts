// A refined image should still be the image it refines: the Stage-II image, averaged down to the
// Stage-I side, is held near the Stage-I image by an L1 distance,
//   L_cons = ‖AvgPool_k(G₂(s₀, ĉ)) − s₀‖₁,   k = 256 / 64 = 4,
// so Stage II may add detail (everything the average removes) but not move the composition and the
// colours that carry the caption. Not in StackGAN: ours, because Stage II trained by the paper's
// losses alone loses the caption on our data (docs/results.md, issue 19); it is the content term of
// super-resolution GANs, read at the low resolution only. StackGAN++ may hold each stage to the one
// below it the same way (loss.consistency of the tree recipe).
import { F, tidy, type Tensor } from '../../engine/index.js';

/** Mean absolute difference between the refined images pooled to the input's side and the input. */
export function lowResolutionConsistency(refined: Tensor, input: Tensor): Tensor {
  if (refined.rank !== 4 || input.rank !== 4 || refined.size(0) !== input.size(0) || refined.size(1) !== input.size(1))
    throw new TypeError(
      `lowResolutionConsistency expects two batches of the same images, got ${refined.toString()} and ${input.toString()}`,
    );
  const side = refined.size(2);
  const low = input.size(2);
  if (side % low !== 0 || refined.size(3) !== side || input.size(3) !== low)
    throw new RangeError(`the refined side (${side}) must be a multiple of the input side (${low}), both square`);
  return tidy(() => F.l1Loss(F.avgPool2d(refined.float(), side / low), input.float()));
}
