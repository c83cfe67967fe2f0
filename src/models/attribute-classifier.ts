// A small CNN that recognises the attributes of a face, one softmax head per attribute (hair and
// eye colour for HW3-2). Trained on real images, it judges whether generated faces show the
// colours they were asked for. DCGAN-discriminator body: strided 4×4 convolutions, batch norm and
// LeakyReLU(0.2) from the input side down to 4×4, then dropout and the linear heads.
import { F, tidy, type Tensor } from '../engine/index.js';
import { Dropout, Linear, Module, type Sequential } from '../nn/index.js';
import { dcganEncoder } from './layers/dcgan-encoder.js';

export interface AttributeClassifierOptions {
  /** Classes per head, e.g. [hair colours, eye colours]. */
  heads: number[];
  /** Channels of the first layer; doubled per downsampling up to 8× (default 32). */
  width?: number;
  /** Side the network sees (8, 16, 32, 64, …; default 64); other inputs are resized to it. */
  resolution?: number;
  /** Dropout before the heads (default 0.3). */
  dropout?: number;
}

export class AttributeClassifier extends Module {
  readonly o: Required<AttributeClassifierOptions>;
  readonly body: Sequential;
  readonly drop: Dropout;
  readonly heads: Linear[] = [];
  /** Channels of the last convolutional map: the size of embed()'s features. */
  readonly featureDim: number;

  constructor(o: AttributeClassifierOptions) {
    super();
    this.o = { width: 32, resolution: 64, dropout: 0.3, ...o, heads: [...o.heads] };
    const { heads, width, resolution, dropout } = this.o;
    if (heads.length === 0 || heads.some((n) => !Number.isInteger(n) || n < 2))
      throw new RangeError(`heads must list at least one class count ≥ 2, got [${heads.join(', ')}]`);
    const { body, channels: c } = dcganEncoder(width, resolution);
    this.body = this.module('body', body);
    this.featureDim = c;
    this.drop = this.module('drop', new Dropout(dropout));
    // Flattened 4×4 features rather than global pooling: where a colour is (top: hair, middle:
    // eyes) is what tells the two attributes apart.
    heads.forEach((n, k) => this.heads.push(this.module(`head${k}`, new Linear(c * 16, n))));
  }

  /** Brings images to the classifier's side: average pooling for an integer downscale, else bilinear. */
  resize(images: Tensor): Tensor {
    const [h, w] = [images.size(2), images.size(3)];
    const s = this.o.resolution;
    if (h === s && w === s) return images.alias();
    if (h === w && h > s && h % s === 0) return F.avgPool2d(images, h / s);
    return F.interpolate(images, { size: s, mode: 'bilinear' });
  }

  /** @param images [B, 3, H, W] in [-1, 1] → logits [B, n_k] per head. */
  forward(images: Tensor): Tensor[] {
    const { features, logits } = this.embed(images);
    features.dispose();
    return logits;
  }

  /**
   * The head logits and a feature vector per image: the last convolutional map averaged over its
   * 4×4 grid [B, C] (C: its channels, 256 for width 32 at 64 px), the analogue of Inception's pool3
   * for FID/KID/diversity on the project's own network. The flattened map the heads read (16·C
   * values) would need far more samples than an evaluation draws for a full-rank covariance.
   */
  embed(images: Tensor): { features: Tensor; logits: Tensor[] } {
    if (images.rank !== 4 || images.size(1) !== 3)
      throw new TypeError(`AttributeClassifier expects images [B, 3, H, W], got [${images.shape.join(', ')}]`);
    return tidy(() => {
      const map = this.body.forward(this.resize(images));
      const f = this.drop.forward(map.flatten(1));
      return { features: map.mean([2, 3]), logits: this.heads.map((h) => h.forward(f)) };
    });
  }
}
