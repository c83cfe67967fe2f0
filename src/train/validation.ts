// The held-out batches a recipe's evaluate() reads: the validation split in a fixed shuffle (seed 0,
// so batches mix classes as in training and a capped number of batches still samples every class),
// without augmentation, assembled on the main thread. Its own reader: closing the loader closes it.
import { CacheReader, DataLoader } from '../data/index.js';
import type { CommonConfig } from './schema.js';
import type { RecipeContext } from './recipe.js';

/** null when the cache has no validation split. */
export function validationLoader(ctx: RecipeContext, o: { dropLast?: boolean } = {}): DataLoader | null {
  const { data, config, device } = ctx;
  if (!data.records.some((r) => r.split === 'val')) return null;
  const d = (config as unknown as CommonConfig).data;
  return new DataLoader(CacheReader.open(data.dir), {
    batchSize: d.batchSize,
    split: 'val',
    resolutions: [d.resolution],
    seed: 0,
    shuffle: true,
    augment: false,
    ...(o.dropLast !== undefined ? { dropLast: o.dropLast } : {}),
    device,
    workers: 0,
  });
}
