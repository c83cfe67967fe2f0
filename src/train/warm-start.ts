// A run that starts from another run's weights (a larger model grown from a smaller one, or a model
// file continued when its run's checkpoints are gone): the source's best checkpoint or the file,
// checked to be the same kind of model on the same sentence encoder, since the kept layers learnt to
// read that encoder's features. An exported file may hold the encoder in fp16: it is compared at the
// file's precision.
import {
  imagesBefore,
  loadCheckpoint,
  resolveRunCheckpoint,
  withPrefix,
  type LoadedCheckpoint,
} from '../artifacts/checkpoint.js';
import { noGrad, tidy } from '../engine/index.js';
import type { Conditioner } from '../models/conditioning.js';
import type { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Schema } from './config.js';
import type { StartedFrom } from './recipe.js';

/**
 * A warm start's source for the run's record: the file, its step and the real images shown to its
 * discriminator by then (StyleGAN's kimg; D-only steps count): step × batch, plus those before its
 * own run when that run started from another model (imagesBefore: an export's record, or the run
 * directory of a checkpoint).
 */
export function startedFromOf(ck: LoadedCheckpoint): StartedFrom {
  const step = ck.metadata.step !== undefined ? Number(ck.metadata.step) : null;
  let batch: number | null = null;
  try {
    batch = (JSON.parse(ck.metadata.config ?? '{}') as { data?: { batchSize?: number } }).data?.batchSize ?? null;
  } catch {
    // a file without a readable config: the images are not known
  }
  const before = imagesBefore(ck);
  return { file: ck.path, step, images: step !== null && batch !== null ? step * batch + before : null };
}

/** The checkpoint of `from` (its best, else its newest); the caller disposes its tensors. */
export function readWarmStart(
  from: string,
  model: string,
  text: Module | null | undefined,
  option = 'grow.from',
): LoadedCheckpoint {
  const ck = loadCheckpoint(resolveRunCheckpoint(from, true));
  try {
    if (ck.metadata.model !== model)
      throw new Error(`${option}: ${ck.path} is not a ${model} checkpoint (model: ${ck.metadata.model})`);
    if (text !== null && text !== undefined)
      for (const [k, t] of text.stateDict()) {
        const there = ck.tensors.get(`text.${k}`);
        const same =
          there !== undefined &&
          there.shape.join() === t.shape.join() &&
          noGrad(() =>
            tidy(() => t.to({ dtype: there.dtype }).float().sub(there.to(t.device).float()).abs().max().item()),
          ) === 0;
        if (!same)
          throw new Error(
            `${option}: ${ck.path} was trained on another sentence encoder than condition.damsm (text.${k} differs)`,
          );
      }
    return ck;
  } catch (e) {
    for (const t of ck.tensors.values()) t.dispose();
    throw e;
  }
}

/** The `init` section of a GAN config: going on from a model file (DF-GAN, the tag projection GAN). */
export const initSchema = {
  from: {
    kind: 'string',
    nullable: true,
    doc: 'a model file (creativeai export) or checkpoint of this model and layout whose generator starts G and the EMA (D too when it has one): how a run goes on from the committed model when its checkpoints are gone',
  },
  discriminatorSteps: {
    kind: 'number',
    int: true,
    min: 0,
    default: 0,
    doc: 'steps at the start that train D alone, G and its EMA held, so that a fresh D catches up with a trained G',
  },
  generatorWarmup: {
    kind: 'number',
    int: true,
    min: 0,
    default: 0,
    doc: "steps after the D-only ones over which G's learning rate rises linearly from 0 to optim.generator.lr, so that a trained G's first updates against a new D are small",
  },
} as const satisfies Schema;

/**
 * G's learning rate at `step` (0-based) of a run with an init section: 0 while D trains alone, then
 * a linear rise over generatorWarmup steps to `lr`. A function of the step alone, so resuming
 * mid-warm-up needs no state.
 */
export function generatorLr(
  lr: number,
  init: { discriminatorSteps: number; generatorWarmup: number },
  step: number,
): number {
  const t = step - init.discriminatorSteps;
  if (t < 0) return 0;
  return init.generatorWarmup > 0 ? lr * Math.min(1, (t + 1) / init.generatorWarmup) : lr;
}

/** Sets G's optimizer to its rate at `step` (generatorLr); logged as lr/G while it is warming up. */
export function setGeneratorLr(
  optimizer: Optimizer,
  lr: number,
  init: { discriminatorSteps: number; generatorWarmup: number },
  step: number,
  scalars: Record<string, number>,
  logging: boolean,
): void {
  optimizer.lr = generatorLr(lr, init, step);
  if (logging && optimizer.lr < lr) scalars['lr/G'] = optimizer.lr;
}

/** What a recipe hands startFrom: its networks and what conditions them. */
export interface StartFromNets {
  G: Module & { readonly o: object };
  shadow: Module | null;
  D: Module;
  conditioner: Conditioner;
}

/**
 * A new run's G and EMA from `from`'s generator (its moving average when it has one: an export
 * holds only that), D from its D when it has one, else D stays fresh. The file must be the same
 * model with the same generator options and conditioning. Returns a line for the log and the
 * source for the run's record.
 */
export function startFrom(
  from: string,
  model: string,
  nets: StartFromNets,
  discriminatorSteps: number,
): { log: string; startedFrom: StartedFrom } {
  const ck = readWarmStart(from, model, nets.conditioner.module, 'init.from');
  try {
    const there = JSON.parse(ck.metadata.generator ?? '{}') as Record<string, unknown>;
    for (const [k, v] of Object.entries(nets.G.o))
      if (JSON.stringify(there[k]) !== JSON.stringify(v))
        throw new Error(
          `init.from: ${ck.path} has another generator layout (${k} ${JSON.stringify(there[k])} there, ${JSON.stringify(v)} here)`,
        );
    for (const [k, v] of Object.entries(nets.conditioner.metadata()))
      if (k !== 'tagsInData' && ck.metadata[k] !== v)
        throw new Error(`init.from: ${ck.path} was trained with another conditioning (its ${k} differs)`);
    const G = withPrefix(ck.tensors, 'G.');
    const shadow = withPrefix(ck.tensors, 'G_ema.');
    const D = withPrefix(ck.tensors, 'D.');
    nets.G.loadStateDict(G);
    nets.shadow?.loadStateDict(shadow.size > 0 ? shadow : G);
    if (D.size > 0) nets.D.loadStateDict(D);
    const weights = ck.metadata.weights === 'ema' ? 'its moving average' : 'its generator';
    const log =
      `started from ${ck.path} (step ${ck.metadata.step ?? '?'}): G and EMA from ${weights}, ` +
      (D.size > 0 ? 'D from its D' : 'D fresh') +
      (discriminatorSteps > 0 ? `; D alone for the first ${discriminatorSteps} steps` : '');
    return { log, startedFrom: startedFromOf(ck) };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
