// Reads a planned batch's images from the cache and lays them out as uint8 NCHW, one buffer
// per resolution. Runs in the loader's worker threads (or inline when workers = 0).
import { cropFlipToChw } from './augment.js';
import type { BatchPlan } from './batch-plan.js';
import type { CacheReader } from './cache/reader.js';

export function assembleImages(reader: CacheReader, plan: BatchPlan, resolutions: number[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const r of resolutions) {
    const side = reader.storedSide(r);
    const scratch = new Uint8Array(side * side * 3);
    const buf = new Uint8Array(plan.indices.length * 3 * r * r);
    plan.indices.forEach((idx, k) => {
      reader.readImage(r, idx, scratch);
      cropFlipToChw(scratch, 0, side, r, plan.augment[k]!, buf, k * 3 * r * r);
    });
    out.set(r, buf);
  }
  return out;
}
