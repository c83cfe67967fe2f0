// The projection discriminator (Miyato & Koyama 2018), with the projection split by attribute:
//
//   x ─▶ [conv 3×3 → LReLU → conv 4×4/2 → LReLU] ×4 (spectrally normalised) ─▶ φ(x) = Σ_{h,w} features
//   D(x, hair, eyes) = ψ(φ(x)) + ⟨V_hair[hair], φ(x)⟩ + ⟨V_eyes[eyes], φ(x)⟩
//
// ψ judges realism alone; each inner product judges how well the image shows one attribute, so
// a wrong eye colour costs only the eye term, and a pair never seen together is judged by two terms
// each trained on many images. Spectral norm on every layer (Miyato et al. 2018).
import { tidy, type Tensor } from '../../engine/index.js';
import { Conv2d, Embedding, Linear, Module, spectralNorm } from '../../nn/index.js';

export interface ProjectionDiscriminatorOptions {
  /** Channels of the first block (w); the last has 8w. */
  width: number;
  classes: number[];
  resolution: number;
}

class DownBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(inC: number, outC: number) {
    super();
    this.conv1 = this.module('conv1', spectralNorm(new Conv2d(inC, outC, 3, { padding: 1 })));
    this.conv2 = this.module('conv2', spectralNorm(new Conv2d(outC, outC, 4, { stride: 2, padding: 1 })));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.conv2.forward(this.conv1.forward(x).leakyRelu(0.1)).leakyRelu(0.1));
  }
}

export class ProjectionDiscriminator extends Module {
  readonly blocks: DownBlock[];
  readonly psi: Linear;
  readonly embed: Embedding[];
  readonly features: number;

  constructor(readonly o: ProjectionDiscriminatorOptions) {
    super();
    const steps = Math.log2(o.resolution / 4);
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`resolution must be 4·2^k, got ${o.resolution}`);
    const ch = (i: number): number => (i === 0 ? 3 : o.width * 2 ** Math.min(3, i - 1)); // 3, w, 2w, 4w, 8w
    this.blocks = Array.from({ length: steps }, (_, i) => this.module(`block${i}`, new DownBlock(ch(i), ch(i + 1))));
    this.features = ch(steps);
    this.psi = this.module('psi', spectralNorm(new Linear(this.features, 1)));
    this.embed = o.classes.map((n, i) => this.module(`embed${i}`, spectralNorm(new Embedding(n, this.features))));
  }

  /** The pooled features φ(x) [B, F]. */
  phi(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h);
      return h.sum([2, 3]);
    });
  }

  /** Scores [B]: realism plus one projection term per attribute. */
  forward(x: Tensor, labels: Tensor[]): Tensor {
    return tidy(() => {
      const phi = this.phi(x);
      let out = this.psi.forward(phi).reshape(-1);
      labels.forEach((y, i) => (out = out.add(this.embed[i]!.forward(y).mul(phi).sum(1))));
      return out;
    });
  }
}
