// CUB-200-2011 birds with the Reed et al. captions, read in place from the public layout used by
// StackGAN/AttnGAN/DF-GAN:
//   <root>/CUB_200_2011/{images.txt, classes.txt, image_class_labels.txt, bounding_boxes.txt, …}
//   <root>/CUB_200_2011/images/<class>/<name>.jpg
//   <root>/text_c10/<class>/<name>.txt (or <root>/text/…): captions, one per line (10 per image)
//   <root>/split/{train,test}_filenames.txt: the class-disjoint split (optional; else
//   trainclasses.txt/testclasses.txt in split/ or the root; else no split)
import fsp from 'node:fs/promises';
import path from 'node:path';

import type { DataProblem, DatasetSource, Record } from '../types.js';
import {
  captionLines,
  firstFile,
  isDir,
  isFile,
  isImageName,
  listDir,
  mapLimit,
  readText,
  requireDir,
  requireFile,
  splitLines,
  stem,
} from './common.js';

export interface CubSource extends DatasetSource {
  /**
   * Images listed in the metadata whose class has neither an image folder nor a caption folder in
   * this copy (partial copies, such as one holding only the 50 captioned test classes). They are
   * left out and counted here once, not reported one by one as problems.
   */
  absent: { classes: number; images: number };
  /** Where `split` came from, when there is one. */
  splitFrom?: 'split/train_filenames.txt' | 'classes';
}

const LAYOUT = `  <root>/CUB_200_2011/images.txt, classes.txt, image_class_labels.txt, bounding_boxes.txt
  <root>/CUB_200_2011/images/<class>/<name>.jpg
  <root>/text_c10/<class>/<name>.txt (or <root>/text/<class>/<name>.txt), one caption per line
  <root>/split/train_filenames.txt and test_filenames.txt (optional)`;

const CAPTION_DIRS = ['text_c10', 'text'];

/** Whether `root` looks like a CUB folder (for openDataset's detection). */
export function looksLikeCub(root: string): boolean {
  return isFile(path.join(root, 'CUB_200_2011', 'images.txt'));
}

/** "1 a b c" lines of a CUB metadata file as [id, rest] pairs; bad lines become problems. */
function parseIdLines(text: string, file: string, problems: DataProblem[], fields: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line) continue;
    const parts = line.split(/\s+/);
    if (parts.length < fields + 1) {
      problems.push({ item: `${file}:${i + 1}`, reason: 'bad-line', detail: `expected ${fields + 1} fields` });
      continue;
    }
    out.set(parts[0] as string, parts.slice(1));
  }
  return out;
}

async function readOptional(p: string): Promise<string | undefined> {
  return isFile(p) ? fsp.readFile(p, 'utf8') : undefined;
}

/**
 * Reads CUB-200-2011 with captions. Record ids are the image names of images.txt
 * ("001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg"), classId the class folder,
 * bbox the [x, y, w, h] of bounding_boxes.txt. Classes absent from a partial copy are counted in
 * `absent`; missing images, missing or empty caption files and unreadable lines go to `problems`.
 * @example const cub = await readCub('/data/cub'); // cub.split?.test.length
 */
