// A trained generator ready to sample: loads a run, a training checkpoint or an exported model,
// encodes captions or tags the way the model was trained, and draws images reproducibly from a
// seed. Stacked models (StackGAN Stage II, StackGAN++, AttnGAN) give every stage's images, smallest
// first; AttnGAN also its word-attention maps. The CLI's `sample` and the HTTP server both use it.
import fs from 'node:fs';

import {
  Generator,
  autocast,
  fastestMode,
  noGrad,
  randn,
  truncatedNormal,
  type Device,
  type MemoryFormat,
  type Tensor,
} from '../engine/index.js';
import { recomputeStandingStatistics } from '../nn/index.js';
import { loadCheckpoint, resolveRunCheckpoint } from '../artifacts/checkpoint.js';
import { encoderFileOf, loadLatentEncoder } from '../artifacts/latent-encoder.js';
import { generatorFromCheckpoint, type AnyGenerator } from '../artifacts/generators.js';
import { DamsmConditioner, TagConditioner, type Conditioner } from '../models/conditioning.js';
import type { LatentEncoder } from '../models/latent-encoder.js';
import { StackedGenerator } from '../models/stackgan/index.js';
import type { TextFeatures, TreeGenerator } from '../models/stackganpp/index.js';
import { tokenize } from '../text/index.js';
import {
  blendTags,
  checkEdit,
  directionsFileOf,
  editLatent,
  readDirections,
  type LatentDirections,
  type LatentEdit,
  type TagLayout,
} from './latent-edit.js';
import { disposeText, encodeText, interpolateText } from './text-features.js';
import { hasWordAttention, noWordAttention } from './word-attention.js';

export { directionsFileOf };

export interface GenerateOptions {
  /** Seed of the noise; the same seed gives the same images. */
  seed?: number;
  /**
   * Truncation trick (Brock et al. 2019): noise drawn from N(0, 1) cut to [-t, t]. Smaller t trades
   * variety for fidelity; none means the untruncated prior the generator was trained on.
   */
  truncation?: number;
  /** The side of the stage to return, for stacked models (default: the last, largest). */
  stage?: number;
}

/** What a model makes of a caption before generating: the words it does not know, or why it cannot. */
export interface CaptionCheck {
  unknownWords: string[];
  /** Set when the model cannot be conditioned on this text at all (tag models need both colours). */
  error?: string;
}

/** AttnGAN's word attention for some images. */
export interface WordAttentionMaps {
  /** Per attentional stage, [N, L, h, w] over that stage's input grid (zero past each caption's words). */
  maps: Tensor[];
  /** Per image, the words the maps are for, in order (unknown words as written). */
  words: string[][];
}

/**
 * How the generator computes: 'auto' (the default) takes the machine's fastest mode
 * (engine/fast-mode.ts: bf16 autocast and channels-last on a CPU with native bfloat16 and
 * libtorch 2.x), 'fp32' strict float32 in the default layout.
 */
export type InferencePrecision = 'auto' | 'fp32' | 'bf16';

export interface LoadOptions {
  precision?: InferencePrecision;
  memoryFormat?: MemoryFormat | 'auto';
  /**
   * Attribute directions of this model (`creativeai directions`); by default an export's
   * `<name>.directions.json` beside it, when there is one.
   */
  directions?: string;
  /**
   * The image → latent encoder of this model (a latent-encoder run or export); by default an
   * export's `<name>.encoder.safetensors` beside it, when there is one.
   */
  encoder?: string;
  /** Look for the directions and encoder beside the file when not given (default true). */
  companions?: boolean;
}

function isTree(g: AnyGenerator): g is TreeGenerator {
  return 'readsWords' in g;
}

/** Stage i (default the last, largest); the others are freed. */
function oneStage(stages: Tensor[], i = stages.length - 1): Tensor {
  stages.forEach((t, j) => j !== i && t.dispose());
  return stages[i]!;
}

export class TextToImagePipeline {
  /** Attribute directions in the noise space, when the model has them (latent-edit.ts). */
  directions: LatentDirections | undefined;
  /** The image → latent encoder, when the model has one: projection's first guess. */
  encoder: LatentEncoder | undefined;

