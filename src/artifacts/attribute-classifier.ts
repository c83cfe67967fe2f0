// The colour classifier that scores tag-conditioned generators (eval/attribute-accuracy.ts), rebuilt
// from its training run: its network, its tag vocabulary, and a classify() that names the colours.
import { noGrad, type Device, type Tensor } from '../engine/index.js';
import { AttributeClassifier, type AttributeClassifierOptions } from '../models/attribute-classifier.js';
import { TagVocabulary } from '../text/index.js';
import { loadCheckpoint, resolveRunCheckpoint, withPrefix } from './checkpoint.js';

export interface LoadedAttributeClassifier {
  readonly model: AttributeClassifier;
  readonly vocabulary: TagVocabulary;
  /** The checkpoint file it came from. */
  readonly source: string;
  /** The most likely colours of each image ([B, 3, H, W] in [-1, 1], any size). */
  classify(images: Tensor): { hair: string[]; eyes: string[] };
  /** Per image, the probability of every hair colour and every eye colour (vocabulary order). */
  probabilities(images: Tensor): { hair: Float32Array[]; eyes: Float32Array[] };
  dispose(): void;
}

/** A classifier run directory (its best checkpoint, else the newest) or a checkpoint file. */
export function loadAttributeClassifier(p: string, device: Device = 'cpu'): LoadedAttributeClassifier {
  const ck = loadCheckpoint(resolveRunCheckpoint(p, true));
  try {
    if (ck.metadata.model !== 'attribute-classifier')
      throw new Error(`${ck.path} is not an attribute-classifier checkpoint (model: ${String(ck.metadata.model)})`);
    const vocabulary = TagVocabulary.fromJSON(JSON.parse(ck.metadata.tags ?? 'null'));
    const options = JSON.parse(ck.metadata.classifier ?? 'null') as AttributeClassifierOptions | null;
    if (options === null) throw new Error(`${ck.path} has no classifier description`);
    if (options.heads.length !== 2 || options.heads[0] !== vocabulary.nHair || options.heads[1] !== vocabulary.nEyes)
      throw new Error(`${ck.path}: classifier heads [${options.heads.join(', ')}] do not match its tag vocabulary`);
    const model = new AttributeClassifier(options);
    model.loadStateDict(withPrefix(ck.tensors, 'classifier.'));
    model.to('float32').to(device).eval();
    return {
      model,
      vocabulary,
      source: ck.path,
      classify(images: Tensor) {
        return noGrad(() => {
          using x = images.to(device);
          const logits = model.forward(x);
          const [hair, eyes] = logits.map((l) => {
            using p = l.argmax(1);
            return Array.from(p.toTypedArray() as ArrayLike<bigint | number>, Number);
          }) as [number[], number[]];
          logits.forEach((l) => l.dispose());
          return { hair: hair.map((i) => vocabulary.hair[i]!), eyes: eyes.map((i) => vocabulary.eyes[i]!) };
        });
      },
      probabilities(images: Tensor) {
        return noGrad(() => {
          using x = images.to(device);
          const logits = model.forward(x);
          const [hair, eyes] = logits.map((l) => {
            using p = l.softmax(1);
            using flat = p.to('float32');
            const all = flat.toTypedArray() as Float32Array;
            const k = l.size(1);
            return Array.from({ length: l.size(0) }, (_, i) => all.slice(i * k, (i + 1) * k));
          }) as [Float32Array[], Float32Array[]];
          logits.forEach((l) => l.dispose());
          return { hair, eyes };
        });
      },
      dispose: () => model.dispose(),
    };
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}
