// Which score a GAN run keeps its best checkpoint by, from its config: eval.classifier (an
// attribute-classifier run) scores tag models by attribute accuracy, eval.samples > 0 scores
// caption models by R-precision with the encoders of eval.damsm, by default the DAMSM they are
// conditioned on (condition.damsm; StackGAN's Stage II, conditioned through its Stage I, names it).
// The recipe only exposes its generator (sampler()); src/eval measures it.
import { loadAttributeClassifier } from '../artifacts/attribute-classifier.js';
import type { Device } from '../engine/index.js';
import { classifierNetwork, loadDamsmNetwork } from '../eval/feature-network.js';
import {
  attributeAccuracyMetric,
  withFid,
  rPrecisionMetric,
  type CheckpointMetric,
  type MetricRecord,
  type Sampler,
} from '../eval/checkpoint-metric.js';
import { TagConditioner } from '../models/conditioning.js';
import type { ConfigObject } from './config.js';
import type { ConditionalGanConfig } from './recipes/conditional-gan-config.js';
import type { CommonConfig } from './schema.js';

/** The eval.fid field of a recipe's schema: images for FID at each checkpoint, read by checkpointMetricFromConfig. */
export function fidSchema(doc: string) {
  return { kind: 'number', int: true, min: 0, default: 0, doc } as const;
}

/** The sections read here; a model's schema has the eval keys that apply to it (checked by resolveConfig). */
type MetricConfig = CommonConfig & {
  // fid: the tag projection GAN's and DF-GAN's schemas have it (FID beside attribute accuracy or R-precision).
  eval?: Partial<ConditionalGanConfig['eval']> & { fid?: number };
  condition?: Partial<ConditionalGanConfig['condition']>;
};

export function checkpointMetricFromConfig(
  config: ConfigObject,
  sampler: Sampler,
  records: readonly MetricRecord[],
  device: Device,
): CheckpointMetric | null {
  const c = config as unknown as MetricConfig;
  const e = c.eval;
  if (e === undefined) return null;
  const seed = c.seed;
  const classifier = e.classifier ?? null;
  const samples = e.samples ?? 0;
  if (classifier !== null && samples > 0)
    throw new Error('eval.classifier (tag models) and eval.samples (caption models) exclude each other: set one');
  if (classifier !== null) {
    if (!(sampler.conditioner instanceof TagConditioner))
      throw new Error('eval.classifier (attribute accuracy) needs condition.source tags');
    const vocab = sampler.conditioner.encoder.vocabulary;
    const attr = attributeAccuracyMetric(loadAttributeClassifier(classifier, device), {
      perCombo: e.perCombo ?? 4,
      seed: seed + 3000,
      records,
      hair: vocab.hair,
      eyes: vocab.eyes,
    });
    const fid = e.fid ?? 0;
    if (fid === 0) return attr;
    // The classifier's pool features stand in for Inception (feature-network.ts says why).
    return withFid(attr, classifierNetwork(classifier, 'cpu'), {
      dataset: c.data.cache,
      side: c.data.resolution,
      samples: fid,
      seed: seed + 4000,
      records,
    });
  }
  if (samples > 0) {
    const condition = c.condition;
    if (condition?.source === 'tags') throw new Error('eval.samples (R-precision) needs caption conditions, not tags');
    const damsm = e.damsm ?? (condition?.source === 'damsm' ? condition.damsm : null) ?? null;
    if (damsm === null)
      throw new Error('eval.samples (R-precision) needs a DAMSM to rank captions: eval.damsm or condition.damsm');
    // One load serves both scores: the image encoder ranks captions and, with eval.fid, gives the
    // features FID is measured on (as `creativeai eval` measures birds). Disposing it twice is a no-op.
    const { conditioner, image, network } = loadDamsmNetwork(damsm, device);
    const rprec = rPrecisionMetric({ text: conditioner, image: image! }, { samples, seed: seed + 2000, records });
    const fid = e.fid ?? 0;
    if (fid === 0) return rprec;
    return withFid(rprec, network, {
      dataset: c.data.cache,
      side: c.data.resolution,
      samples: fid,
      seed: seed + 4000,
      records,
    });
  }
  return null;
}
