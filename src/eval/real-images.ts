// The real images of a prepared cache's split as tensors, batch by batch: what every metric compares
// generated images with.
import type { Device, Tensor } from '../engine/index.js';
import { CacheReader, DataLoader, type Batch, type SplitName } from '../data/index.js';

/**
 * Feeds the real images of one split to `fn` batch by batch, at the side of the stage scored when
 * the cache has it, centred and unaugmented: all of them in cache order, or with `seed` the first
 * `limit` of a seeded shuffle.
 */
export async function readReal(
  dataset: string,
  split: SplitName,
  device: Device,
  side: number,
  batch: number,
  o: { limit: number; seed?: number },
  fn: (b: Batch, images: Tensor) => void,
): Promise<void> {
  const r = CacheReader.open(dataset);
  if (!r.records.some((x) => x.split === split)) {
    r.close();
    return;
  }
  const res = r.manifest.resolutions.includes(side) ? side : Math.max(...r.manifest.resolutions);
  const loader = new DataLoader(r, {
    batchSize: batch,
    split,
    resolutions: [res],
    augment: false,
    shuffle: o.seed !== undefined,
    seed: o.seed ?? 0,
    dropLast: false,
    workers: 0,
    device,
  });
  let seen = 0;
  try {
    for await (const b of loader.epoch(0)) {
      try {
        if (seen < o.limit) {
          const take = Math.min(b.indices.length, o.limit - seen);
          using images = b.images.get(res)!.narrow(0, 0, take);
          fn({ ...b, indices: b.indices.slice(0, take), classIds: b.classIds.slice(0, take) }, images);
          seen += take;
        }
      } finally {
        b.dispose();
      }
      if (seen >= o.limit) break;
    }
  } finally {
    await loader.close();
  }
}
