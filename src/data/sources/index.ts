// Dataset adapters that read the public layouts in place, and openDataset(spec) to pick one from a
// command-line string.
import path from 'node:path';

import type { DatasetSource } from '../types.js';
import { detectAnimeLayout, readAnimeFaces } from './anime.js';
import { isDir, isFile } from './common.js';
import { looksLikeCub, readCub } from './cub.js';
import { looksLikeCubExtra, readCubExtra } from './cub-extra.js';
import { detectCustomLayout, readCustom } from './custom.js';
import { looksLikeOxford, readOxford102 } from './oxford.js';
import { makeShapes } from './shapes.js';

export {
  ANIME_EYE_COLOURS,
  ANIME_HAIR_COLOURS,
  detectAnimeLayout,
  readAnimeFaces,
  type AnimeFacesOptions,
  type AnimeLayout,
} from './anime.js';
export { readCub, type CubSource } from './cub.js';
export { readCubExtra } from './cub-extra.js';
export { detectCustomLayout, parseCsv, readCustom, type CustomLayout } from './custom.js';
export { readOxford102 } from './oxford.js';
export {
  SHAPE_COLOURS,
  SHAPE_KINDS,
  SHAPE_RELATIONS,
  SHAPE_SIZES,
  SHAPES_BACKGROUND,
  makeShapes,
  mulberry32,
  renderShapes,
  type ShapeObject,
  type ShapesOptions,
} from './shapes.js';

/** Default number of records of `shapes` without a count. */
export const DEFAULT_SHAPES_COUNT = 10000;

const SPEC_HELP = `dataset spec: shapes[:count[:seed]], anime-faces:<dir>, cub:<dir>, cub-extra:<dir>, oxford-102:<dir>, custom:<dir>, or a directory`;

const DETECTORS: { name: string; looksFor: string; test: (dir: string) => Promise<boolean> }[] = [
  {
    name: 'anime-faces',
    looksFor: 'tags.csv (or tags_clean.csv) with images/ or faces/',
    test: async (d) => (await detectAnimeLayout(d)) !== undefined,
  },
  { name: 'cub', looksFor: 'CUB_200_2011/images.txt', test: async (d) => looksLikeCub(d) },
  {
    name: 'cub-extra',
    looksFor: 'images.txt and image_class_labels.txt beside images/',
    test: async (d) => looksLikeCubExtra(d),
  },
  { name: 'oxford-102', looksFor: 'jpg/ and text_c10/', test: async (d) => looksLikeOxford(d) },
  {
    name: 'custom',
    looksFor: 'captions.jsonl, captions.csv, or <name>.txt beside images',
    test: async (d) => (await detectCustomLayout(d)) !== undefined,
  },
];

/**
 * Opens a dataset from a spec string: `shapes[:count[:seed]]` (procedural; default count
 * 10000, seed 0), `anime-faces:<dir>`, `cub:<dir>`, `cub-extra:<dir>` (uncaptioned, labelled crops), `oxford-102:<dir>`, `custom:<dir>`, or a bare
 * directory whose layout is detected from its files.
 * @example const ds = await openDataset('cub:/data/cub');
 */
export async function openDataset(spec: string): Promise<DatasetSource> {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new TypeError(`Expected a ${SPEC_HELP}; received ${JSON.stringify(spec)}`);
  const m = /^(shapes|anime-faces|anime|cub-extra|cub|oxford-102|oxford|flowers|custom)(?::(.*))?$/s.exec(spec);
  if (m) {
    const kind = m[1] as string;
    const arg = m[2];
    if (kind === 'shapes') {
      const [countText, seedText] = (arg ?? '').split(':');
      const count = countText ? Number(countText) : DEFAULT_SHAPES_COUNT;
      const seed = seedText ? Number(seedText) : 0;
      if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed))
        throw new Error(`Bad shapes spec ${JSON.stringify(spec)}: expected shapes[:count[:seed]] with integers`);
      return makeShapes({ count, seed });
    }
    // "cub" alone could also be a folder named cub in the working directory.
    if (arg === undefined || arg === '') {
      if (isDir(spec)) return openDirectory(spec);
      throw new Error(`Dataset spec ${JSON.stringify(spec)} names no folder: expected ${kind}:<dir>`);
    }
    switch (kind) {
      case 'anime-faces':
      case 'anime':
        return readAnimeFaces(arg);
      case 'cub':
        return readCub(arg);
      case 'cub-extra':
        return readCubExtra(arg);
      case 'oxford-102':
      case 'oxford':
      case 'flowers':
        return readOxford102(arg);
      default:
        return readCustom(arg);
    }
  }
  return openDirectory(spec);
}

async function openDirectory(dir: string): Promise<DatasetSource> {
  const root = path.resolve(dir);
  if (!isDir(root)) {
    const why = isFile(root) ? 'is a file, not a folder' : 'does not exist';
    throw new Error(`Dataset ${root} ${why}; expected a ${SPEC_HELP}`);
  }
  for (const d of DETECTORS) {
    if (!(await d.test(root))) continue;
    switch (d.name) {
      case 'anime-faces':
        return readAnimeFaces(root);
      case 'cub':
        return readCub(root);
      case 'cub-extra':
        return readCubExtra(root);
      case 'oxford-102':
        return readOxford102(root);
      default:
        return readCustom(root);
    }
  }
  throw new Error(
    `Cannot tell the dataset layout of ${root}; tried:\n${DETECTORS.map((d) => `  ${d.name}: ${d.looksFor}`).join('\n')}\n` +
      `Name it explicitly (${SPEC_HELP}).`,
  );
}
