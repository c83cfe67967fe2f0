// A trained generator ready to sample: loads a run, a training checkpoint or an exported model,
// encodes captions or tags the way the model was trained, and draws images reproducibly from a
// seed. The CLI's `sample` and the HTTP server both use it.
import { Generator, cat, noGrad, randn, type Device, type Tensor } from '../engine/index.js';
import type { ConditionalGenerator } from '../models/dcgan/conditional-generator.js';
import type { Conditioner } from '../models/conditioning.js';
import { loadCheckpoint, resolveRunCheckpoint } from './checkpoint.js';
import { generatorFromCheckpoint } from './recipes/conditional-gan.js';

export interface GenerateOptions {
  /** Seed of the noise; the same seed gives the same images. */
  seed?: number;
}

export class TextToImagePipeline {
  private constructor(
    readonly G: ConditionalGenerator,
    readonly conditioner: Conditioner,
    readonly device: Device,
    readonly source: string,
    readonly model: string,
    readonly usedEma: boolean,
  ) {}

  /** A run directory (its newest checkpoint), a checkpoint (.json or .safetensors) or an export. */
  static load(model: string, device: Device = 'cpu'): TextToImagePipeline {
    const file = resolveRunCheckpoint(model, false);
    const ck = loadCheckpoint(file);
    try {
      const kind = ck.metadata.model;
      if (kind === 'damsm') throw new Error(`${ck.path} is a DAMSM text/image encoder, not an image generator`);
      const { G, conditioner, usedEma } = generatorFromCheckpoint(ck.tensors, ck.metadata, device);
      return new TextToImagePipeline(G, conditioner, device, ck.path, String(kind), usedEma);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  }

  get resolution(): number {
    return this.G.o.resolution;
  }

  /** Noise for n images: drawn on the CPU from the seed, so every device gets the same numbers. */
  noise(n: number, seed: number): Tensor {
    const g = new Generator(seed);
    using z = randn([n, this.G.o.noiseDim], { generator: g });
    return z.to(this.device);
  }

  /** One image per caption (or tag text), [N, 3, R, R] in [-1, 1]. */
  generate(captions: readonly string[], o: GenerateOptions = {}): Tensor {
    if (captions.length === 0) throw new Error('generate() needs at least one caption');
    return noGrad(() => {
      using z = this.noise(captions.length, o.seed ?? 0);
      using h = this.conditioner.encode({ captions }, this.device);
      const out = this.G.forward(z, h);
      out.mu?.dispose();
      out.logvar?.dispose();
      return out.images;
    });
  }

  /**
   * Manifold interpolation (Reed et al. 2016, §4.3): the same noise, with the condition moving
   * linearly from the embedding of caption a to that of caption b in `steps` images.
   */
  interpolate(a: string, b: string, steps: number, o: GenerateOptions = {}): Tensor {
    if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolation needs at least 2 steps, got ${steps}`);
    return noGrad(() => {
      using z1 = this.noise(1, o.seed ?? 0);
      using ze = z1.expand(steps, this.G.o.noiseDim);
      using z = ze.contiguous();
      using ha = this.conditioner.encode({ captions: [a] }, this.device);
      using hb = this.conditioner.encode({ captions: [b] }, this.device);
      const rows: Tensor[] = [];
      for (let i = 0; i < steps; i++) {
        const t = i / (steps - 1);
        using wa = ha.mul(1 - t);
        rows.push(wa.add(hb, t));
      }
      using hs = cat(rows, 0);
      rows.forEach((r) => r.dispose());
      const out = this.G.forward(z, hs);
      out.mu?.dispose();
      out.logvar?.dispose();
      return out.images;
    });
  }

  dispose(): void {
    this.G.dispose();
    this.conditioner.module?.dispose();
  }
}
