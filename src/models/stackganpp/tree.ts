// What the StackGAN++ and AttnGAN generators have in common: a tree of stages that each output an
// image (64, 128, 256 px), driven by noise and the text, sampled and trained by the same code.
import type { Generator, Tensor } from '../../engine/index.js';
import type { Module } from '../../nn/index.js';
import type { ConditioningAugmentation } from '../layers/conditioning-augmentation.js';

/** The text as a tree generator reads it. */
export interface TextFeatures {
  /** Sentence embedding [B, E]. */
  sentence: Tensor;
  /** Word features [B, D, L] (AttnGAN's attention reads them). */
  words?: Tensor;
  /** bool [B, L], true at padded word positions. */
  mask?: Tensor;
}

export interface TreeOutput {
  /** One image batch per stage, smallest first: [B, 3, r, r] in [-1, 1]. */
  stages: Tensor[];
  /** The conditioning-augmentation Gaussian (its KL term). */
  mu: Tensor;
  logvar: Tensor;
  /** AttnGAN: per attentional stage, the word attention [B, L, h, w] over that stage's input grid. */
  attention?: Tensor[];
}

export interface TreeGeneratorOptions {
  /** N_z: size of z. */
  noiseDim: number;
  /** Width of the sentence embedding. */
  embeddingDim: number;
  /** Size of the conditioning-augmentation code ĉ. */
  conditionDim: number;
  /** N_gf: channels of the first stage's features. */
  width: number;
  /** Residual blocks per refinement stage. */
  residualBlocks: number;
  /** Stages (3: 64, 128, 256). */
  branches: number;
  /** Side of the last stage's images (each stage doubles the one before). */
  resolution: number;
}

export interface TreeGenerator extends Module {
  readonly o: TreeGeneratorOptions;
  /** Image sides, smallest first. */
  readonly stages: number[];
  /** Whether forward() needs word features (AttnGAN). */
  readonly readsWords: boolean;
  /**
   * Every stage's images, smallest first; with `depth`, only the first `depth` stages run (a caller
   * that wants the 64 px image of a 256 px tree skips the larger stages, which cost the most).
   */
  forward(z: Tensor, text: TextFeatures, generator?: Generator, depth?: number): TreeOutput;
  /** The conditioning Gaussian's mean for sentence embeddings (StackGAN++'s discriminators read it). */
  conditionMean(sentence: Tensor): Tensor;
}

/** The side of every stage, checked: the first is a power of two of at least 8. */
export function stageSides(o: Pick<TreeGeneratorOptions, 'branches' | 'resolution'>): number[] {
  if (!Number.isInteger(o.branches) || o.branches < 1) throw new RangeError(`branches must be ≥ 1, got ${o.branches}`);
  const base = o.resolution / 2 ** (o.branches - 1);
  const ups = Math.log2(base / 4);
  if (!Number.isInteger(ups) || ups < 1)
    throw new RangeError(
      `resolution ${o.resolution} with ${o.branches} stages gives a first stage of ${base} px: it must be 8, 16, 32, 64, …`,
    );
  return Array.from({ length: o.branches }, (_, i) => base * 2 ** i);
}

/** Frees every tensor of a tree generator's output. */
export function disposeTreeOutput(o: TreeOutput): void {
  o.stages.forEach((t) => t.dispose());
  o.mu.dispose();
  o.logvar.dispose();
  o.attention?.forEach((t) => t.dispose());
}

/** The conditioning Gaussian's mean μ for sentence embeddings (no sampling, whatever the mode). */
export function conditionMean(ca: ConditioningAugmentation, sentence: Tensor): Tensor {
  return ca.inEvalMode(() => {
    const { condition, mu, logvar } = ca.forward(sentence);
    condition.dispose();
    logvar.dispose();
    return mu;
  });
}

/** The number of stages to run: all, or `depth` checked against the tree's. */
export function stageDepth(stages: readonly number[], depth?: number): number {
  if (depth === undefined) return stages.length;
  if (!Number.isInteger(depth) || depth < 1 || depth > stages.length)
    throw new RangeError(`depth must be 1 to ${stages.length} (the tree's stages), got ${depth}`);
  return depth;
}
