// The config sections every run has (data, train); each model adds its own (recipes/*).
import type { ConfigOf, Schema } from './config.js';
import { MODELS, recipeFor } from './recipes/index.js';
import { MEMORY_FORMATS } from '../engine/index.js';
import { PRECISIONS } from './precision.js';

export const commonSchema = {
  name: { kind: 'string', nullable: true, doc: 'run name (default: the config file name)' },
  model: { kind: 'string', choices: MODELS, doc: 'which model to train' },
  seed: { kind: 'number', int: true, min: 0, default: 0, doc: 'seeds weights, noise and data order' },
  data: {
    kind: 'object',
    fields: {
      cache: { kind: 'string', doc: 'a cache written by `creativeai prepare`' },
      resolution: { kind: 'number', int: true, min: 8, doc: 'image side the model trains at' },
      batchSize: { kind: 'number', int: true, min: 2, doc: 'images per batch' },
      workers: { kind: 'number', int: true, min: 0, default: 1, doc: 'threads assembling batches' },
      prefetch: { kind: 'number', int: true, min: 0, default: 2, doc: 'batches assembled ahead' },
    },
  },
  train: {
    kind: 'object',
    fields: {
      steps: { kind: 'number', int: true, min: 1, doc: 'generator (or encoder) updates in the whole run' },
      checkpointEvery: { kind: 'number', int: true, min: 1, default: 1000, doc: 'steps between checkpoints' },
      keep: { kind: 'number', int: true, min: 1, default: 3, doc: 'checkpoints kept besides the best' },
      logEvery: { kind: 'number', int: true, min: 1, default: 50, doc: 'steps between logged scalars' },
      sampleEvery: { kind: 'number', int: true, min: 1, default: 500, doc: 'steps between sample grids' },
      standingStats: {
        kind: 'number',
        int: true,
        min: 0,
        default: 0,
        doc: "batches of standing statistics (BigGAN): before each checkpoint and its evaluation, the sampled generator's batch-norm statistics are recomputed as the mean over this many batches of training captions; 0 keeps those it has (a moving average's are copied from the live generator)",
      },
      precision: {
        kind: 'string',
        choices: ['auto', ...PRECISIONS],
        default: 'auto',
        doc: 'auto (the fastest this device computes: bf16 on a CPU with native bfloat16, else fp32), fp32 (strict), tf32 (CUDA tensor cores, float32 storage), or mixed precision: bf16 (autocast) or fp16 (autocast + loss scaling)',
      },
      memoryFormat: {
        kind: 'string',
        choices: ['auto', ...MEMORY_FORMATS],
        default: 'auto',
        doc: "layout of the networks' convolution weights and the image batches: auto (channelsLast on the CPU with libtorch 2.x), contiguous, or channelsLast",
      },
    },
  },
} as const satisfies Schema;

/** The config sections every run has, as the recipes read them. */
export type CommonConfig = ConfigOf<typeof commonSchema>;

export function fullSchema(model: string): Schema {
  return { ...commonSchema, ...recipeFor(model).schema };
}
