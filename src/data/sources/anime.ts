// Anime faces with hair/eye colour tags, read in place in either public layout:
//   HW3-2 ("extra data" of NTU MLDS 2018):  images/N.jpg + tags.csv lines `N,<colour> hair <colour> eyes`
//   original crawl (MLDS 2017 "faces"):     faces/<id>.jpg + tags.csv (or tags_clean.csv) lines
//                                           `id,tag:count<TAB>tag:count…` of which only the hair and
//                                           eye colour tags are kept.
import fsp from 'node:fs/promises';
import path from 'node:path';

import type { DataProblem, DatasetSource, Record } from '../types.js';
import { firstFile, isDir, isImageName, listDir, naturalCompare, requireDir, splitLines, stem } from './common.js';

/** The hair colours of the HW3-2 tag set. */
export const ANIME_HAIR_COLOURS = [
  'orange',
  'white',
  'aqua',
  'gray',
  'green',
  'red',
  'purple',
  'pink',
  'blue',
  'black',
  'brown',
  'blonde',
] as const;

/** The eye colours of the HW3-2 tag set (its extra data uses only 10 of them: no gray eyes). */
export const ANIME_EYE_COLOURS = [
  'gray',
  'black',
  'orange',
  'pink',
  'yellow',
  'aqua',
  'purple',
  'green',
  'brown',
  'red',
  'blue',
] as const;

/** Spellings in the original tag lists mapped to the HW3-2 colour words. */
const ALIASES: { [word: string]: string } = { grey: 'gray', blond: 'blonde' };

export type AnimeLayout = 'hw3-2' | 'original';

export interface AnimeFacesOptions {
  /** Which layout to read; detected from the folders and tags.csv when absent. */
  layout?: AnimeLayout;
  /** Colour words accepted as hair colours in the original form (default ANIME_HAIR_COLOURS). */
  hairColours?: readonly string[];
  /** Colour words accepted as eye colours in the original form (default ANIME_EYE_COLOURS). */
  eyeColours?: readonly string[];
}

const LAYOUT = `  HW3-2:    <root>/images/N.jpg and <root>/tags.csv with lines "N,<colour> hair <colour> eyes"
  original: <root>/faces/<id>.jpg and <root>/tags.csv (or tags_clean.csv) with lines "id,tag:count<TAB>tag:count…"`;

const TAG_FILES = ['tags.csv', 'tags_clean.csv'];

/** The layout of an anime-faces folder, or undefined when it is neither. */
export async function detectAnimeLayout(root: string): Promise<AnimeLayout | undefined> {
  const tags = firstFile(root, TAG_FILES);
  if (!tags) return undefined;
  const hasImages = isDir(path.join(root, 'images'));
  const hasFaces = isDir(path.join(root, 'faces'));
  if (hasImages !== hasFaces) return hasImages ? 'hw3-2' : 'original';
  if (!hasImages) return undefined;
  // Both folders: decide by the first non-empty line of the tag file.
  const head = (await fsp.readFile(tags, 'utf8')).slice(0, 4096);
  const line = splitLines(head).find((l) => l.trim()) ?? '';
  return /\t|:\s*[-+.\d]/.test(line) ? 'original' : 'hw3-2';
}

/**
 * Reads an anime-faces folder (HW3-2 or original layout, detected automatically). Records carry
 * the tag text as caption ("blue hair red eyes"), attributes { hair, eyes } and classId
 * `${hair} hair ${eyes} eyes`. Images without a tag line, lines without an image, malformed lines
 * and records without a hair or an eye colour are reported in `problems`, never thrown.
 * @example const ds = await readAnimeFaces('/data/anime-faces');
 */