  private constructor(
    /** One network (GAN-INT-CLS, WGAN-CLS, tag GAN, StackGAN Stage I), StackGAN's two stages, or a tree. */
    readonly G: AnyGenerator,
    readonly conditioner: Conditioner,
    readonly device: Device,
    readonly source: string,
    readonly model: string,
    readonly usedEma: boolean,
    /** The arithmetic of the generator's forward pass (the images come out float32 either way). */
    readonly precision: 'fp32' | 'bf16',
    readonly memoryFormat: MemoryFormat,
  ) {}

  /** A run directory (its newest checkpoint), a checkpoint (.json or .safetensors) or an export. */
  static load(model: string, device: Device = 'cpu', o: LoadOptions = {}): TextToImagePipeline {
    const ck = loadCheckpoint(resolveRunCheckpoint(model, false));
    try {
      return TextToImagePipeline.fromCheckpoint(ck, device, o);
    } finally {
      for (const t of ck.tensors.values()) t.dispose();
    }
  }

  /**
   * The pipeline of tensors and metadata as loadCheckpoint gives them (the tensors stay the
   * caller's); `ck.path` names the source and is where the directions and encoder beside it are looked for.
   */
  static fromCheckpoint(
    ck: { path: string; tensors: Map<string, Tensor>; metadata: Record<string, string> },
    device: Device = 'cpu',
    o: LoadOptions = {},
  ): TextToImagePipeline {
    const fast = fastestMode(device);
    const auto = o.precision === undefined || o.precision === 'auto';
    let precision = auto ? fast.precision : o.precision!;
    let memoryFormat = o.memoryFormat === undefined || o.memoryFormat === 'auto' ? fast.memoryFormat : o.memoryFormat;
    if (precision !== 'fp32' && precision !== 'bf16')
      throw new TypeError(`precision must be auto, fp32 or bf16; got '${String(precision)}'`);
    const kind = ck.metadata.model;
    if (kind === 'damsm') throw new Error(`${ck.path} is a DAMSM text/image encoder, not an image generator`);
    const { G, conditioner, usedEma } = generatorFromCheckpoint(ck.tensors, ck.metadata, device);
    // The tree generators ran slower in channels-last (bench:models): auto keeps their layout.
    if (isTree(G) && (o.memoryFormat === undefined || o.memoryFormat === 'auto')) memoryFormat = 'contiguous';
    if (memoryFormat !== 'contiguous')
      for (const net of G instanceof StackedGenerator ? [G.stage1, G.stage2] : [G]) net.to({ memoryFormat });
    // AttnGAN's word attention is a softmax over small differences of bf16 products: auto keeps
    // its maps (and so its images) in fp32.
    if (auto && isTree(G) && G.readsWords) precision = 'fp32';
    const pipe = new TextToImagePipeline(
      G,
      conditioner,
      device,
      ck.path,
      String(kind),
      usedEma,
      precision,
      memoryFormat,
    );
    const companions = o.companions ?? true;
    // A companion file is one beside the checkpoint (not the checkpoint itself) that exists.
    const beside = (file: string): string | undefined =>
      companions && file !== ck.path && fs.existsSync(file) ? file : undefined;
    const dirFile = o.directions ?? beside(directionsFileOf(ck.path));
    if (dirFile !== undefined) {
      const d = readDirections(dirFile);
      if (d.noiseDim !== pipe.noiseDim) {
        pipe.dispose();
        throw new Error(`${dirFile} holds ${d.noiseDim}-wide directions; ${ck.path} has ${pipe.noiseDim}-wide noise`);
      }
      pipe.directions = d;
    }
    const encFile = o.encoder ?? beside(encoderFileOf(ck.path));
    if (encFile !== undefined) {
      try {
        const e = loadLatentEncoder(encFile, device);
        if (e.net.o.noiseDim !== pipe.noiseDim || e.net.o.resolution !== pipe.resolution) {
          e.net.dispose();
          throw new Error(
            `${encFile} encodes ${e.net.o.resolution} px images into ${e.net.o.noiseDim} numbers; ${ck.path} draws ${pipe.resolution} px from ${pipe.noiseDim}`,
          );
        }
        pipe.encoder = e.net;
      } catch (e) {
        pipe.dispose();
        throw e;
      }
    }
    return pipe;
  }

