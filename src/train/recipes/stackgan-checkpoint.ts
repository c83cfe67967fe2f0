// Rebuilding StackGAN generators from checkpoints and exports: a Stage-I network (StackGAN's own
// G₀, or the generator of a GAN-INT-CLS / WGAN-CLS / tag-GAN run, which Stage II can refine just
// the same) and the two stages stacked. Everything needed is in the file: the networks' options
// in its metadata, the frozen Stage I under `stage1.`, the text encoder under `text.`.
import type { Device, Tensor } from '../../engine/index.js';
import { conditionerFromMetadata, type Conditioner } from '../../models/conditioning.js';
import { ConditionalGenerator, type ConditionalGeneratorOptions } from '../../models/dcgan/conditional-generator.js';
import {
  Stage1Generator,
  Stage2Generator,
  StackedGenerator,
  type Stage1GeneratorOptions,
  type Stage1Source,
  type Stage2GeneratorOptions,
} from '../../models/stackgan/index.js';
import { withPrefix } from '../checkpoint.js';

/** The models whose generator can be StackGAN's Stage I. */
export const STAGE1_MODELS = ['stackgan-stage1', 'gan-int-cls', 'wgan-cls', 'tag-gan'] as const;

function parseOptions<T>(json: string | undefined, what: string): T {
  const o = JSON.parse(json ?? 'null') as T | null;
  if (o === null) throw new Error(`the checkpoint has no ${what} description`);
  return o;
}

/** An untrained Stage-I network of the kind `model` names, from its options (JSON). */
function buildStage1(model: string | undefined, options: string | undefined): Stage1Source {
  if (model === 'stackgan-stage1')
    return new Stage1Generator(parseOptions<Stage1GeneratorOptions>(options, 'Stage-I generator'));
  if (model !== undefined && (STAGE1_MODELS as readonly string[]).includes(model))
    return new ConditionalGenerator(parseOptions<ConditionalGeneratorOptions>(options, 'generator'));
  throw new Error(`a ${String(model)} checkpoint cannot be StackGAN's Stage I (it takes ${STAGE1_MODELS.join(', ')})`);
}

/** Loads the generator weights of a checkpoint (its moving average when there is one); true if EMA. */
function loadGenerator(m: Stage1Source | Stage2Generator, tensors: Map<string, Tensor>): boolean {
  const ema = withPrefix(tensors, 'G_ema.');
  m.loadStateDict(ema.size > 0 ? ema : withPrefix(tensors, 'G.'));
  return ema.size > 0;
}

/** Frozen for sampling or refining: float32 (exports may be fp16), on the device, eval mode, no gradients. */
function freeze<M extends Stage1Source | Stage2Generator>(m: M, device: Device): M {
  m.to('float32').to(device).eval().requiresGrad_(false);
  return m;
}

function conditionerFrom(tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device): Conditioner {
  const conditioner = conditionerFromMetadata(metadata);
  if (conditioner.module) {
    conditioner.module.loadStateDict(withPrefix(tensors, 'text.'));
    conditioner.module.to('float32').to(device);
  }
  return conditioner;
}

/**
 * A trained Stage I from a Stage-I or conditional-GAN checkpoint: its generator (the moving average
 * when there is one), frozen, and the conditioner it was trained with (Stage II must use the same).
 */
export function stage1FromCheckpoint(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): { stage1: Stage1Source; model: string; conditioner: Conditioner; usedEma: boolean } {
  const model = metadata.model;
  const stage1 = buildStage1(model, metadata.generator);
  const usedEma = loadGenerator(stage1, tensors);
  return {
    stage1: freeze(stage1, device),
    model: model!,
    conditioner: conditionerFrom(tensors, metadata, device),
    usedEma,
  };
}

/** A StackGAN checkpoint or export ready to sample: Stage I alone, or both stages stacked. */
export function stackganFromCheckpoint(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): { G: Stage1Generator | StackedGenerator; conditioner: Conditioner; usedEma: boolean } {
  if (metadata.model === 'stackgan-stage1') {
    const { stage1, conditioner, usedEma } = stage1FromCheckpoint(tensors, metadata, device);
    return { G: stage1 as Stage1Generator, conditioner, usedEma };
  }
  if (metadata.model !== 'stackgan-stage2') throw new Error(`${String(metadata.model)} is not a StackGAN model`);
  const stage1 = buildStage1(metadata.stage1Model, metadata.stage1Generator);
  stage1.loadStateDict(withPrefix(tensors, 'stage1.'));
  const stage2 = new Stage2Generator(parseOptions<Stage2GeneratorOptions>(metadata.generator, 'Stage-II generator'));
  const usedEma = loadGenerator(stage2, tensors);
  const G = new StackedGenerator(freeze(stage1, device), freeze(stage2, device));
  return { G, conditioner: conditionerFrom(tensors, metadata, device), usedEma };
}
