// DF-GAN's generator (Tao et al., CVPR 2022, Fig. 2): one stage, from noise to the full-size image.
//
//   z ─Linear─▶ 8nf×4×4 ─▶ [UpBlock]×k ─▶ LReLU → conv 3×3 → tanh ─▶ image R×R
//   UpBlock(x, c): x↑2 ─┬─ DFBlock(c) → conv 3×3 → DFBlock(c) → conv 3×3 ─┐
//                       └──────────── shortcut (1×1 conv if the width changes) ─(+)─▶
//
// c = [z, sentence embedding]: every block reads the noise and the text. Channels follow the
// official code: 8nf while the side is small, halving towards the output (64 px: 8nf, 8nf, 4nf, 2nf,
// nf; 256 px: 8nf ×4, 4nf, 2nf, nf). A generator grown from a smaller one (grow.ts) keeps that
// layout up to its base side and adds nf-channel blocks above it (64 px base, 256 px: ..., nf, nf, nf).
import { F, cat, tidy, type Tensor } from '../../engine/index.js';
import { Conv2d, Linear, Module } from '../../nn/index.js';
import { DFBlock } from './affine.js';

export interface DfGeneratorOptions {
  noiseDim: number;
  /** Sentence embedding width (the DAMSM's, 256). */
  condDim: number;
  /** nf: the channels of the last block; the first has 8nf. */
  width: number;
  /** Output side, 4·2^k (64, 128, 256). */
  resolution: number;
  /** The side up to which the layout is the official one (grown models); default `resolution`. */
  baseResolution?: number;
}

/** Blocks of a layout of side `resolution` (2^k ≥ 16), the official one up to `base`, nf above it. */
function layoutOf(resolution: number, base: number): { official: number; added: number } {
  const official = Math.log2(base) - 1;
  const added = Math.log2(resolution / base);
  if (!Number.isInteger(official) || official < 3) throw new RangeError(`resolution must be 2^k ≥ 16, got ${base}`);
  if (!Number.isInteger(added) || added < 0)
    throw new RangeError(`a ${resolution} px layout cannot grow from ${base} px: the sides must be 2^k, base ≤ side`);
  return { official, added };
}

/** The widths from 4×4 up to the output, as the official code lays them out (then nf per grown block). */
export function generatorChannels(width: number, resolution: number, base = resolution): number[] {
  const { official, added } = layoutOf(resolution, base);
  const widths = Array.from({ length: official }, (_, i) => width * Math.min(2 ** i, 8)).reverse();
  return [...widths, ...new Array<number>(added).fill(width)];
}

/** Widths from the input down to 4×4 (the discriminator's order): nf per grown block, then the official ones. */
export function discriminatorChannels(width: number, resolution: number, base = resolution): number[] {
  return generatorChannels(width, resolution, base).reverse();
}

class UpBlock extends Module {
  readonly fuse1: DFBlock;
  readonly conv1: Conv2d;
  readonly fuse2: DFBlock;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;
  constructor(condDim: number, inC: number, outC: number) {
    super();
    this.fuse1 = this.module('fuse1', new DFBlock(condDim, inC));
    this.conv1 = this.module('conv1', new Conv2d(inC, outC, 3, { padding: 1 }));
    this.fuse2 = this.module('fuse2', new DFBlock(condDim, outC));
    this.conv2 = this.module('conv2', new Conv2d(outC, outC, 3, { padding: 1 }));
    this.shortcut = inC === outC ? null : this.module('shortcut', new Conv2d(inC, outC, 1));
  }
  forward(x: Tensor, c: Tensor): Tensor {
    return tidy(() => {
      const up = F.interpolate(x, { scaleFactor: 2 });
      const h = this.conv2.forward(this.fuse2.forward(this.conv1.forward(this.fuse1.forward(up, c)), c));
      return (this.shortcut === null ? up : this.shortcut.forward(up)).add(h);
    });
  }
}

export class DfGenerator extends Module {
  readonly fc: Linear;
  readonly blocks: UpBlock[];
  readonly toRgb: Conv2d;
  readonly channels: number[];

  constructor(readonly o: DfGeneratorOptions) {
    super();
    this.channels = generatorChannels(o.width, o.resolution, o.baseResolution);
    this.fc = this.module('fc', new Linear(o.noiseDim, this.channels[0]! * 16));
    this.blocks = this.channels
      .slice(1)
      .map((out, i) => this.module(`block${i}`, new UpBlock(o.noiseDim + o.condDim, this.channels[i]!, out)));
    this.toRgb = this.module('toRgb', new Conv2d(this.channels.at(-1)!, 3, 3, { padding: 1 }));
  }

  /** z [B, noiseDim], sentence [B, condDim] → { images [B, 3, R, R] in [-1, 1] }. */
  forward(z: Tensor, sentence: Tensor): { images: Tensor; mu?: Tensor; logvar?: Tensor } {
    return {
      images: tidy(() => {
        const c = cat([z, sentence], 1);
        let x = this.fc.forward(z).reshape(z.size(0), this.channels[0]!, 4, 4);
        for (const b of this.blocks) x = b.forward(x, c);
        return this.toRgb.forward(x.leakyRelu(0.2)).tanh();
      }),
    };
  }
}
