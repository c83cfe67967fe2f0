// Which score a GAN run keeps its best checkpoint by, from its config: eval.classifier (an
// attribute-classifier run) scores tag models by attribute accuracy, eval.samples > 0 scores
// caption models by R-precision with the encoders of eval.damsm, by default the DAMSM they are
// conditioned on (condition.damsm; StackGAN's Stage II, conditioned through its Stage I, names it).
// The recipe only exposes its generator (sampler()); src/eval measures it.
import { loadAttributeClassifier } from '../artifacts/attribute-classifier.js';
import { loadDamsm } from '../artifacts/damsm.js';
import type { Device } from '../engine/index.js';
import {
  attributeAccuracyMetric,
  rPrecisionMetric,
  type CheckpointMetric,
  type MetricRecord,
  type Sampler,
} from '../eval/checkpoint-metric.js';
import { TagConditioner } from '../models/conditioning.js';
import type { ConfigObject } from './config.js';

export function checkpointMetricFromConfig(
  config: ConfigObject,
  sampler: Sampler,
  records: readonly MetricRecord[],
  device: Device,
): CheckpointMetric | null {
  const e = config.eval as ConfigObject | undefined;
  if (e === undefined) return null;
  const seed = config.seed as number;
  const classifier = (e.classifier ?? null) as string | null;
  const samples = (e.samples ?? 0) as number;
  if (classifier !== null && samples > 0)
    throw new Error('eval.classifier (tag models) and eval.samples (caption models) exclude each other: set one');
  if (classifier !== null) {
    if (!(sampler.conditioner instanceof TagConditioner))
      throw new Error('eval.classifier (attribute accuracy) needs condition.source tags');
    const vocab = sampler.conditioner.encoder.vocabulary;
    return attributeAccuracyMetric(loadAttributeClassifier(classifier, device), {
      perCombo: e.perCombo as number,
      seed: seed + 3000,
      records,
      hair: vocab.hair,
      eyes: vocab.eyes,
    });
  }
  if (samples > 0) {
    const c = config.condition as ConfigObject | undefined;
    if (c?.source === 'tags') throw new Error('eval.samples (R-precision) needs caption conditions, not tags');
    const damsm = (e.damsm ?? (c?.source === 'damsm' ? c.damsm : null) ?? null) as string | null;
    if (damsm === null)
      throw new Error('eval.samples (R-precision) needs a DAMSM to rank captions: eval.damsm or condition.damsm');
    const { conditioner, image } = loadDamsm(damsm, true);
    conditioner.module.to(device);
    return rPrecisionMetric({ text: conditioner, image: image!.to(device) }, { samples, seed: seed + 2000, records });
  }
  return null;
}
