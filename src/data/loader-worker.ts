// A DataLoader worker: reads and augments planned batches off the main thread.
import { parentPort, workerData } from 'node:worker_threads';

import { assembleImages } from './assemble.js';
import type { BatchPlan } from './batch-plan.js';
import { CacheReader } from './cache/reader.js';

const { dir, resolutions } = workerData as { dir: string; resolutions: number[] };
const reader = CacheReader.open(dir);

parentPort!.on('message', ({ id, plan }: { id: number; plan: BatchPlan }) => {
  try {
    const pixels = [...assembleImages(reader, plan, resolutions)];
    parentPort!.postMessage(
      { id, pixels },
      pixels.map(([, b]) => b.buffer as ArrayBuffer),
    );
  } catch (e) {
    parentPort!.postMessage({ id, error: (e as Error).message });
  }
});
