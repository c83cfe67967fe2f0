// The encoder for image → latent (the GAN overview's "find a query image's latent code ... with an
// encoder network trained on generated images"): a DCGAN-discriminator body from the image down to
// 4×4, then a linear map to the generator's noise. Trained on (G(z, tags), z) pairs, it gives the
// projection (inference/projection.ts) an instant first guess to refine.
import { tidy, type Tensor } from '../engine/index.js';
import { Linear, Module, type Sequential } from '../nn/index.js';
import { dcganEncoder } from './layers/dcgan-encoder.js';

export interface LatentEncoderOptions {
  /** Width of the generator's noise: what the encoder predicts. */
  noiseDim: number;
  /** Channels of the first layer, doubled per downsampling up to 8× (default 32). */
  width?: number;
  /** Side of the images (8, 16, 32, 64, …; default 64). */
  resolution?: number;
}

export class LatentEncoder extends Module {
  readonly o: Required<LatentEncoderOptions>;
  readonly body: Sequential;
  readonly toZ: Linear;

  constructor(o: LatentEncoderOptions) {
    super();
    this.o = { width: 32, resolution: 64, ...o };
    const { noiseDim, width, resolution } = this.o;
    if (!Number.isInteger(noiseDim) || noiseDim < 1)
      throw new RangeError(`noiseDim must be a positive integer, got ${noiseDim}`);
    const { body, channels: c } = dcganEncoder(width, resolution);
    this.body = this.module('body', body);
    // Flattened 4×4 features: where things are (pose, hair line) is what the noise encodes.
    this.toZ = this.module('toZ', new Linear(c * 16, noiseDim));
  }

  /** images [B, 3, R, R] in [-1, 1] → z [B, noiseDim]. */
  forward(images: Tensor): Tensor {
    if (images.size(-1) !== this.o.resolution || images.size(-2) !== this.o.resolution)
      throw new RangeError(
        `the encoder takes ${this.o.resolution}×${this.o.resolution} images, got [${images.shape.join(', ')}]`,
      );
    return tidy(() => this.toZ.forward(this.body.forward(images).flatten(1)));
  }
}
