// A trained generator ready to sample: loads a run, a training checkpoint or an exported model,
// encodes captions or tags the way the model was trained, and draws images reproducibly from a
// seed. Stacked models (StackGAN Stage II) give every stage's images, smallest first. The CLI's
// `sample` and the HTTP server both use it.
import { Generator, cat, noGrad, randn, truncatedNormal, type Device, type Tensor } from '../engine/index.js';
import type { ConditionalGenerator } from '../models/dcgan/conditional-generator.js';
import type { Conditioner } from '../models/conditioning.js';
import { StackedGenerator, type Stage1Generator } from '../models/stackgan/index.js';
import { loadCheckpoint, resolveRunCheckpoint } from './checkpoint.js';
import { generatorFromCheckpoint } from './recipes/conditional-gan.js';
import { stackganFromCheckpoint } from './recipes/stackgan-checkpoint.js';

export interface GenerateOptions {
  /** Seed of the noise; the same seed gives the same images. */
  seed?: number;
  /**
   * Truncation trick (Brock et al. 2019): noise drawn from N(0, 1) cut to [-t, t]. Smaller t trades
   * variety for fidelity; none means the untruncated prior the generator was trained on.
   */
  truncation?: number;
}

/** What a model makes of a caption before generating: the words it does not know, or why it cannot. */
export interface CaptionCheck {
  unknownWords: string[];
  /** Set when the model cannot be conditioned on this text at all (tag models need both colours). */
  error?: string;
}

/** The last (largest) stage; the others are freed. */
function lastStage(stages: Tensor[]): Tensor {
  stages.slice(0, -1).forEach((t) => t.dispose());
  return stages[stages.length - 1]!;
}

export class TextToImagePipeline {
  private constructor(
    /** One network (GAN-INT-CLS, WGAN-CLS, tag GAN, StackGAN Stage I) or StackGAN's two stages. */
    readonly G: ConditionalGenerator | Stage1Generator | StackedGenerator,
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
      const { G, conditioner, usedEma } = String(kind).startsWith('stackgan-')
        ? stackganFromCheckpoint(ck.tensors, ck.metadata, device)
        : generatorFromCheckpoint(ck.tensors, ck.metadata, device);
      return new TextToImagePipeline(G, conditioner, device, ck.path, String(kind), usedEma);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  }

  /** The side of the final (largest) images. */
  get resolution(): number {
    return this.stages[this.stages.length - 1]!;
  }

  /** The side of every image the model outputs, smallest first (one stage but for StackGAN Stage II). */
  get stages(): number[] {
    return this.G instanceof StackedGenerator ? this.G.stages : [this.G.o.resolution];
  }

  /** Width of the noise vectors. */
  get noiseDim(): number {
    return this.G instanceof StackedGenerator ? this.G.noiseDim : this.G.o.noiseDim;
  }

  /**
   * Noise for n images: drawn on the CPU from the seed, so every device gets the same numbers.
   * With `truncation`, from the normal distribution cut to [-t, t] (a fixed number of draws).
   */
  noise(n: number, seed: number, truncation?: number): Tensor {
    const g = new Generator(seed);
    if (truncation !== undefined && !(truncation > 0))
      throw new RangeError(`truncation must be a positive number, got ${truncation}`);
    using z =
      truncation === undefined
        ? randn([n, this.noiseDim], { generator: g })
        : truncatedNormal([n, this.noiseDim], { generator: g, a: -truncation, b: truncation });
    return z.to(this.device);
  }

  /** Unknown words of a caption, and for tag models whether both colours can be read. */
  check(caption: string): CaptionCheck {
    return this.conditioner.check(caption);
  }

  /** One image per caption (or tag text), [N, 3, R, R] in [-1, 1]. */
  generate(captions: readonly string[], o: GenerateOptions = {}): Tensor {
    if (captions.length === 0) throw new Error('generate() needs at least one caption');
    using z = this.noise(captions.length, o.seed ?? 0, o.truncation);
    return this.generateFrom(z, captions);
  }

  /**
   * Images for given noise [N, noiseDim] (on this pipeline's device) and N captions: lets a server
   * batch requests with different seeds into one forward pass. The last (largest) stage only.
   */
  generateFrom(z: Tensor, captions: readonly string[]): Tensor {
    return lastStage(this.generateStagesFrom(z, captions));
  }

  /** Every stage's images for given noise and captions, smallest first (see `stages`). */
  generateStagesFrom(z: Tensor, captions: readonly string[]): Tensor[] {
    if (z.size(0) !== captions.length)
      throw new Error(`generateFrom() got ${z.size(0)} noise rows for ${captions.length} captions`);
    return noGrad(() => {
      using h = this.conditioner.encode({ captions }, this.device);
      return this.forward(z, h);
    });
  }

  /** The generator on noise and condition vectors: one tensor per stage, smallest first. */
  private forward(z: Tensor, h: Tensor): Tensor[] {
    const out = this.G.forward(z, h);
    out.mu?.dispose();
    out.logvar?.dispose();
    return 'stages' in out ? out.stages : [out.images];
  }

  /**
   * Manifold interpolation (Reed et al. 2016, §4.3): the same noise, with the condition moving
   * linearly from the embedding of caption a to that of caption b in `steps` images.
   */
  interpolate(a: string, b: string, steps: number, o: GenerateOptions = {}): Tensor {
    return lastStage(this.interpolateStages(a, b, steps, o));
  }

  /** interpolate() with every stage's images, smallest first. */
  interpolateStages(a: string, b: string, steps: number, o: GenerateOptions = {}): Tensor[] {
    if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolation needs at least 2 steps, got ${steps}`);
    return noGrad(() => {
      using z1 = this.noise(1, o.seed ?? 0, o.truncation);
      using ze = z1.expand(steps, this.noiseDim);
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
      return this.forward(z, hs);
    });
  }

  dispose(): void {
    this.G.dispose();
    this.conditioner.module?.dispose();
  }
}
