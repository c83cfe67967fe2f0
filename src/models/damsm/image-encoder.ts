// DAMSM image encoder (AttnGAN, Xu et al. 2018, Sec. 3.3): maps an image to local region features
// v [B, D, h, w] (one per sub-region, matched against words) and a global feature v̄ [B, D]
// (matched against the sentence).
//
// AttnGAN takes both from an ImageNet-pretrained Inception-v3 (Mixed_6e's 17×17×768 map through a
// 1×1 conv, and the 2048-d pooled code through a linear layer) and trains only those two
// projections. Those weights are not available offline, so this is a small CNN trained from scratch
// with the text encoder instead; the projections keep AttnGAN's shapes and U(-0.1, 0.1) init.
import { F, tidy, type Tensor } from '../../engine/index.js';
import { BatchNorm2d, Conv2d, LeakyReLU, Linear, Module, Sequential, init } from '../../nn/index.js';

export interface DamsmImageEncoderOptions {
  /** Feature size D of regions and global code (default 256, AttnGAN's TEXT.EMBEDDING_DIM). */
  embeddingDim?: number;
  /** Channels of the first layer; doubled per downsampling up to 8× (default 64). */
  width?: number;
  /** Side images are brought to before encoding (default 64); a multiple of 32. */
  inputSize?: number;
}

export interface DamsmImageFeatures {
  /** Region features [B, D, S/8, S/8] for input size S (8×8 at 64 px, 16×16 at 128 px). */
  regions: Tensor;
  /** Global image feature [B, D]. */
  global: Tensor;
}

/** Strided 4×4 conv → BN → LeakyReLU(0.2): halves the resolution (DCGAN discriminator block). */
function down(inC: number, outC: number): Sequential {
  return new Sequential(
    new Conv2d(inC, outC, 4, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(outC),
    new LeakyReLU(0.2),
  );
}

export class DamsmImageEncoder extends Module {
  readonly embeddingDim: number;
  readonly width: number;
  readonly inputSize: number;
  /** Stem and three downsamplings: stride 8, the region grid. */
  readonly local: Sequential;
  /** Two more downsamplings before global pooling (stride 32). */
  readonly deep: Sequential;
  /** 1×1 conv to D: AttnGAN's emb_features. */
  readonly regionEmbed: Conv2d;
  /** Linear to D: AttnGAN's emb_cnn_code. */
  readonly globalEmbed: Linear;

  constructor(o: DamsmImageEncoderOptions = {}) {
    super();
    this.embeddingDim = o.embeddingDim ?? 256;
    this.width = o.width ?? 64;
    this.inputSize = o.inputSize ?? 64;
    if (!Number.isInteger(this.inputSize) || this.inputSize < 32 || this.inputSize % 32 !== 0)
      throw new RangeError(`inputSize must be a positive multiple of 32 (stride 32), got ${this.inputSize}`);
    const w = this.width;
    // No normalisation on the stem, as in DCGAN's discriminator: BN on raw pixels only rescales them.
    this.local = this.module(
      'local',
      new Sequential(
        new Conv2d(3, w, 3, { padding: 1 }),
        new LeakyReLU(0.2),
        down(w, 2 * w),
        down(2 * w, 4 * w),
        down(4 * w, 8 * w),
      ),
    );
    this.deep = this.module('deep', new Sequential(down(8 * w, 8 * w), down(8 * w, 8 * w)));
    this.regionEmbed = this.module('regionEmbed', new Conv2d(8 * w, this.embeddingDim, 1, { bias: false }));
    this.globalEmbed = this.module('globalEmbed', new Linear(8 * w, this.embeddingDim));
    init.uniform_(this.regionEmbed.weight, -0.1, 0.1);
    init.uniform_(this.globalEmbed.weight, -0.1, 0.1);
  }

  /** Brings images to inputSize²: average pooling for an integer downscale, else bilinear resizing. */
  resize(images: Tensor): Tensor {
    const [h, w] = [images.size(2), images.size(3)];
    const s = this.inputSize;
    if (h === s && w === s) return images.alias();
    if (h === w && h > s && h % s === 0) return F.avgPool2d(images, h / s);
    return F.interpolate(images, { size: s, mode: 'bilinear' });
  }

  /** @param images [B, 3, H, W] in [-1, 1], any size (brought to inputSize first) */
  forward(images: Tensor): DamsmImageFeatures {
    if (images.rank !== 4 || images.size(1) !== 3)
      throw new TypeError(`DamsmImageEncoder expects images [B, 3, H, W], got [${images.shape.join(', ')}]`);
    return tidy(() => {
      const x = this.resize(images);
      const features = this.local.forward(x);
      const regions = this.regionEmbed.forward(features);
      const pooled = this.deep.forward(features).mean([2, 3]);
      return { regions, global: this.globalEmbed.forward(pooled) };
    });
  }
}
