// The tag generator (the G of Miyato & Koyama 2018 at DCGAN size, for two attributes):
//
//   z ──Linear──▶ 8w×4×4 ─┬▶ [up ×2 → conv 3×3 → CBN(hair, eyes) → ReLU] ×4 ─▶ w×64×64 ─▶ conv 3×3 → tanh
//                          (8w → 4w → 2w → w channels; every block's norm reads both tags)
//
// Nearest-neighbour up-sampling followed by a 3×3 convolution instead of a transposed
// convolution: no checkerboard (Odena et al. 2016). The tags act only through the conditional
// batch norms, one embedding per attribute.
import { tidy, type Tensor } from '../../engine/index.js';
import { Conv2d, Linear, Module, Upsample } from '../../nn/index.js';
import { ConditionalBatchNorm2d } from './conditional-batch-norm.js';

export interface TagGeneratorOptions {
  noiseDim: number;
  /** Channels of the last block (w); the first has 8w. */
  width: number;
  /** [hair colours, eye colours]. */
  classes: number[];
  /** Image side: 64 (four up-sampling blocks from 4×4). */
  resolution: number;
}

class UpBlock extends Module {
  readonly up = new Upsample(2);
  readonly conv: Conv2d;
  readonly norm: ConditionalBatchNorm2d;
  constructor(inC: number, outC: number, classes: number[]) {
    super();
    this.conv = this.module('conv', new Conv2d(inC, outC, 3, { padding: 1, bias: false }));
    this.norm = this.module('norm', new ConditionalBatchNorm2d(outC, classes));
  }
  forward(x: Tensor, labels: Tensor[]): Tensor {
    return tidy(() => this.norm.forward(this.conv.forward(this.up.forward(x)), labels).relu());
  }
}

export class TagGenerator extends Module {
  readonly fc: Linear;
  readonly blocks: UpBlock[];
  readonly toRgb: Conv2d;
  readonly base: number;

  constructor(readonly o: TagGeneratorOptions) {
    super();
    const steps = Math.log2(o.resolution / 4);
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`resolution must be 4·2^k, got ${o.resolution}`);
    const ch = (i: number): number => o.width * 2 ** Math.max(0, 3 - i); // 8w, 4w, 2w, w, w, …
    this.base = ch(0);
    this.fc = this.module('fc', new Linear(o.noiseDim, this.base * 16));
    this.blocks = Array.from({ length: steps }, (_, i) =>
      this.module(`block${i}`, new UpBlock(ch(i), ch(i + 1), o.classes)),
    );
    this.toRgb = this.module('toRgb', new Conv2d(ch(steps), 3, 3, { padding: 1 }));
  }

  /**
   * z [B, noiseDim] and the tags as the tag encoder writes them (one-hot per attribute, [B, Σ classes])
   * → { images [B, 3, R, R] in [-1, 1] }: the interface of the other generators, so sampling,
   * serving and evaluation take this one as they take them.
   */
  forward(z: Tensor, condition: Tensor): { images: Tensor; mu?: Tensor; logvar?: Tensor } {
    const labels = labelsOf(condition, this.o.classes);
    try {
      return { images: this.generate(z, labels) };
    } finally {
      labels.forEach((l) => l.dispose());
    }
  }

  /** z [B, noiseDim], labels [hair [B], eyes [B]] (int64) → images [B, 3, R, R] in [-1, 1]. */
  generate(z: Tensor, labels: Tensor[]): Tensor {
    return tidy(() => {
      let x = this.fc.forward(z).reshape(z.size(0), this.base, 4, 4);
      for (const b of this.blocks) x = b.forward(x, labels);
      return this.toRgb.forward(x.relu()).tanh();
    });
  }
}

/**
 * Per attribute, the weights [B, classes] of a one-hot-per-attribute condition [B, Σ classes]: one-hot
 * rows read one embedding, blends (latent-edit.ts's tag edits) the weighted sum. The norm's weighted
 * sum is exact for one-hot rows (1·e + 0·…), so nothing is read back from the device to tell them apart.
 */
export function labelsOf(condition: Tensor, classes: number[]): Tensor[] {
  const total = classes.reduce((a, b) => a + b, 0);
  if (condition.rank !== 2 || condition.size(1) !== total)
    throw new TypeError(`expected tags as [B, ${total}] (one-hot per attribute), got [${condition.shape.join(', ')}]`);
  let start = 0;
  return classes.map((n) => {
    using part = condition.narrow(1, start, n);
    start += n;
    return part.float();
  });
}
