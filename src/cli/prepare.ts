// `creativeai prepare <dataset> --out <dir>`: builds the preprocessed cache of a dataset.
import { parseArgs } from 'node:util';

import { describeProblems, prepareCache } from '../data/index.js';
import { openDataset } from '../data/sources/index.js';
import { UsageError, intList, intOption } from './usage.js';

export const prepareHelp = `Usage: creativeai prepare <dataset> --out <dir> [options]

Decodes every image once, crops and resizes it to each resolution, and writes uint8 shards
with a manifest (sizes, counts, source checksum, split) that training reads.

<dataset>           shapes[:count] | anime-faces:<dir> | cub:<dir> | cub-extra:<dir> | oxford-102:<dir> | custom:<dir> | <dir>
  --out <dir>       output folder (required)
  --sizes 64,256    model resolutions to prepare (default 64)
  --split <method>  layout | classes:<train>,<val> | random:<train>,<val> (default: the layout's
                    split if it has one, else classes:0.8,0.1 for captions, random:0.9,0.05 for tags)
  --seed <n>        seed of the split (default 0)
  --crop-margin <x> stored side / resolution for random crops (default 76/64 captions, 1 tags)
  --limit <n>       only the first n records
  --overwrite       replace an existing cache`;

export async function prepareCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      sizes: { type: 'string', default: '64' },
      split: { type: 'string' },
      seed: { type: 'string', default: '0' },
      'crop-margin': { type: 'string' },
      limit: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('prepare takes exactly one dataset', prepareHelp);
  if (values.out === undefined) throw new UsageError('--out <dir> is required', prepareHelp);
  const source = await openDataset(positionals[0]!);
  console.error(`${source.name}: ${source.records.length} records; ${describeProblems(source.problems)}`);
  const cropMargin = values['crop-margin'] === undefined ? undefined : Number(values['crop-margin']);
  if (cropMargin !== undefined && !Number.isFinite(cropMargin))
    throw new UsageError(`--crop-margin must be a number, got ${values['crop-margin']}`, prepareHelp);
  const { manifest, dir, seconds } = await prepareCache(source, {
    out: values.out,
    resolutions: intList('--sizes', values.sizes!),
    ...(values.split !== undefined ? { split: values.split } : {}),
    seed: intOption('--seed', values.seed!),
    ...(cropMargin !== undefined ? { cropMargin } : {}),
    ...(values.limit !== undefined ? { limit: intOption('--limit', values.limit) } : {}),
    overwrite: values.overwrite!,
  });
  const c = manifest.split.counts;
  console.error(
    `wrote ${manifest.count} images at ${manifest.resolutions.join(', ')} px to ${dir} in ${seconds.toFixed(1)} s ` +
      `(split ${manifest.split.method}: train ${c.train}, val ${c.val}, test ${c.test}; ${manifest.problems.total} skipped)`,
  );
}
