// Uncaptioned CUB-200-2011 crops with species labels, read in place (the `cub-extra` folder: the
// 150 species the captioned copy lacks, already cropped around the bird, so no boxes apply):
//   <root>/images.txt, image_class_labels.txt, classes.txt   (the official CUB ids)
//   <root>/images/<class>/<name>.jpg
// Records carry no captions: they teach an image encoder what a bird is (species supervision) and
// can feed unconditional discriminator terms. Every record is a training record: these species are
// disjoint from the captioned ones, whose split decides validation and test.
import fsp from 'node:fs/promises';
import path from 'node:path';

import type { DataProblem, DatasetSource, Record } from '../types.js';
import { isFile, listDir, mapLimit, requireDir, requireFile, splitLines } from './common.js';

const LAYOUT = `  <root>/images.txt, image_class_labels.txt and classes.txt (CUB ids)
  <root>/images/<class>/<name>.jpg (already cropped)`;

/** Whether `root` looks like a cub-extra folder (images.txt at the top, no CUB_200_2011/). */
export function looksLikeCubExtra(root: string): boolean {
  return isFile(path.join(root, 'images.txt')) && isFile(path.join(root, 'image_class_labels.txt'));
}

function idLines(text: string, file: string, problems: DataProblem[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\S+)\s+(\S.*)$/.exec(line);
    if (!m) problems.push({ item: file, reason: 'bad-line', detail: JSON.stringify(line.slice(0, 80)) });
    else out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/**
 * Reads a cub-extra folder. Record ids are the image names of images.txt, classId the class name of
 * classes.txt (the folder name, as the captioned CUB reader gives it), captions empty.
 * @example const extra = await readCubExtra('../shared/datasets/cub-extra'); // extra.records.length
 */
export async function readCubExtra(root: string): Promise<DatasetSource> {
  root = path.resolve(root);
  requireDir(root, 'cub-extra', LAYOUT);
  for (const f of ['images.txt', 'image_class_labels.txt', 'classes.txt'])
    requireFile(path.join(root, f), 'cub-extra', LAYOUT);
  const imagesDir = path.join(root, 'images');
  requireDir(imagesDir, 'cub-extra', LAYOUT);
  const problems: DataProblem[] = [];
  const read = (f: string): Promise<string> => fsp.readFile(path.join(root, f), 'utf8');
  const images = idLines(await read('images.txt'), 'images.txt', problems);
  const labels = idLines(await read('image_class_labels.txt'), 'image_class_labels.txt', problems);
  const classes = idLines(await read('classes.txt'), 'classes.txt', problems);

  const dirs = (await listDir(imagesDir)).dirs;
  const files = new Map<string, Set<string>>();
  await mapLimit([...dirs], 16, async (d) => files.set(d, (await listDir(path.join(imagesDir, d))).files));

  const records: Record[] = [];
  for (const [id, rel] of images) {
    const name = rel.replace(/\\/g, '/');
    const folder = path.posix.dirname(name);
    if (!files.get(folder)?.has(path.posix.basename(name))) {
      problems.push({ item: `images/${name}`, reason: 'missing-image', detail: 'listed in images.txt' });
      continue;
    }
    const label = labels.get(id);
    const classId = label !== undefined ? classes.get(label) : undefined;
    if (classId === undefined) {
      problems.push({ item: `images/${name}`, reason: 'bad-line', detail: `image ${id} has no class label` });
      continue;
    }
    records.push({ id: name, image: { kind: 'file', path: path.join(imagesDir, name) }, captions: [], classId });
  }
  return { name: 'cub-extra', root, text: 'captions', records, splitMethod: 'classes:1,0', problems };
}
