// Captions drawn at random from a dataset's records: the conditions of forward passes that only
// need the data's mix of captions (standing statistics), not a batch of images.
import type { Prng } from '../util/prng.js';

/** `n` captions: each of a record drawn uniformly (with replacement), one of its captions at random. */
export function randomCaptions(records: readonly { captions: readonly string[] }[], n: number, rng: Prng): string[] {
  if (records.length === 0) throw new Error('no records to draw captions from');
  return Array.from({ length: n }, () => {
    const r = records[rng.int(records.length)]!;
    return r.captions[rng.int(r.captions.length)] ?? '';
  });
}
