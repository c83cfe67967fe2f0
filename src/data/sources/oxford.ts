// Oxford-102 flowers with the Reed et al. captions, read in place from the layout StackGAN uses:
//   <root>/jpg/image_00001.jpg …
//   <root>/text_c10/class_00001/image_00001.txt: captions, one per line (10 per image)
//   <root>/trainclasses.txt, valclasses.txt, testclasses.txt (or trainvalclasses.txt): optional
// Class ids come from the caption folder names (imagelabels.mat is a MATLAB file, not read here).
import fsp from 'node:fs/promises';
import path from 'node:path';

import type { DataProblem, DatasetSource, Record } from '../types.js';
import {
  captionLines,
  firstFile,
  isDir,
  isImageName,
  listDir,
  mapLimit,
  naturalCompare,
  readText,
  requireDir,
  stem,
} from './common.js';

const LAYOUT = `  <root>/jpg/image_00001.jpg …
  <root>/text_c10/class_00001/image_00001.txt (one caption per line)
  <root>/trainclasses.txt, valclasses.txt, testclasses.txt or trainvalclasses.txt (optional class split)`;

/** Whether `root` looks like an Oxford-102 folder (for openDataset's detection). */
export function looksLikeOxford(root: string): boolean {
  return isDir(path.join(root, 'jpg')) && isDir(path.join(root, 'text_c10'));
}

/** "class_00007", "7" and "00007" all name class_00007. */
function normaliseClass(name: string): string {
  const t = name.trim();
  return /^\d+$/.test(t) ? `class_${t.padStart(5, '0')}` : t;
}

/**
 * Reads Oxford-102 flowers with captions. Record ids are "jpg/image_00001.jpg", classId the
 * caption folder ("class_00001"); the class split files, when present, give `split` (validation
 * classes join the training side, as in StackGAN).
 * @example const flowers = await readOxford102('/data/flowers');
 */
export async function readOxford102(root: string): Promise<DatasetSource> {
  root = path.resolve(root);
  requireDir(root, 'oxford-102', LAYOUT);
  const jpgDir = path.join(root, 'jpg');
  const textDir = path.join(root, 'text_c10');
  requireDir(jpgDir, 'oxford-102', LAYOUT);
  requireDir(textDir, 'oxford-102', LAYOUT);

  const problems: DataProblem[] = [];
  const imageByStem = new Map<string, string>();
  for (const f of (await listDir(jpgDir)).files) if (isImageName(f)) imageByStem.set(stem(f), f);

  const classDirs = [...(await listDir(textDir)).dirs].sort(naturalCompare);
  const perClass = await mapLimit(classDirs, 16, async (c) => ({
    cls: c,
    files: [...(await listDir(path.join(textDir, c))).files].filter((f) => f.endsWith('.txt')).sort(naturalCompare),
  }));

  interface Pending {
    id: string;
    imagePath: string;
    captionRel: string;
    captionPath: string;
    classId: string;
  }
  const pending: Pending[] = [];
  const captioned = new Set<string>();
  for (const { cls, files } of perClass) {
    for (const f of files) {
      const s = stem(f);
      const captionRel = `text_c10/${cls}/${f}`;
      const img = imageByStem.get(s);
      if (!img) {
        problems.push({ item: captionRel, reason: 'caption-without-image', detail: `no image jpg/${s}.jpg` });
        continue;
      }
      if (captioned.has(s)) {
        problems.push({
          item: captionRel,
          reason: 'bad-line',
          detail: `jpg/${img} already has captions in another class`,
        });
        continue;
      }
      captioned.add(s);
      pending.push({
        id: `jpg/${img}`,
        imagePath: path.join(jpgDir, img),
        captionRel,
        captionPath: path.join(textDir, cls, f),
        classId: cls,
      });
    }
  }
  for (const [s, img] of [...imageByStem].sort((a, b) => naturalCompare(a[0], b[0])))
    if (!captioned.has(s))
      problems.push({ item: `jpg/${img}`, reason: 'empty-captions', detail: 'no caption file under text_c10/' });

  const texts = await mapLimit(pending, 64, (p) => readText(p.captionPath));
  const records: Record[] = [];
  pending.forEach((p, i) => {
    const text = texts[i] as string | Error;
    if (text instanceof Error) {
      problems.push({ item: p.captionRel, reason: 'empty-captions', detail: `unreadable: ${text.message}` });
      return;
    }
    const captions = captionLines(text);
    if (captions.length === 0) {
      problems.push({ item: p.captionRel, reason: 'empty-captions' });
      return;
    }
    records.push({ id: p.id, image: { kind: 'file', path: p.imagePath }, captions, classId: p.classId });
  });
  records.sort((a, b) => naturalCompare(a.id, b.id));

  const source: DatasetSource = { name: 'oxford-102', root, text: 'captions', records, problems };
  const readClasses = async (names: string[]): Promise<Set<string> | undefined> => {
    const f = firstFile(root, names);
    return f ? new Set(captionLines(await fsp.readFile(f, 'utf8')).map(normaliseClass)) : undefined;
  };
  const trainval = await readClasses(['trainvalclasses.txt']);
  const train = await readClasses(['trainclasses.txt']);
  const val = await readClasses(['valclasses.txt']);
  const test = await readClasses(['testclasses.txt']);
  if (trainval || train || val || test) {
    const trainSet = trainval ?? (train || val ? new Set([...(train ?? []), ...(val ?? [])]) : undefined);
    const inTrain = (c: string): boolean => (trainSet ? trainSet.has(c) : !(test as Set<string>).has(c));
    const inTest = (c: string): boolean => (test ? test.has(c) : !(trainSet as Set<string>).has(c));
    source.split = {
      train: records.filter((r) => inTrain(r.classId)).map((r) => r.id),
      test: records.filter((r) => inTest(r.classId)).map((r) => r.id),
    };
  }
  return source;
}
