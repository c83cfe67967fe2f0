// The networks FID, KID, diversity and IS read images with. The standard one is the FID
// Inception-v3 with the user's weights file; without it the project's own networks stand in — the
// attribute classifier for tag models, the DAMSM image encoder for caption models — and every
// number they give carries their name ("FID (project features: …)"), so that it can never be taken
// for, or compared with, a standard FID.
import path from 'node:path';

import { noGrad, tidy, type Device, type Tensor } from '../engine/index.js';
import { readSafetensorsHeader } from '../io/index.js';
import type { DamsmImageEncoder } from '../models/damsm/index.js';
import { resolveCheckpointWeights } from '../artifacts/checkpoint.js';
import { loadAttributeClassifier, type LoadedAttributeClassifier } from '../artifacts/attribute-classifier.js';
import { loadDamsm } from '../artifacts/damsm.js';
import { INCEPTION_FEATURES, loadInception, verifyInceptionWeights } from './inception.js';

export interface FeatureNetwork {
  /** Identifies the network and its weights: statistics with different names are never compared. */
  readonly name: string;
  /** True only for the FID Inception-v3 with the reference weights. */
  readonly standard: boolean;
  /** The weights file it was loaded from. */
  readonly source: string;
  /** Feature size D. */
  readonly dim: number;
  /** Classes of its probabilities (IS); 0 when it has none. */
  readonly classes: number;
  /**
   * Features [B, D] and, when it classifies, probabilities [B, K] of images [B, 3, H, W] in
   * [-1, 1], both float32 on the CPU.
   */
  extract(images: Tensor): { features: Tensor; probs: Tensor | null };
  dispose(): void;
}

/** How a metric is reported on a network: plain for the standard one, else named after it. */
export function metricLabel(metric: 'FID' | 'KID' | 'IS' | 'Diversity', net: FeatureNetwork): string {
  if (net.standard) return metric === 'Diversity' ? 'Diversity (Inception pool3)' : metric;
  if (net.name === UNVERIFIED_INCEPTION) return `${metric} (Inception-v3 with unverified weights)`;
  return metric === 'IS' ? `IS (project classifier: ${net.name})` : `${metric} (project features: ${net.name})`;
}

/** The name of the Inception-v3 features when the weights file is not verified as pytorch-fid's. */
export const UNVERIFIED_INCEPTION = `${INCEPTION_FEATURES} (unverified weights)`;

/**
 * The FID Inception-v3: pool3 features, and softmax over the 1008 bias-free logits for IS. Standard
 * only when the weights verify as pytorch-fid's (verifyInceptionWeights); `warn` hears why not.
 */
export function inceptionNetwork(
  weights: string,
  device: Device = 'cpu',
  warn: (message: string) => void = () => undefined,
): FeatureNetwork {
  const model = loadInception(weights, device);
  const check = verifyInceptionWeights(weights);
  if (!check.verified)
    warn(
      `warning: ${weights} is not verified as pytorch-fid's Inception weights (${check.reason}): scores are labelled so`,
    );
  return {
    name: check.verified ? INCEPTION_FEATURES : UNVERIFIED_INCEPTION,
    standard: check.verified,
    source: weights,
    dim: 2048,
    classes: 1008,
    extract: (images) =>
      noGrad(() =>
        tidy(() => {
          const out = model.forward(images.to(device));
          return { features: out.pool.to('cpu'), probs: out.logitsUnbiased.softmax(1).to('cpu') };
        }),
      ),
    dispose: () => model.dispose(),
  };
}

/** The checkpoint a run directory or file resolves to (best first), and its identity. */
function identify(p: string): { file: string; model: string; name: string } {
  const file = resolveCheckpointWeights(p, true);
  const md = readSafetensorsHeader(file).metadata;
  let run = path.basename(file, '.safetensors');
  try {
    const c = JSON.parse(md.config ?? '{}') as { name?: string; seed?: number };
    // Two runs of one config differ by their seed: the label tells their numbers apart.
    run = (c.name ?? run) + (c.seed !== undefined && c.seed !== 0 ? `-seed${c.seed}` : '');
  } catch {
    // an export without a readable config keeps its file name
  }
  return { file, model: md.model ?? 'unknown', name: md.step !== undefined ? `${run}@${md.step}` : run };
}

/**
 * The attribute classifier as a feature network: its last convolutional map averaged over the
 * grid (AttributeClassifier.embed), and for IS the joint hair × eye distribution p(h)·p(e) over
 * all combinations (the heads are separate softmaxes, read as independent given the image).
 */
export function classifierNetwork(p: string, device: Device = 'cpu'): FeatureNetwork {
  const id = identify(p);
  const cls: LoadedAttributeClassifier = loadAttributeClassifier(p, device);
  const channels = cls.model.featureDim;
  const [nh, ne] = cls.model.o.heads as [number, number];
  return {
    name: `${id.name}/pool${channels}`,
    standard: false,
    source: cls.source,
    dim: channels,
    classes: nh * ne,
    extract: (images) =>
      noGrad(() =>
        tidy(() => {
          const { features, logits } = cls.model.embed(images.to(device));
          const [h, e] = logits.map((l) => l.softmax(1)) as [Tensor, Tensor];
          const joint = h
            .unsqueeze(2)
            .mul(e.unsqueeze(1))
            .reshape(images.size(0), nh * ne);
          return { features: features.to('cpu'), probs: joint.to('cpu') };
        }),
      ),
    dispose: () => cls.dispose(),
  };
}

/** A loaded DAMSM image encoder as a feature network: its global image feature (no classes). */
export function damsmNetwork(image: DamsmImageEncoder, name: string, source: string, device: Device): FeatureNetwork {
  return {
    name: `${name}/global${image.embeddingDim}`,
    standard: false,
    source,
    dim: image.embeddingDim,
    classes: 0,
    extract: (images) =>
      noGrad(() =>
        tidy(() => {
          const f = image.forward(images.to(device));
          return { features: f.global.to('cpu'), probs: null };
        }),
      ),
    dispose: () => image.dispose(),
  };
}

/** A DAMSM run: its text encoder (conditioner) and its image encoder as a feature network. */
export function loadDamsmNetwork(
  p: string,
  device: Device = 'cpu',
): ReturnType<typeof loadDamsm> & {
  network: FeatureNetwork;
} {
  const id = identify(p);
  if (id.model !== 'damsm')
    throw new Error(
      `${id.file} is not a DAMSM checkpoint (model: ${id.model}): R-precision and FID need a DAMSM run's image encoder`,
    );
  const d = loadDamsm(p, true);
  const image = d.image!.to(device);
  d.conditioner.module.to(device);
  return { ...d, network: damsmNetwork(image, id.name, id.file, device) };
}

/** A project feature network from a run or checkpoint: an attribute classifier or a DAMSM. */
export function projectNetwork(p: string, device: Device = 'cpu'): FeatureNetwork {
  const id = identify(p);
  if (id.model === 'attribute-classifier') return classifierNetwork(p, device);
  if (id.model === 'damsm') {
    const d = loadDamsmNetwork(p, device);
    d.conditioner.module.dispose();
    return d.network;
  }
  throw new Error(
    `${id.file} (model: ${id.model}) is not a feature network: pass an attribute-classifier or a DAMSM run`,
  );
}
