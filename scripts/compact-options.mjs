// The command line shared by the compact-copy scripts (compact-cub.mjs, compact-anime.mjs):
// <source-dir> <out-dir> [--side N] [--quality Q] [--eval-quality Q --cache <dir>], checked; the out
// folder must not exist yet.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

/** Exits with a usage message (status 2) or an error (status 1) when the arguments are off. */
export function compactOptions(usage, defaults) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      side: { type: 'string', default: String(defaults.side) },
      quality: { type: 'string', default: String(defaults.quality) },
      'eval-quality': { type: 'string' },
      cache: { type: 'string' },
    },
  });
  if (positionals.length !== 2) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  const [src, out] = positionals;
  const side = Number(values.side);
  const quality = Number(values.quality);
  if (!Number.isInteger(side) || side < 8 || !Number.isInteger(quality) || quality < 1 || quality > 100) {
    console.error('--side must be an integer ≥ 8 and --quality in 1..100');
    process.exit(2);
  }
  const evalQuality = values['eval-quality'] === undefined ? null : Number(values['eval-quality']);
  if (evalQuality !== null && !(Number.isInteger(evalQuality) && evalQuality >= 1 && evalQuality <= 100)) {
    console.error('--eval-quality must be in 1..100');
    process.exit(2);
  }
  if ((evalQuality === null) !== (values.cache === undefined)) {
    console.error('--eval-quality and --cache go together');
    process.exit(2);
  }
  if (fs.existsSync(out)) {
    console.error(`${out} exists: give a new folder`);
    process.exit(1);
  }
  return { src, out, side, quality, evalQuality, cache: values.cache ?? null };
}
