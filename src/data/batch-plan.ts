// Everything random about a batch, decided up front from (seed, epoch, batch): which records,
// which of their captions, which mismatched caption, where to crop and whether to flip. So the
// same seed gives the same batches, on any device, however the work is spread over threads.
import { Prng } from '../util/prng.js';
import type { Augmentation } from './augment.js';
import type { CacheRecord } from './cache/format.js';

export interface BatchPlan {
  epoch: number;
  batch: number;
  /** Cache indices of the samples. */
  indices: number[];
  /** Which caption of each record. */
  captionChoice: number[];
  /** A record of another class per sample, and which of its captions. */
  wrongIndices: number[];
  wrongCaptionChoice: number[];
  augment: Augmentation[];
}

export interface PlanOptions {
  seed: number;
  batchSize: number;
  shuffle: boolean;
  augment: boolean;
  dropLast: boolean;
}

export class BatchPlanner {
  readonly #pool: number[];
  readonly #records: CacheRecord[];
  readonly #byClass = new Map<string, number>();
  readonly #o: PlanOptions;

  constructor(records: CacheRecord[], pool: number[], o: PlanOptions) {
    if (pool.length === 0) throw new Error('The chosen split has no records');
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${o.batchSize}`);
    this.#records = records;
    this.#pool = pool;
    this.#o = o;
    for (const i of pool) {
      const c = records[i]!.classId;
      this.#byClass.set(c, (this.#byClass.get(c) ?? 0) + 1);
    }
  }

  get batchesPerEpoch(): number {
    const n = this.#pool.length / this.#o.batchSize;
    return Math.max(1, this.#o.dropLast ? Math.floor(n) : Math.ceil(n));
  }

  /** Record order of an epoch. */
  order(epoch: number): number[] {
    if (!this.#o.shuffle) return this.#pool;
    const perm = Prng.derive(this.#o.seed, epoch, 0x0de5).permutation(this.#pool.length);
    return Array.from(perm, (k) => this.#pool[k]!);
  }

  plan(epoch: number, batch: number, order = this.order(epoch)): BatchPlan {
    const { batchSize, seed } = this.#o;
    let indices = order.slice(batch * batchSize, (batch + 1) * batchSize);
    // A split smaller than one batch still yields full batches, by wrapping round.
    while (indices.length < batchSize && (this.#o.dropLast || indices.length === 0))
      indices = indices.concat(order.slice(0, batchSize - indices.length));
    const rng = Prng.derive(seed, epoch, batch, 0xba7c);
    const onlyOneClass = this.#byClass.size < 2;
    const captionChoice: number[] = [];
    const wrongIndices: number[] = [];
    const wrongCaptionChoice: number[] = [];
    const augment: Augmentation[] = [];
    for (const i of indices) {
      const rec = this.#records[i]!;
      // Uncaptioned records (cub-extra) draw nothing, so captioned sets keep their exact sequence.
      captionChoice.push(rec.captions.length > 0 ? rng.int(rec.captions.length) : 0);
      // A caption of another class (another species, another tag combination).
      let w = this.#pool[rng.int(this.#pool.length)]!;
      for (let tries = 0; !onlyOneClass && this.#records[w]!.classId === rec.classId && tries < 100; tries++)
        w = this.#pool[rng.int(this.#pool.length)]!;
      wrongIndices.push(w);
      const wrongCount = this.#records[w]!.captions.length;
      wrongCaptionChoice.push(wrongCount > 0 ? rng.int(wrongCount) : 0);
      augment.push(
        this.#o.augment
          ? { fx: rng.next(), fy: rng.next(), flip: rng.next() < 0.5 }
          : { fx: 0.5, fy: 0.5, flip: false },
      );
    }
    return { epoch, batch, indices, captionChoice, wrongIndices, wrongCaptionChoice, augment };
  }
}
