// Rebuilding a trained generator from a checkpoint or an export, for every model kind, in one place.
// Everything needed is in the file: the networks' options in its metadata (`generator`, and for
// StackGAN's Stage II `stage1Model`/`stage1Generator`), the weights under `G_ema.` (the moving
// average, preferred) or `G.`, a frozen Stage I under `stage1.`, the text encoder under `text.`.
// Sampling, serving, evaluation and Stage-II training all load generators through here.
import type { Device, Tensor } from '../engine/index.js';
import { AttnGanGenerator } from '../models/attngan/index.js';
import { TagConditioner, conditionerFromMetadata, type Conditioner } from '../models/conditioning.js';
import { ConditionalGenerator, type ConditionalGeneratorOptions } from '../models/dcgan/conditional-generator.js';
import { DfGenerator, type DfGeneratorOptions } from '../models/dfgan/index.js';
import { TagGenerator, type TagGeneratorOptions } from '../models/projection/index.js';
import {
  Stage1Generator,
  Stage2Generator,
  StackedGenerator,
  type Stage1GeneratorOptions,
  type Stage2GeneratorOptions,
} from '../models/stackgan/index.js';
import {
  StackGanPlusPlusGenerator,
  type TreeGenerator,
  type TreeGeneratorOptions,
} from '../models/stackganpp/index.js';
import type { Module } from '../nn/index.js';
import { withPrefix } from './checkpoint.js';

/** The one-network conditional GANs (a DCGAN generator on a text or tag code). */
export const CONDITIONAL_MODELS = ['gan-int-cls', 'wgan-cls', 'tag-gan'] as const;
/**
 * The models whose generator can be StackGAN's Stage I: its own, the one-network GANs ("WGAN-CLS +
 * Stage II") and DF-GAN (a refiner on the 64 px DF-GAN, against growing it: issue 18).
 */
export const STAGE1_MODELS = ['stackgan-stage1', ...CONDITIONAL_MODELS, 'dfgan'] as const;
/** The generators that grow a tree of stages (StackGAN++, AttnGAN). */
export const TREE_MODELS = ['stackgan-pp', 'attngan'] as const;
export type TreeModel = (typeof TREE_MODELS)[number];

export type AnyGenerator =
  ConditionalGenerator | Stage1Generator | StackedGenerator | TreeGenerator | TagGenerator | DfGenerator;

/** A generator ready to sample, the conditioner it was trained with, and whether its weights are the EMA. */
export interface LoadedGenerator<G extends AnyGenerator = AnyGenerator> {
  G: G;
  conditioner: Conditioner;
  usedEma: boolean;
}

export function isTreeModel(model: string | undefined): model is TreeModel {
  return (TREE_MODELS as readonly (string | undefined)[]).includes(model);
}

/** A fresh tree generator of the kind `model` names. */
export function buildTreeGenerator(model: string, o: TreeGeneratorOptions & { wordDim?: number }): TreeGenerator {
  if (model === 'stackgan-pp') return new StackGanPlusPlusGenerator(o);
  if (model === 'attngan') {
    if (o.wordDim === undefined) throw new Error('an AttnGAN generator needs wordDim');
    return new AttnGanGenerator({ ...o, wordDim: o.wordDim });
  }
  throw new Error(`${model} is not a tree model (${TREE_MODELS.join(', ')})`);
}

function parseOptions<T>(json: string | undefined, what: string): T {
  const o = JSON.parse(json ?? 'null') as T | null;
  if (o === null) throw new Error(`the checkpoint has no ${what} description (is it a GAN checkpoint?)`);
  return o;
}

/** An untrained Stage-I network of the kind `model` names, from its options (JSON). */
function buildStage1(
  model: string | undefined,
  options: string | undefined,
): Stage1Generator | ConditionalGenerator | DfGenerator {
  if (model === 'stackgan-stage1')
    return new Stage1Generator(parseOptions<Stage1GeneratorOptions>(options, 'Stage-I generator'));
  if (model === 'dfgan') return new DfGenerator(parseOptions<DfGeneratorOptions>(options, 'DF-GAN generator'));
  if (model !== undefined && (STAGE1_MODELS as readonly string[]).includes(model))
    return new ConditionalGenerator(parseOptions<ConditionalGeneratorOptions>(options, 'generator'));
  throw new Error(`a ${String(model)} checkpoint cannot be StackGAN's Stage I (it takes ${STAGE1_MODELS.join(', ')})`);
}

/** The Stage I a Stage-II file or checkpoint holds (`stage1.`), built and loaded, not yet frozen. */
function innerStage1(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
): Stage1Generator | ConditionalGenerator | DfGenerator {
  const stage1 = buildStage1(metadata.stage1Model, metadata.stage1Generator);
  stage1.loadStateDict(withPrefix(tensors, 'stage1.'));
  return stage1;
}

/** Loads a generator's weights, its moving average when the file has one; true if it did. */
function loadWeights(G: Module, tensors: Map<string, Tensor>, prefix = 'G'): boolean {
  const ema = withPrefix(tensors, `${prefix}_ema.`);
  G.loadStateDict(ema.size > 0 ? ema : withPrefix(tensors, `${prefix}.`));
  return ema.size > 0;
}

