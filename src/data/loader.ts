// The training input pipeline: seeded batches from a prepared cache, augmented as the reference
// implementations do, each with a mismatched caption for matching-aware discriminators, at one or
// several resolutions, assembled ahead of time in worker threads and delivered as tensors on the
// target device.
import { Worker } from 'node:worker_threads';

import { tensor, tidy, type Device, type MemoryFormat, type Tensor } from '../engine/index.js';
import { assembleImages } from './assemble.js';
import { BatchPlanner, type BatchPlan } from './batch-plan.js';
import type { SplitName } from './cache/format.js';
import type { CacheReader } from './cache/reader.js';

export interface LoaderOptions {
  batchSize: number;
  /** Which records: a split, or 'all'. Default 'train'. */
  split?: SplitName | 'all';
  /** Resolutions per batch (stacked models take several); default the cache's smallest. */
  resolutions?: number[];
  seed?: number;
  shuffle?: boolean;
  /** Random crop and flip; default on for the training split only. */
  augment?: boolean;
  /** Drop a last partial batch (default true: GAN batch statistics dislike tiny batches). */
  dropLast?: boolean;
  device?: Device;
  /** Layout of the image tensors: 'channelsLast' for networks whose weights are (Module.to). Default 'contiguous'. */
  memoryFormat?: MemoryFormat;
  /** Batches assembled ahead of the one being used. */
  prefetch?: number;
  /** Worker threads assembling batches (0: on the main thread). */
  workers?: number;
}

export interface Batch {
  epoch: number;
  batch: number;
  indices: number[];
  /** float32 [B, 3, r, r] in [-1, 1] per resolution, on the loader's device. */
  images: Map<number, Tensor>;
  captions: string[];
  classIds: string[];
  attributes: ({ [name: string]: string } | undefined)[];
  /** Captions of records from another class: the (real image, wrong text) pairs. */
  wrongCaptions: string[];
  wrongClassIds: string[];
  wrongAttributes: ({ [name: string]: string } | undefined)[];
  dispose(): void;
}

type Pixels = Map<number, Uint8Array>;

export class DataLoader {
  readonly reader: CacheReader;
  readonly resolutions: number[];
  readonly batchSize: number;
  readonly device: Device;
  readonly memoryFormat: MemoryFormat;
  readonly #planner: BatchPlanner;
  readonly #prefetch: number;
  readonly #workers: { w: Worker; busy: number }[] = [];
  readonly #waiting = new Map<number, { resolve: (p: Pixels) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #closed = false;

  constructor(reader: CacheReader, o: LoaderOptions) {
    this.reader = reader;
    this.batchSize = o.batchSize;
    const split = o.split ?? 'train';
    this.resolutions = o.resolutions ?? [Math.min(...reader.manifest.resolutions)];
    for (const r of this.resolutions) reader.storedSide(r); // throws with the sizes it has
    this.device = o.device ?? 'cpu';
    this.memoryFormat = o.memoryFormat ?? 'contiguous';
    this.#prefetch = Math.max(0, o.prefetch ?? 2);
    const pool = reader.indices(split === 'all' ? undefined : split);
    if (pool.length === 0) throw new Error(`The cache at ${reader.dir} has no '${split}' records`);
    this.#planner = new BatchPlanner(reader.records, pool, {
      seed: o.seed ?? 0,
      batchSize: o.batchSize,
      shuffle: o.shuffle ?? true,
      augment: o.augment ?? split === 'train',
      dropLast: o.dropLast ?? true,
    });
    const nWorkers = o.workers ?? 1;
    for (let k = 0; k < nWorkers; k++) {
      const w = new Worker(new URL('./loader-worker.js', import.meta.url), {
        workerData: { dir: reader.dir, resolutions: this.resolutions },
      });
      w.on('message', (m: { id: number; pixels?: [number, Uint8Array][]; error?: string }) => {
        const job = this.#waiting.get(m.id);
        if (!job) return;
        this.#waiting.delete(m.id);
        const slot = this.#workers.find((s) => s.w === w);
        // Idle workers must not keep the process alive; busy ones must.
        if (slot && --slot.busy === 0) w.unref();
        if (m.error !== undefined) job.reject(new Error(m.error));
        else job.resolve(new Map(m.pixels));
      });
      w.on('error', (e) => {
        for (const job of this.#waiting.values()) job.reject(e);
        this.#waiting.clear();
      });
      w.unref();
      this.#workers.push({ w, busy: 0 });
    }
  }

  get batchesPerEpoch(): number {
    return this.#planner.batchesPerEpoch;
  }

  #assemble(plan: BatchPlan): Promise<Pixels> {
    if (this.#workers.length === 0) {
      try {
        return Promise.resolve(assembleImages(this.reader, plan, this.resolutions));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    if (slot.busy++ === 0) slot.w.ref();
    const id = this.#nextId++;
    return new Promise<Pixels>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      slot.w.postMessage({ id, plan });
    });
  }

  #toBatch(plan: BatchPlan, pixels: Pixels): Batch {
    const recs = this.reader.records;
    const images = new Map<number, Tensor>();
    for (const r of this.resolutions) {
      images.set(
        r,
        tidy(() => {
          const u8 = tensor(pixels.get(r)!, { shape: [plan.indices.length, 3, r, r] });
          return u8.to({ device: this.device, dtype: 'float32' }).div(127.5).sub(1).contiguous(this.memoryFormat);
        }),
      );
    }
    return {
      epoch: plan.epoch,
      batch: plan.batch,
      indices: plan.indices,
      images,
      captions: plan.indices.map((i, k) => recs[i]!.captions[plan.captionChoice[k]!] ?? ''),
      classIds: plan.indices.map((i) => recs[i]!.classId),
      attributes: plan.indices.map((i) => recs[i]!.attributes),
      wrongCaptions: plan.wrongIndices.map((i, k) => recs[i]!.captions[plan.wrongCaptionChoice[k]!] ?? ''),
      wrongClassIds: plan.wrongIndices.map((i) => recs[i]!.classId),
      wrongAttributes: plan.wrongIndices.map((i) => recs[i]!.attributes),
      dispose: () => {
        for (const t of images.values()) t.dispose();
      },
    };
  }

  /**
   * The batches of one epoch, from `startBatch` (to resume mid-epoch). The same (seed, epoch,
   * batch) always gives the same batch.
   */
  async *epoch(epoch: number, o: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    if (this.#closed) throw new Error('DataLoader is closed');
    const order = this.#planner.order(epoch);
    const total = this.batchesPerEpoch;
    const queue: { plan: BatchPlan; pixels: Promise<Pixels> }[] = [];
    let next = o.startBatch ?? 0;
    const fill = (): void => {
      while (next < total && queue.length <= this.#prefetch) {
        const plan = this.#planner.plan(epoch, next++, order);
        const pixels = this.#assemble(plan);
        pixels.catch(() => undefined); // surfaced when awaited below
        queue.push({ plan, pixels });
      }
    };
    fill();
    while (queue.length > 0) {
      const head = queue.shift()!;
      fill();
      yield this.#toBatch(head.plan, await head.pixels);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Idle workers are unref'd, and terminate() alone does not keep the event loop alive: a process
    // with nothing else to do exited before it settled (measured: 3 runs in 4), and the caller's
    // await never returned. A timer holds the loop open until every worker has exited.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await Promise.all(this.#workers.map((s) => s.w.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
    this.#workers.length = 0;
    this.reader.close();
  }
}