export async function readAnimeFaces(root: string, opts: AnimeFacesOptions = {}): Promise<DatasetSource> {
  root = path.resolve(root);
  requireDir(root, 'anime-faces', LAYOUT);
  const tagsPath = firstFile(root, TAG_FILES);
  if (!tagsPath)
    throw new Error(`anime-faces: no tags.csv (or tags_clean.csv) in ${root}\nExpected layout:\n${LAYOUT}`);
  const layout = opts.layout ?? (await detectAnimeLayout(root));
  if (layout !== 'hw3-2' && layout !== 'original')
    throw new Error(
      `anime-faces: found ${path.basename(tagsPath)} but neither images/ nor faces/ in ${root}\nExpected layout:\n${LAYOUT}`,
    );
  const imageDirName = layout === 'hw3-2' ? 'images' : 'faces';
  const imageDir = path.join(root, imageDirName);
  requireDir(imageDir, 'anime-faces', LAYOUT);

  const problems: DataProblem[] = [];
  const records: Record[] = [];
  const tagFile = path.basename(tagsPath);

  // Image files by id (the basename without extension).
  const byStem = new Map<string, string>();
  for (const f of (await listDir(imageDir)).files) if (isImageName(f)) byStem.set(stem(f), f);
  const seen = new Set<string>();

  const hairSet = new Set(opts.hairColours ?? ANIME_HAIR_COLOURS);
  const eyeSet = new Set(opts.eyeColours ?? ANIME_EYE_COLOURS);

  const lines = splitLines(await fsp.readFile(tagsPath, 'utf8'));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.trim()) continue;
    const where = `${tagFile}:${i + 1}`;
    const comma = line.indexOf(',');
    const id = comma < 0 ? '' : line.slice(0, comma).trim();
    if (!id) {
      problems.push({ item: where, reason: 'bad-line', detail: `expected "id,tags" but read ${JSON.stringify(line)}` });
      continue;
    }
    if (seen.has(id)) {
      problems.push({ item: where, reason: 'bad-line', detail: `duplicate id ${id}` });
      continue;
    }
    seen.add(id);
    const rest = line.slice(comma + 1);
    let hair: string | undefined;
    let eyes: string | undefined;
    if (layout === 'hw3-2') {
      const m = /^\s*(\S.*?)\s+hair\s+(\S.*?)\s+eyes\s*$/.exec(rest);
      if (!m) {
        problems.push({
          item: where,
          reason: 'bad-line',
          detail: `expected "<colour> hair <colour> eyes" but read ${JSON.stringify(rest)}`,
        });
        continue;
      }
      hair = (m[1] as string).toLowerCase();
      eyes = (m[2] as string).toLowerCase();
    } else {
      const picked = pickColourTags(rest, hairSet, eyeSet);
      if ('error' in picked) {
        problems.push({ item: where, reason: 'bad-line', detail: picked.error });
        continue;
      }
      hair = picked.hair;
      eyes = picked.eyes;
      if (!hair || !eyes) {
        problems.push({
          item: `${imageDirName}/${byStem.get(id) ?? `${id}.jpg`}`,
          reason: 'unknown-tags',
          detail: `no ${!hair ? 'hair' : 'eye'} colour tag${picked.ignored.length ? ` (ignored: ${picked.ignored.slice(0, 4).join(', ')})` : ''}`,
        });
        continue;
      }
    }
    const file = byStem.get(id);
    if (!file) {
      problems.push({
        item: `${imageDirName}/${id}.jpg`,
        reason: 'missing-image',
        detail: `named by ${where}`,
      });
      continue;
    }
    const text = `${hair} hair ${eyes} eyes`;
    records.push({
      id: `${imageDirName}/${file}`,
      image: { kind: 'file', path: path.join(imageDir, file) },
      captions: [text],
      classId: text,
      attributes: { hair, eyes },
    });
  }

  const untagged = [...byStem.keys()].filter((s) => !seen.has(s)).sort(naturalCompare);
  for (const s of untagged)
    problems.push({
      item: `${imageDirName}/${byStem.get(s) as string}`,
      reason: 'bad-line',
      detail: `no line for id ${s} in ${tagFile}`,
    });

  records.sort((a, b) => naturalCompare(a.id, b.id));
  return { name: 'anime-faces', root, text: 'tags', records, problems };
}

/**
 * Picks the hair and eye colour from an original-form tag list ("blonde hair:12\tblue eyes:3\t…"):
 * the tag with the highest count wins, the first one on ties. Tags ending in "hair"/"eyes" whose
 * first words are not a colour ("long hair", "closed eyes") are ignored.
 */
function pickColourTags(
  list: string,
  hairSet: Set<string>,
  eyeSet: Set<string>,
): { hair?: string; eyes?: string; ignored: string[] } | { error: string } {
  let hair: { colour: string; count: number } | undefined;
  let eyes: { colour: string; count: number } | undefined;
  const ignored: string[] = [];
  for (const raw of list.split('\t')) {
    const item = raw.trim();
    if (!item) continue;
    const colon = item.lastIndexOf(':');
    const tag = (colon < 0 ? item : item.slice(0, colon)).trim().toLowerCase();
    const countText = colon < 0 ? '' : item.slice(colon + 1).trim();
    const count = countText === '' ? 0 : Number(countText);
    if (!Number.isFinite(count)) return { error: `bad count in tag ${JSON.stringify(item)}` };
    const m = /^(.+?)\s+(hair|eyes)$/.exec(tag);
    if (!m) continue;
    const word = m[1] as string;
    const colour = ALIASES[word] ?? word;
    if (m[2] === 'hair') {
      if (!hairSet.has(colour)) ignored.push(tag);
      else if (!hair || count > hair.count) hair = { colour, count };
    } else {
      if (!eyeSet.has(colour)) ignored.push(tag);
      else if (!eyes || count > eyes.count) eyes = { colour, count };
    }
  }
  return { hair: hair?.colour, eyes: eyes?.colour, ignored };
}