/** Frozen for sampling or refining: float32 (exports may be fp16), on the device, eval mode, no gradients. */
function freeze<M extends Module>(m: M, device: Device): M {
  m.to('float32').to(device).eval().requiresGrad_(false);
  return m;
}

/** The conditioner named in the metadata, with its text encoder's weights (`text.`) when it has one. */
function conditionerFrom(tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device): Conditioner {
  const conditioner = conditionerFromMetadata(metadata);
  if (conditioner.module) {
    conditioner.module.loadStateDict(withPrefix(tensors, 'text.'));
    conditioner.module.to('float32').to(device);
  }
  return conditioner;
}

/**
 * A trained Stage I from a Stage-I or conditional-GAN checkpoint, or the one inside a Stage-II file:
 * its generator, frozen, and the conditioner it was trained with (Stage II must use the same).
 */
export function stage1FromCheckpoint(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): LoadedGenerator<Stage1Generator | ConditionalGenerator | DfGenerator> & { model: string } {
  // A Stage-II file or checkpoint holds the Stage I it refined: a new Stage II can refine that one
  // when the Stage-I run itself is gone.
  if (metadata.model === 'stackgan-stage2') {
    return {
      G: freeze(innerStage1(tensors, metadata), device),
      model: metadata.stage1Model!,
      conditioner: conditionerFrom(tensors, metadata, device),
      usedEma: false,
    };
  }
  const stage1 = buildStage1(metadata.model, metadata.generator);
  const usedEma = loadWeights(stage1, tensors);
  return {
    G: freeze(stage1, device),
    model: metadata.model!,
    conditioner: conditionerFrom(tensors, metadata, device),
    usedEma,
  };
}

type Builder = (tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device) => LoadedGenerator;

function conditional(tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device): LoadedGenerator {
  const G = new ConditionalGenerator(parseOptions<ConditionalGeneratorOptions>(metadata.generator, 'generator'));
  const usedEma = loadWeights(G, tensors);
  return { G: freeze(G, device), conditioner: conditionerFrom(tensors, metadata, device), usedEma };
}

function stackgan(tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device): LoadedGenerator {
  if (metadata.model === 'stackgan-stage1') return stage1FromCheckpoint(tensors, metadata, device);
  const stage1 = innerStage1(tensors, metadata);
  const stage2 = new Stage2Generator(parseOptions<Stage2GeneratorOptions>(metadata.generator, 'Stage-II generator'));
  const usedEma = loadWeights(stage2, tensors);
  const G = new StackedGenerator(freeze(stage1, device), freeze(stage2, device));
  return { G, conditioner: conditionerFrom(tensors, metadata, device), usedEma };
}

function tree(tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device): LoadedGenerator {
  const options = parseOptions<TreeGeneratorOptions & { wordDim?: number }>(metadata.generator, 'generator');
  const G = buildTreeGenerator(String(metadata.model), options);
  const usedEma = loadWeights(G, tensors);
  return { G: freeze(G, device), conditioner: conditionerFrom(tensors, metadata, device), usedEma };
}

function tagProjection(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): LoadedGenerator {
  const conditioner = conditionerFrom(tensors, metadata, device);
  if (!(conditioner instanceof TagConditioner))
    throw new Error('a tag-projection-gan checkpoint must hold its tag vocabulary');
  const G = new TagGenerator(parseOptions<TagGeneratorOptions>(metadata.generator, 'generator'));
  const usedEma = loadWeights(G, tensors);
  return { G: freeze(G, device), conditioner, usedEma };
}

function dfgan(tensors: Map<string, Tensor>, metadata: Record<string, string>, device: Device): LoadedGenerator {
  const G = new DfGenerator(parseOptions<DfGeneratorOptions>(metadata.generator, 'generator'));
  const usedEma = loadWeights(G, tensors);
  return { G: freeze(G, device), conditioner: conditionerFrom(tensors, metadata, device), usedEma };
}

/** Model kind (the `model` metadata key) → how to rebuild its generator. */
const BUILDERS: Readonly<Record<string, Builder>> = {
  'gan-int-cls': conditional,
  'wgan-cls': conditional,
  'tag-gan': conditional,
  'stackgan-stage1': stackgan,
  'stackgan-stage2': stackgan,
  'stackgan-pp': tree,
  attngan: tree,
  'tag-projection-gan': tagProjection,
  dfgan,
};

/** The model kinds this module can rebuild a generator for. */
export const GENERATOR_MODELS: readonly string[] = Object.keys(BUILDERS);

/** The generator of a checkpoint or export (tensors and metadata as loadCheckpoint gives them), frozen on `device`. */
export function generatorFromCheckpoint(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  device: Device,
): LoadedGenerator {
  const model = metadata.model;
  if (model === 'damsm') throw new Error('a DAMSM checkpoint is a text/image encoder, not an image generator');
  if (model === 'attribute-classifier') throw new Error('an attribute-classifier checkpoint is not an image generator');
  const build = model === undefined ? undefined : BUILDERS[model];
  if (!build)
    throw new Error(`unknown model kind '${String(model)}': this build rebuilds ${GENERATOR_MODELS.join(', ')}`);
  return build(tensors, metadata, device);
}
