// Train/val/test assignment: the layout's own split when it has one, else class-disjoint or
// per-record random splits from a seed. The method string is recorded in the cache manifest.
import { Prng } from '../util/prng.js';
import type { SplitName } from './cache/format.js';

export interface SplitInput {
  id: string;
  classId: string;
}

/**
 * method: 'layout' | 'classes:<train>,<val>' | 'random:<train>,<val>' (fractions; the rest is
 * test). With 'layout', ids in layoutTest are test, the others train, and valFraction of the
 * training classes' records become val.
 */
export function assignSplit(
  items: SplitInput[],
  method: string,
  seed: number,
  layout?: { train: string[]; test: string[] },
): SplitName[] {
  const rng = Prng.derive(seed, 0x5b1a);
  if (method === 'layout') {
    if (!layout) throw new Error("split 'layout' needs a dataset whose layout defines a split (e.g. CUB, Oxford-102)");
    const test = new Set(layout.test);
    const train = new Set(layout.train);
    return items.map((r) =>
      test.has(r.id) ? 'test' : train.has(r.id) ? (rng.next() < 0.05 ? 'val' : 'train') : 'test',
    );
  }
  const m = /^(classes|random):([0-9.]+),([0-9.]+)$/.exec(method);
  if (!m) throw new Error(`Unknown split '${method}': use layout, classes:<train>,<val> or random:<train>,<val>`);
  const [, kind, a, b] = m as unknown as [string, string, string, string];
  const fTrain = Number(a);
  const fVal = Number(b);
  if (!(fTrain >= 0 && fVal >= 0 && fTrain + fVal <= 1))
    throw new Error(`Split fractions must be >= 0 and sum to at most 1, got ${fTrain} + ${fVal}`);
  const pick = (u: number): SplitName => (u < fTrain ? 'train' : u < fTrain + fVal ? 'val' : 'test');
  if (kind === 'random') {
    const order = rng.permutation(items.length);
    const out = new Array<SplitName>(items.length);
    order.forEach((idx, rank) => (out[idx] = pick((rank + 0.5) / items.length)));
    return out;
  }
  // Class-disjoint: whole classes go to one side, so test captions describe unseen species.
  const classes = [...new Set(items.map((r) => r.classId))].sort();
  const order = rng.permutation(classes.length);
  const side = new Map<string, SplitName>();
  order.forEach((ci, rank) => side.set(classes[ci]!, pick((rank + 0.5) / classes.length)));
  return items.map((r) => side.get(r.classId)!);
}

/** The default method: the layout's split if it puts records on both sides, else by class or record. */
export function defaultSplit(
  text: 'captions' | 'tags',
  items: SplitInput[],
  layout?: { train: string[]; test: string[] },
): string {
  if (layout) {
    const ids = new Set(items.map((r) => r.id));
    if (layout.train.some((id) => ids.has(id)) && layout.test.some((id) => ids.has(id))) return 'layout';
  }
  return text === 'captions' ? 'classes:0.8,0.1' : 'random:0.9,0.05';
}
