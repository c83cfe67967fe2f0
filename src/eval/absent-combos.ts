// Attribute accuracy pooled over groups of hair/eye combinations: those in the training data, and
// the absent ones split by why they are absent. Read from an evaluation's per-combination rows, so
// tables and cards of older evaluation files get the same split (no libtorch needed).
import type { Accuracy, ComboAccuracy } from './attribute-accuracy.js';

/**
 * Why an absent combination is absent: a new pair of colours that training faces show apart
 * ('pair'), or a colour no training face has at all ('colour': HW3-2's tag list has gray eyes, the
 * data has none). No generator can learn the second kind, and the classifier, trained on the same
 * faces, cannot recognise it, so the two are reported apart. Null for combinations in training (or
 * when that was not told). Read from the combinations themselves: every colour of the training
 * data appears in some combination marked inTraining.
 */
export function absenceOf(
  perCombo: readonly Pick<ComboAccuracy, 'hair' | 'eyes' | 'inTraining'>[],
): (c: Pick<ComboAccuracy, 'hair' | 'eyes' | 'inTraining'>) => 'pair' | 'colour' | null {
  const trained = perCombo.filter((c) => c.inTraining === true);
  const hair = new Set(trained.map((c) => c.hair));
  const eyes = new Set(trained.map((c) => c.eyes));
  return (c) => (c.inTraining !== false ? null : hair.has(c.hair) && eyes.has(c.eyes) ? 'pair' : 'colour');
}

/** Accuracy pooled over some combinations (weighted by their images); null for none. */
export function pooledAccuracy(combos: readonly ComboAccuracy[]): (Accuracy & { combos: number }) | null {
  const n = combos.reduce((s, c) => s + c.n, 0);
  if (n === 0) return null;
  const mean = (k: keyof Accuracy): number => combos.reduce((s, c) => s + c.accuracy[k] * c.n, 0) / n;
  return { hair: mean('hair'), eyes: mean('eyes'), both: mean('both'), combos: combos.length };
}

/** The groups every report of attribute accuracy shows (tables, cards, the eval printout, checkpoints), with their labels. */
export const COMBO_GROUPS = [
  ['all', 'all'],
  ['inTraining', 'in the training data'],
  ['absent', 'absent from it'],
  ['pair', 'absent: new pairs of colours the data has'],
  ['colour', 'absent: a colour no training face has'],
] as const;
export type ComboGroup = (typeof COMBO_GROUPS)[number][0];

/** An evaluation's combinations by group (COMBO_GROUPS). */
export function comboGroups(perCombo: readonly ComboAccuracy[]): Record<ComboGroup, ComboAccuracy[]> {
  const absence = absenceOf(perCombo);
  return {
    all: [...perCombo],
    inTraining: perCombo.filter((c) => c.inTraining === true),
    absent: perCombo.filter((c) => c.inTraining === false),
    pair: perCombo.filter((c) => absence(c) === 'pair'),
    colour: perCombo.filter((c) => absence(c) === 'colour'),
  };
}
