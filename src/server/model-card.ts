// What the API says about a model: read from the safetensors header (no weights loaded) and from
// an optional `<name>.card.json` next to it with the measured metrics and training facts that
// docs/results.md reports for that model.
import fs from 'node:fs';
import path from 'node:path';

import { directionsFileOf, readDirections } from '../inference/directions-file.js';
import { hasWordAttention } from '../inference/word-attention.js';
import { readSafetensorsHeader } from '../io/index.js';
import { TagVocabulary } from '../text/index.js';
import type { Metric, ModelInfo } from './schemas.js';

export type ModelMetric = Metric;

/**
 * A model as GET /api/models describes it (schemas.ts: ModelInfo, less whether it is loaded now),
 * and the bytes of its weights in memory once loaded (float32), for the registry's memory limit.
 */
export type ModelCard = Omit<ModelInfo, 'loaded'> & { memoryBytes: number };

interface CardFile {
  title?: unknown;
  dataset?: unknown;
  description?: unknown;
  examples?: unknown;
  metrics?: unknown;
  training?: unknown;
  default?: unknown;
}

const FAMILY_TITLES: Record<string, string> = {
  'gan-int-cls': 'GAN-INT-CLS',
  'wgan-cls': 'WGAN-CLS',
  'tag-gan': 'Tag-conditioned GAN',
  dfgan: 'DF-GAN',
  'stackgan-stage1': 'StackGAN Stage I',
  'stackgan-stage2': 'StackGAN',
  'stackgan-pp': 'StackGAN++',
  attngan: 'AttnGAN',
};

/** The family's name; a Stage II on another family's generator is named after it ("WGAN-CLS + Stage II"). */
function familyTitle(family: string, stage1Model: string | undefined): string {
  if (family === 'stackgan-stage2' && stage1Model !== undefined && stage1Model !== 'stackgan-stage1')
    return `${FAMILY_TITLES[stage1Model] ?? stage1Model} + Stage II`;
  return FAMILY_TITLES[family] ?? family;
}

function stringArray(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${what} must be an array of strings`);
  return v as string[];
}

function parseJson(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}

/**
 * Tag blends of a tag model (every colour of its vocabulary its training faces have), and the noise
 * directions beside it (those of such colours).
 */
function directionsOf(file: string, meta: Record<string, string>): ModelInfo['directions'] {
  const out: ModelInfo['directions'] = [];
  const inData =
    meta.tagsInData === undefined
      ? null
      : TagVocabulary.fromJSON(parseJson(meta.tagsInData, `${file}: tagsInData metadata`));
  const drawable = (attribute: string, value: string): boolean =>
    inData === null || !(attribute === 'hair' || attribute === 'eyes') || inData[attribute].includes(value);
  if (meta.condition === 'tags' && meta.tags !== undefined) {
    const v = TagVocabulary.fromJSON(parseJson(meta.tags, `${file}: tags metadata`));
    for (const attribute of ['hair', 'eyes'] as const)
      for (const value of v[attribute])
        if (drawable(attribute, value)) out.push({ name: `${attribute}:${value}`, attribute, value, min: 0, max: 1 });
  }
  const sibling = directionsFileOf(file);
  if (fs.existsSync(sibling)) {
    const d = readDirections(sibling);
    for (const x of d.directions)
      if (drawable(x.attribute, x.value))
        out.push({ name: x.name, attribute: x.attribute, value: x.value, min: d.strengths.min, max: d.strengths.max });
  }
  return out;
}

/** The card of the exported model `file` (a .safetensors); throws with the reason if unusable. */
export function readModelCard(file: string): ModelCard {
  const name = path.basename(file, '.safetensors');
  const header = readSafetensorsHeader(file);
  const meta = header.metadata;
  const family = meta.model;
  if (family === undefined) throw new Error(`${file} has no "model" metadata: not a CreativeAI model`);
  if (family === 'damsm' || family === 'attribute-classifier' || family === 'latent-encoder')
    throw new Error(`${file} is a ${family} network, not an image generator`);
  const generator = parseJson(meta.generator, `${file}: generator metadata`) as { resolution?: unknown } | undefined;
  const resolution = typeof generator?.resolution === 'number' ? generator.resolution : 64;
  // Stacked models (StackGAN Stage II) list every stage they output, smallest first.
  const stages = parseJson(meta.stages, `${file}: stages metadata`);
  const resolutions =
    Array.isArray(stages) && stages.length > 0 && stages.every((x) => Number.isInteger(x) && x > 0)
      ? (stages as number[])
      : [resolution];
  const config = parseJson(meta.config, `${file}: config metadata`) as { data?: { cache?: unknown } } | undefined;
  const cache = typeof config?.data?.cache === 'string' ? path.basename(config.data.cache) : 'unknown';
  const examples =
    meta.sampleCaptions === undefined
      ? []
      : stringArray(parseJson(meta.sampleCaptions, `${file}: sampleCaptions`), 'sampleCaptions');

  const cardFile = file.replace(/\.safetensors$/, '.card.json');
  let card: CardFile = {};
  if (fs.existsSync(cardFile)) card = parseJson(fs.readFileSync(cardFile, 'utf8'), cardFile) as CardFile;

  if (card.default !== undefined && typeof card.default !== 'boolean')
    throw new Error(`${cardFile}: default must be true or false`);
  const metrics = card.metrics === undefined ? [] : (card.metrics as ModelMetric[]);
  if (!Array.isArray(metrics) || metrics.some((m) => typeof m?.name !== 'string' || typeof m.value !== 'string'))
    throw new Error(`${cardFile}: metrics must be an array of { name, value, detail? } strings`);
  const training: Record<string, string | number> = { ...(card.training as Record<string, string | number>) };
  if (meta.step !== undefined && training.steps === undefined) training.steps = Number(meta.step);

  return {
    name,
    title: typeof card.title === 'string' ? card.title : `${familyTitle(family, meta.stage1Model)} (${cache})`,
    family,
    dataset: typeof card.dataset === 'string' ? card.dataset : cache,
    description: typeof card.description === 'string' ? card.description : '',
    condition: meta.condition === 'tags' ? 'tags' : 'caption',
    resolutions,
    examples: card.examples === undefined ? examples : stringArray(card.examples, `${cardFile}: examples`),
    metrics,
    training,
    attention: hasWordAttention(family, resolutions.length),
    default: card.default === true,
    // One-stage models: a 256 px tree costs ~100 times a 64 px pass per optimisation step.
    invert: resolutions.length === 1,
    directions: directionsOf(file, meta),
    // Exports may be fp16 on disk; the pipeline runs in float32.
    memoryBytes: header.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1) * 4, 0),
  };
}
