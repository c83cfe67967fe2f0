// Attribute accuracy of a tag-conditioned generator (HW3-2: do the faces show the requested hair
// and eye colours?): generate faces for each requested combination, let a colour classifier trained
// on real faces (recipes/attribute-classifier.ts) name their colours, and count agreements, per
// attribute, for both at once, per combination, and over combinations never seen in training.
import { canonicalColour } from '../text/index.js';
import type { LoadedAttributeClassifier } from '../artifacts/attribute-classifier.js';
import type { TextToImagePipeline } from '../inference/pipeline.js';
import { Prng } from '../util/prng.js';

export interface Combo {
  hair: string;
  eyes: string;
}

export interface Accuracy {
  /** Fractions of images whose hair colour, eye colour, or both the classifier reads as requested. */
  hair: number;
  eyes: number;
  both: number;
}

export interface ComboAccuracy {
  hair: string;
  eyes: string;
  n: number;
  accuracy: Accuracy;
  /** Whether the combination occurs in the generator's training data; null when not told. */
  inTraining: boolean | null;
}

export interface AttributeAccuracyResult extends Accuracy {
  /** Images generated and classified. */
  n: number;
  perCombo: ComboAccuracy[];
  /** Over combinations absent from trainCombos (generalisation to new pairs); null if none or not told. */
  unseen: (Accuracy & { combos: number }) | null;
}

export interface AttributeAccuracyOptions {
  combos: readonly Combo[];
  /** Images per combination. */
  perCombo: number;
  seed: number;
  /** "hair|eyes" keys of the combinations the generator was trained on. */
  trainCombos?: ReadonlySet<string>;
}

/** The "hair|eyes" keys trainCombos expects, from records (e.g. a cache's train split). */
export function comboKeys(
  records: Iterable<{ attributes?: { [k: string]: string }; split?: string }>,
  split = 'train',
) {
  const out = new Set<string>();
  for (const r of records)
    if (
      (r.split === undefined || r.split === split) &&
      r.attributes?.hair !== undefined &&
      r.attributes.eyes !== undefined
    )
      out.add(`${canonicalColour(r.attributes.hair)}|${canonicalColour(r.attributes.eyes)}`);
  return out;
}

const BATCH = 64;

/**
 * Generates o.perCombo faces per combination in batches of ≤ 64 (batch k's noise seeded from
 * (o.seed, k), so the same options give the same images) and scores them with the classifier.
 */
export function attributeAccuracy(
  pipeline: Pick<TextToImagePipeline, 'generate'>,
  classifier: LoadedAttributeClassifier,
  o: AttributeAccuracyOptions,
): AttributeAccuracyResult {
  if (o.combos.length === 0) throw new Error('attributeAccuracy needs at least one hair/eyes combination');
  if (!Number.isInteger(o.perCombo) || o.perCombo < 1)
    throw new Error(`perCombo must be a positive integer, got ${o.perCombo}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0)
    throw new Error(`seed must be a non-negative integer, got ${o.seed}`);
  // The classifier's vocabulary checks the colours: one it cannot name could never be scored right.
  const combos = o.combos.map((c) => {
    try {
      return classifier.vocabulary.attributes(c);
    } catch (e) {
      throw new Error(`${(e as Error).message}: the attribute classifier cannot recognise it`, { cause: e });
    }
  });
  const train = o.trainCombos
    ? new Set([...o.trainCombos].map((k) => k.split('|').map(canonicalColour).join('|')))
    : null;
  const jobs = combos.flatMap((c, i) => new Array<number>(o.perCombo).fill(i));
  const right = combos.map(() => ({ hair: 0, eyes: 0, both: 0 }));
  for (let start = 0, k = 0; start < jobs.length; start += BATCH, k++) {
    const idx = jobs.slice(start, start + BATCH);
    const seed = Math.floor(Prng.derive(o.seed, k).next() * 2 ** 32);
    using images = pipeline.generate(
      idx.map((i) => classifier.vocabulary.format(combos[i]!)),
      { seed },
    );
    const got = classifier.classify(images);
    idx.forEach((i, j) => {
      const h = got.hair[j] === combos[i]!.hair;
      const e = got.eyes[j] === combos[i]!.eyes;
      right[i]!.hair += Number(h);
      right[i]!.eyes += Number(e);
      right[i]!.both += Number(h && e);
    });
  }
  const fractions = (rows: number[]): Accuracy => {
    const n = rows.length * o.perCombo;
    const sum = (f: 'hair' | 'eyes' | 'both'): number => rows.reduce((a, i) => a + right[i]![f], 0) / n;
    return { hair: sum('hair'), eyes: sum('eyes'), both: sum('both') };
  };
  const perCombo = combos.map((c, i) => ({
    hair: c.hair,
    eyes: c.eyes,
    n: o.perCombo,
    accuracy: fractions([i]),
    inTraining: train ? train.has(`${c.hair}|${c.eyes}`) : null,
  }));
  const unseenRows = perCombo.flatMap((r, i) => (r.inTraining === false ? [i] : []));
  return {
    ...fractions(combos.map((_, i) => i)),
    n: jobs.length,
    perCombo,
    unseen: unseenRows.length > 0 ? { ...fractions(unseenRows), combos: unseenRows.length } : null,
  };
}
