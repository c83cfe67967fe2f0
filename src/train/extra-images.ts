// Uncaptioned, labelled images of other species (the cub-extra source) beside a captioned dataset:
// what a recipe can read from them, after the check that none is of a held-out species, which would
// leak the validation or test birds into training.
import { CacheReader } from '../data/index.js';

export interface ExtraImages {
  /** The extra cache's training-split species, sorted. */
  species: string[];
  /** Its image sides. */
  resolutions: number[];
}

/** Opens the extra cache `extra` beside `data`, refusing species of `data`'s validation/test split. */
export function readExtraImages(data: CacheReader, extra: string): ExtraImages {
  const heldOut = new Set(data.records.filter((r) => r.split !== 'train').map((r) => r.classId));
  const reader = CacheReader.open(extra);
  try {
    const species = [...new Set(reader.records.filter((r) => r.split === 'train').map((r) => r.classId))].sort();
    const leaked = species.filter((c) => heldOut.has(c));
    if (leaked.length > 0)
      throw new Error(
        `${extra} holds ${leaked.length} species of ${data.dir}'s validation/test split (${leaked.slice(0, 3).join(', ')}${leaked.length > 3 ? ', …' : ''}): keep held-out species out of training`,
      );
    return { species, resolutions: [...reader.manifest.resolutions] };
  } finally {
    reader.close();
  }
}