  /**
   * Standing statistics (nn/standing-statistics.ts) for the trained network's batch norms (StackGAN
   * Stage II's only: its Stage I is frozen): one forward pass per batch of captions, noise from
   * `seed`. The pipeline samples with them from then on; returns the network's buffers under their
   * names in a model file (G.…), or an empty map when it has no batch norm.
   */
  recomputeStandingStatistics(batches: readonly (readonly string[])[], seed = 0): Map<string, Tensor> {
    const net = this.G instanceof StackedGenerator ? this.G.stage2 : this.G;
    const n = recomputeStandingStatistics(net, batches.length, (i) => {
      using z = this.noise(batches[i]!.length, seed + i);
      for (const t of this.generateStagesFrom(z, batches[i]!)) t.dispose();
    });
    return n === 0 ? new Map() : new Map(net.namedBuffers('G.'));
  }

  /** The side of the final (largest) images. */
  get resolution(): number {
    return this.stages[this.stages.length - 1]!;
  }

  /** The side of every image the model outputs, smallest first (one stage but for the stacked models). */
  get stages(): number[] {
    return this.G instanceof StackedGenerator || isTree(this.G) ? this.G.stages : [this.G.o.resolution];
  }

  /** Width of the noise vectors. */
  get noiseDim(): number {
    return this.G instanceof StackedGenerator ? this.G.noiseDim : this.G.o.noiseDim;
  }