export async function readCub(root: string): Promise<CubSource> {
  root = path.resolve(root);
  requireDir(root, 'cub', LAYOUT);
  const meta = path.join(root, 'CUB_200_2011');
  if (!isDir(meta) && isFile(path.join(root, 'images.txt')))
    throw new Error(
      `cub: ${root} is the CUB_200_2011 folder itself; pass its parent (the folder that also holds text_c10/)\nExpected layout:\n${LAYOUT}`,
    );
  requireDir(meta, 'cub', LAYOUT);
  requireFile(path.join(meta, 'images.txt'), 'cub', LAYOUT);
  const imagesDir = path.join(meta, 'images');
  requireDir(imagesDir, 'cub', LAYOUT);
  const captionDirName = CAPTION_DIRS.find((d) => isDir(path.join(root, d)));
  if (!captionDirName)
    throw new Error(
      `cub: no caption folder (looked for ${CAPTION_DIRS.map((d) => path.join(root, d)).join(' and ')})\nExpected layout:\n${LAYOUT}`,
    );
  const textDir = path.join(root, captionDirName);

  const problems: DataProblem[] = [];
  const images = parseIdLines(await fsp.readFile(path.join(meta, 'images.txt'), 'utf8'), 'images.txt', problems, 1);
  const classesText = await readOptional(path.join(meta, 'classes.txt'));
  const labelsText = await readOptional(path.join(meta, 'image_class_labels.txt'));
  const bboxText = await readOptional(path.join(meta, 'bounding_boxes.txt'));
  const classes = classesText ? parseIdLines(classesText, 'classes.txt', problems, 1) : new Map<string, string[]>();
  const labels = labelsText
    ? parseIdLines(labelsText, 'image_class_labels.txt', problems, 1)
    : new Map<string, string[]>();
  const boxes = bboxText ? parseIdLines(bboxText, 'bounding_boxes.txt', problems, 4) : new Map<string, string[]>();

  // What is on disk: class folders of images and of captions, each listed once.
  const [imgTop, txtTop] = await Promise.all([listDir(imagesDir), listDir(textDir)]);
  const classDirs = [...new Set([...imgTop.dirs, ...txtTop.dirs])];
  const imgFiles = new Map<string, Set<string>>();
  const txtFiles = new Map<string, Set<string>>();
  await mapLimit(classDirs, 16, async (c) => {
    imgFiles.set(c, imgTop.dirs.has(c) ? (await listDir(path.join(imagesDir, c))).files : new Set());
    txtFiles.set(c, txtTop.dirs.has(c) ? (await listDir(path.join(textDir, c))).files : new Set());
  });

  interface Pending {
    key: string; // "<class>/<stem>": the form of the split files
    id: string;
    imagePath: string;
    captionPath: string;
    classId: string;
    bbox?: [number, number, number, number];
  }
  const pending: Pending[] = [];
  const handledCaptions = new Set<string>();
  const absentClasses = new Set<string>();
  let absentImages = 0;

  for (const [imageId, [rel]] of images) {
    const name = (rel as string).replace(/\\/g, '/');
    const cls = path.posix.dirname(name);
    const file = path.posix.basename(name);
    const imgSet = imgFiles.get(cls);
    const txtSet = txtFiles.get(cls);
    if (!imgSet || !txtSet) {
      absentClasses.add(cls);
      absentImages++;
      continue;
    }
    const txtName = `${stem(file)}.txt`;
    const captionRel = `${captionDirName}/${cls}/${txtName}`;
    handledCaptions.add(`${cls}/${txtName}`);
    const hasImage = imgSet.has(file);
    const hasText = txtSet.has(txtName);
    if (!hasImage) {
      if (hasText)
        problems.push({
          item: captionRel,
          reason: 'caption-without-image',
          detail: `image CUB_200_2011/images/${name} (listed in images.txt) is not on disk`,
        });
      else
        problems.push({ item: `CUB_200_2011/images/${name}`, reason: 'missing-image', detail: 'listed in images.txt' });
      continue;
    }
    if (!hasText) {
      problems.push({
        item: `CUB_200_2011/images/${name}`,
        reason: 'empty-captions',
        detail: `no caption file ${captionRel}`,
      });
      continue;
    }
    const label = labels.get(imageId)?.[0];
    const classId = (label !== undefined ? classes.get(label)?.[0] : undefined) ?? cls;
    const box = boxes.get(imageId)?.map(Number);
    const bbox =
      box && box.length >= 4 && box.slice(0, 4).every(Number.isFinite)
        ? (box.slice(0, 4) as [number, number, number, number])
        : undefined;
    if (box && !bbox)
      problems.push({ item: `bounding_boxes.txt (image ${imageId})`, reason: 'bad-line', detail: 'non-numeric box' });
    pending.push({
      key: `${cls}/${stem(file)}`,
      id: name,
      imagePath: path.join(imagesDir, cls, file),
      captionPath: path.join(textDir, cls, txtName),
      classId,
      ...(bbox ? { bbox } : {}),
    });
  }

  // Caption files that images.txt does not list: kept when their image is on disk (no bbox),
  // else reported.
  for (const cls of [...txtFiles.keys()].sort()) {
    for (const txtName of [...(txtFiles.get(cls) as Set<string>)].sort()) {
      if (!txtName.endsWith('.txt') || handledCaptions.has(`${cls}/${txtName}`)) continue;
      const s = stem(txtName);
      const img = [...(imgFiles.get(cls) ?? [])].find((f) => stem(f) === s && isImageName(f));
      if (!img) {
        problems.push({
          item: `${captionDirName}/${cls}/${txtName}`,
          reason: 'caption-without-image',
          detail: `no image CUB_200_2011/images/${cls}/${s}.jpg`,
        });
        continue;
      }
      pending.push({
        key: `${cls}/${s}`,
        id: `${cls}/${img}`,
        imagePath: path.join(imagesDir, cls, img),
        captionPath: path.join(textDir, cls, txtName),
        classId: cls,
      });
    }
  }

  const texts = await mapLimit(pending, 64, (p) => readText(p.captionPath));
  const records: Record[] = [];
  const idByKey = new Map<string, string>();
  pending.forEach((p, i) => {
    const text = texts[i] as string | Error;
    const captionRel = path.relative(root, p.captionPath).split(path.sep).join('/');
    if (text instanceof Error) {
      problems.push({ item: captionRel, reason: 'empty-captions', detail: `unreadable: ${text.message}` });
      return;
    }
    const captions = captionLines(text);
    if (captions.length === 0) {
      problems.push({ item: captionRel, reason: 'empty-captions' });
      return;
    }
    records.push({
      id: p.id,
      image: { kind: 'file', path: p.imagePath },
      captions,
      classId: p.classId,
      ...(p.bbox ? { bbox: p.bbox } : {}),
    });
    idByKey.set(p.key, p.id);
  });

  const source: CubSource = {
    name: 'cub',
    root,
    text: 'captions',
    records,
    problems,
    absent: { classes: absentClasses.size, images: absentImages },
  };

  // The class-disjoint split of StackGAN/AttnGAN.
  const splitDir = path.join(root, 'split');
  const trainNames = await readOptional(path.join(splitDir, 'train_filenames.txt'));
  const testNames = await readOptional(path.join(splitDir, 'test_filenames.txt'));
  if (trainNames !== undefined || testNames !== undefined) {
    const side = (text: string | undefined): string[] => {
      const ids: string[] = [];
      for (const l of captionLines(text ?? '')) {
        const key = l.replace(/\\/g, '/').replace(/\.(jpg|jpeg|png|txt)$/i, '');
        const id = idByKey.get(key);
        if (id !== undefined) ids.push(id);
      }
      return ids;
    };
    source.split = { train: side(trainNames), test: side(testNames) };
    source.splitFrom = 'split/train_filenames.txt';
  } else {
    const trainFile =
      firstFile(splitDir, ['trainvalclasses.txt', 'trainclasses.txt']) ??
      firstFile(root, ['trainvalclasses.txt', 'trainclasses.txt']);
    const testFile = firstFile(splitDir, ['testclasses.txt']) ?? firstFile(root, ['testclasses.txt']);
    if (trainFile || testFile) {
      const trainCls = new Set(trainFile ? captionLines(await fsp.readFile(trainFile, 'utf8')) : []);
      const testCls = new Set(testFile ? captionLines(await fsp.readFile(testFile, 'utf8')) : []);
      const inTrain = (c: string): boolean => (trainFile ? trainCls.has(c) : !testCls.has(c));
      const inTest = (c: string): boolean => (testFile ? testCls.has(c) : !trainCls.has(c));
      source.split = {
        train: records.filter((r) => inTrain(r.classId)).map((r) => r.id),
        test: records.filter((r) => inTest(r.classId)).map((r) => r.id),
      };
      source.splitFrom = 'classes';
    }
  }
  return source;
}
