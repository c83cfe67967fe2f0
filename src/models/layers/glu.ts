// Gated linear unit (Dauphin et al. 2017) over channels: the first half of the channels, each
// multiplied by the sigmoid of its partner in the second half. StackGAN++ and AttnGAN use it in
// place of ReLU throughout their generators.
import type { Tensor } from '../../engine/index.js';

/** x [B, 2C, …] → x[:, :C] · σ(x[:, C:]) [B, C, …]. */
export function glu(x: Tensor): Tensor {
  const c = x.size(1);
  if (c % 2 !== 0) throw new RangeError(`glu needs an even number of channels, got ${c}`);
  using a = x.narrow(1, 0, c / 2);
  using b = x.narrow(1, c / 2, c / 2);
  using g = b.sigmoid();
  return a.mul(g);
}
