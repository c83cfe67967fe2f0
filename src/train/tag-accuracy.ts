// Attribute accuracy as a tag GAN's checkpoint metric: how often the attribute classifier reads
// the requested colours on faces generated (eval mode, fixed seeds) for every hair/eye combination
// both the generator and the classifier know, and the same over combinations absent from the
// training split. The tag GAN recipes keep their best checkpoint by `attr_both`.
import { Generator, noGrad, randn, type Device, type Tensor } from '../engine/index.js';
import { attributeAccuracy, comboKeys, type LoadedAttributeClassifier } from '../eval/attribute-accuracy.js';
import type { TagConditioner } from '../models/conditioning.js';
import type { Module } from '../nn/index.js';

/** A generator of images from noise and the tag encoder's conditions (any tag GAN's G). */
export type TagGeneratorModule = Module & {
  forward(z: Tensor, condition: Tensor): { images: Tensor; mu?: Tensor; logvar?: Tensor };
};

export function tagAccuracyMetrics(
  g: TagGeneratorModule,
  noiseDim: number,
  conditioner: TagConditioner,
  device: Device,
  classifier: LoadedAttributeClassifier,
  o: { perCombo: number; seed: number; records: Iterable<{ attributes?: { [k: string]: string }; split?: string }> },
): Record<string, number> {
  const vocab = conditioner.encoder.vocabulary;
  const knows = (kind: 'hair' | 'eyes', c: string): boolean => classifier.vocabulary[kind].includes(c);
  const combos = vocab.hair
    .filter((h) => knows('hair', h))
    .flatMap((hair) => vocab.eyes.filter((e) => knows('eyes', e)).map((eyes) => ({ hair, eyes })));
  if (combos.length === 0) throw new Error(`the classifier ${classifier.source} knows none of the colours`);
  const source = {
    generate: (captions: readonly string[], s: { seed?: number } = {}): Tensor =>
      noGrad(() => {
        using z0 = randn([captions.length, noiseDim], { generator: new Generator(s.seed ?? 0) });
        using z = z0.to(device);
        using h = conditioner.encode({ captions }, device);
        const out = g.forward(z, h);
        out.mu?.dispose();
        out.logvar?.dispose();
        return out.images;
      }),
  };
  const r = g.inEvalMode(() =>
    attributeAccuracy(source, classifier, {
      combos,
      perCombo: o.perCombo,
      seed: o.seed,
      trainCombos: comboKeys(o.records, 'train'),
    }),
  );
  return {
    attr_hair: r.hair,
    attr_eyes: r.eyes,
    attr_both: r.both,
    ...(r.unseen ? { attr_unseen_both: r.unseen.both } : {}),
  };
}
