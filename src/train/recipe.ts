// What a model brings to the shared training loop: its networks and optimizers (saved in
// checkpoints), one training iteration, a sample grid from fixed inputs, the generator the
// checkpoint metric measures (or its own validation metrics) and the metadata that makes a
// checkpoint self-contained for sampling.
import type { Device, Generator, MemoryFormat, Tensor } from '../engine/index.js';
import type { Sampler } from '../eval/checkpoint-metric.js';
import type { Batch, CacheReader } from '../data/index.js';
import type { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { ConfigObject, Schema } from './config.js';
import type { MixedPrecision } from './precision.js';

export interface RecipeContext {
  config: ConfigObject;
  device: Device;
  /** The training data (for vocabularies, tag sets and fixed sample captions). */
  data: CacheReader;
  /** The run's own generator for noise and other draws in the loop (saved in checkpoints). */
  rng: Generator;
  log: (msg: string) => void;
  /** The run's arithmetic: backward() and minimize() take it for float16 loss scaling. */
  precision: MixedPrecision;
}

export interface AuxiliaryData {
  /** A prepared cache (its training split is read). */
  cache: string;
  batchSize: number;
  /** Image sides of its batches (default: the main stream's). */
  resolutions?: number[];
}

export interface StepOptions {
  logging: boolean;
  /** This step's batch of the recipe's auxiliary stream, when it declares one. */
  auxiliary?: Batch;
}

/** Where a run's weights came from when it did not start from nothing (run.json `startedFrom`). */
export interface StartedFrom {
  /** The file (model or checkpoint) read. */
  file: string;
  /** Its step, and the images its generator had seen (step × its batch), when it records them. */
  step: number | null;
  images: number | null;
}

export interface StepResult {
  /** Scalars for the progress line, metrics.jsonl and TensorBoard. */
  scalars: Record<string, number>;
  /** Images consumed this iteration (for img/s). */
  images: number;
}

export interface Recipe {
  /** Networks by name; their state dicts go into checkpoints under `<name>.`. */
  readonly modules: Map<string, Module>;
  readonly optimizers: Map<string, Optimizer>;
  /** Image sides every batch must carry (default: data.resolution alone); multi-scale models need several. */
  readonly resolutions?: number[];
  /** Batches consumed by one step (critic steps use one each). */
  readonly batchesPerStep: number;
  /**
   * A second stream of training images, one batch per step beside the main ones (uncaptioned
   * birds for an image encoder's species loss or an unconditional discriminator term). Its
   * position is the step count, so resumes stay exact.
   */
  readonly auxiliary?: AuxiliaryData;
  /**
   * Called once when a run starts at step 0 (never on a resume, whose checkpoint holds everything):
   * warm starts from another run, such as a larger DF-GAN grown from a smaller one. A start from
   * another model's weights returns where they came from, for the run's record.
   */
  initialize?(): StartedFrom | void;
  /** One iteration from the batches given (length batchesPerStep); collects its own scalars. */
  step(batches: Batch[], step: number, opts: StepOptions): StepResult;
  /** Images from fixed noise and fixed conditions, [N, 3, H, W] in [-1, 1], with the row length. */
  samples?(): { images: Tensor; nrow: number };
  /**
   * A GAN's generator as src/eval measures it: the trainer scores each checkpoint with the metric
   * the config's eval section names (train/checkpoint-metric.ts) and keeps the best.
   */
  sampler?(): Sampler;
  /**
   * Validation metrics of a model that is its own judge (the attribute classifier's accuracy,
   * DAMSM's loss); the trainer logs them and keeps the best checkpoint by `best`.
   */
  evaluate?(): Promise<Record<string, number>>;
  readonly best?: { metric: string; mode: 'min' | 'max' };
  /** Strings stored in checkpoints (config, vocabularies) so sampling needs nothing else. */
  metadata(): Record<string, string>;
  /** Frees what the recipe holds beyond its modules (fixed noise, encoders). */
  dispose(): void;
}

export interface RecipeFactory {
  readonly model: string;
  /** Config sections beyond the common ones (train, data, optim). */
  readonly schema: Schema;
  /**
   * The layout 'auto' gives this model's networks where channels-last is on offer (libtorch 2.x on
   * a CPU), from `npm run bench:models` (docs/results.md); default channels-last.
   */
  readonly memoryFormat?: MemoryFormat;
  create(ctx: RecipeContext): Recipe;
}
