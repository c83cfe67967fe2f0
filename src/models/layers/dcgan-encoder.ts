// The DCGAN discriminator's body (Radford et al. 2016) as a feature extractor: strided 4×4
// convolutions from the image down to 4×4, batch norm on all but the first (batch norm on raw pixels
// only rescales them), LeakyReLU(0.2). The attribute classifier and the latent encoder read faces with it.
import { BatchNorm2d, Conv2d, Identity, LeakyReLU, Sequential, type Layer, type Module } from '../../nn/index.js';

/** The layers from `resolution`² RGB to 4×4 maps, channels `width`·2^i (at most 8·width); and that last width. */
export function dcganEncoder(width: number, resolution: number): { body: Sequential; channels: number } {
  const downs = Math.log2(resolution / 4);
  if (!Number.isInteger(downs) || downs < 1)
    throw new RangeError(`resolution must be 8, 16, 32, 64, …; got ${resolution}`);
  const layers: (Module & Layer)[] = [];
  let c = 3;
  for (let i = 0; i < downs; i++) {
    const out = width * 2 ** Math.min(i, 3);
    layers.push(
      new Conv2d(c, out, 4, { stride: 2, padding: 1, bias: i === 0 }),
      i === 0 ? new Identity() : new BatchNorm2d(out),
      new LeakyReLU(0.2),
    );
    c = out;
  }
  return { body: new Sequential(...layers), channels: c };
}