  /** Whether the model attends to words and can return attention maps (AttnGAN past its first stage). */
  get hasAttention(): boolean {
    return hasWordAttention(this.model, this.stages.length);
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

  /** A tag model's colours, in the order of its condition's one-hot blocks; undefined for captions. */
  get tags(): TagLayout | undefined {
    if (!(this.conditioner instanceof TagConditioner)) return undefined;
    const v = this.conditioner.encoder.vocabulary;
    return { hair: v.hair, eyes: v.eyes };
  }

  /** Why `edit` cannot be made on this model (latent-edit.ts), or undefined. */
  checkEdit(edit: LatentEdit): string | undefined {
    return checkEdit(edit, this.directions, this.tags);
  }

  /** Unknown words of a caption, and for tag models whether both colours can be read. */
  check(caption: string): CaptionCheck {
    return this.conditioner.check(caption);
  }

  /** One image per caption (or tag text), [N, 3, R, R] in [-1, 1], R the side of `o.stage`. */
  generate(captions: readonly string[], o: GenerateOptions = {}): Tensor {
    if (captions.length === 0) throw new Error('generate() needs at least one caption');
    const i = o.stage === undefined ? this.stages.length - 1 : this.stages.indexOf(o.stage);
    if (i < 0)
      throw new RangeError(`${this.source} has no ${o.stage} px stage: its stages are ${this.stages.join(', ')} px`);
    using z = this.noise(captions.length, o.seed ?? 0, o.truncation);
    // The stages above the one asked for are not run: they cost the most.
    return oneStage(this.generateStagesFrom(z, captions, undefined, i + 1), i);
  }

  /**
   * Images for given noise [N, noiseDim] (on this pipeline's device) and N captions: lets a server
   * batch requests with different seeds into one forward pass. The last (largest) stage only.
   */
  generateFrom(z: Tensor, captions: readonly string[], edit?: LatentEdit): Tensor {
    return oneStage(this.generateStagesFrom(z, captions, edit));
  }

  /**
   * The final stage's images for noise z, with autograd on: gradients reach z (and any tensor it was
   * made from), not the frozen generator. For projection (projection.ts) and latent edits.
   */
  render(z: Tensor, captions: readonly string[]): Tensor {
    if (z.size(0) !== captions.length)
      throw new Error(`render() got ${z.size(0)} noise rows for ${captions.length} captions`);
    const text = noGrad(() => this.encode(captions));
    try {
      const { stages, attention } = this.forward(z, text);
      attention?.forEach((t) => t.dispose());
      return oneStage(stages);
    } finally {
      disposeText(text);
    }
  }

  /**
   * Every stage's images for given noise and captions, smallest first (see `stages`); with `edit`,
   * the noise and tags moved along attribute directions and truncated first (latent-edit.ts); with
   * `depth`, the first `depth` stages only.
   */
  generateStagesFrom(z: Tensor, captions: readonly string[], edit?: LatentEdit, depth?: number): Tensor[] {
    if (z.size(0) !== captions.length)
      throw new Error(`generateFrom() got ${z.size(0)} noise rows for ${captions.length} captions`);
    return noGrad(() => {
      const text = this.encode(captions);
      try {
        if (edit !== undefined) {
          const moved = editLatent(z, edit, this.directions, this.tags);
          try {
            const tags = this.tags;
            if (tags !== undefined) {
              const blended = blendTags(text.sentence, edit, tags);
              text.sentence.dispose();
              text.sentence = blended;
            }
            const { stages, attention } = this.forward(moved, text, depth);
            attention?.forEach((t) => t.dispose());
            return stages;
          } finally {
            moved.dispose();
          }
        }
        const { stages, attention } = this.forward(z, text, depth);
        attention?.forEach((t) => t.dispose());
        return stages;
      } finally {
        disposeText(text);
      }
    });
  }

  /**
   * AttnGAN: every stage's images and the word-attention maps behind them, with the words each map
   * belongs to. Throws for models without attention.
   */
  generateWithAttention(z: Tensor, captions: readonly string[]): { stages: Tensor[] } & WordAttentionMaps {
    if (!this.hasAttention || !(this.conditioner instanceof DamsmConditioner))
      throw new Error(noWordAttention(this.model));
    if (z.size(0) !== captions.length)
      throw new Error(`generateWithAttention() got ${z.size(0)} noise rows for ${captions.length} captions`);
    const vocab = this.conditioner.vocabulary;
    const words = captions.map((c) => {
      const n = vocab.encode(c).length;
      const w = tokenize(c).slice(0, n);
      return w.length > 0 ? w : ['<unk>'];
    });
    return noGrad(() => {
      const text = this.encode(captions);
      try {
        const { stages, attention } = this.forward(z, text);
        return { stages, maps: attention!, words };
      } finally {
        disposeText(text);
      }
    });
  }

  /** Captions as the generator reads them: the sentence embedding, and the words for AttnGAN. */
  private encode(captions: readonly string[]): TextFeatures {
    return encodeText(this.G, this.conditioner, captions, this.device);
  }

  /**
   * The generator on noise and text: one tensor per stage, smallest first (and AttnGAN's attention);
   * with `depth`, the first `depth` stages only.
   */
  private forward(z: Tensor, text: TextFeatures, depth?: number): { stages: Tensor[]; attention?: Tensor[] } {
    if (this.precision === 'fp32') return this.forwardAsIs(z, text, depth);
    const out = autocast(this.device, 'bfloat16', () => this.forwardAsIs(z, text, depth));
    const f32 = (ts: Tensor[]): Tensor[] =>
      ts.map((t) => {
        // Images in float32 and the default layout, whatever the network computed in.
        using f = t.float();
        t.dispose();
        return f.contiguous();
      });
    return out.attention ? { stages: f32(out.stages), attention: f32(out.attention) } : { stages: f32(out.stages) };
  }

  private forwardAsIs(z: Tensor, text: TextFeatures, depth?: number): { stages: Tensor[]; attention?: Tensor[] } {
    if (isTree(this.G)) {
      const out = this.G.forward(z, text, undefined, depth);
      out.mu.dispose();
      out.logvar.dispose();
      return out.attention ? { stages: out.stages, attention: out.attention } : { stages: out.stages };
    }
    // StackGAN's Stage I alone, when only its image is asked for.
    const net = this.G instanceof StackedGenerator && depth === 1 ? this.G.stage1 : this.G;
    const out = net.forward(z, text.sentence);
    out.mu?.dispose();
    out.logvar?.dispose();
    return { stages: 'stages' in out ? out.stages : [out.images] };
  }

  /**
   * Manifold interpolation (Reed et al. 2016, §4.3): the same noise, with the condition moving
   * linearly from the embedding of caption a to that of caption b in `steps` images.
   */
  interpolate(a: string, b: string, steps: number, o: GenerateOptions = {}): Tensor {
    return oneStage(this.interpolateStages(a, b, steps, o));
  }

  /** interpolate() with every stage's images, smallest first. */
  interpolateStages(a: string, b: string, steps: number, o: GenerateOptions = {}): Tensor[] {
    if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolation needs at least 2 steps, got ${steps}`);
    return noGrad(() => {
      using z1 = this.noise(1, o.seed ?? 0, o.truncation);
      using ze = z1.expand(steps, this.noiseDim);
      using z = ze.contiguous();
      const ta = this.encode([a]);
      const tb = this.encode([b]);
      const text = interpolateText(ta, tb, steps);
      try {
        const { stages, attention } = this.forward(z, text);
        attention?.forEach((t) => t.dispose());
        return stages;
      } finally {
        [ta, tb, text].forEach(disposeText);
      }
    });
  }

  dispose(): void {
    this.encoder?.dispose();
    this.G.dispose();
    this.conditioner.module?.dispose();
  }
}
