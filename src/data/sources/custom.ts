// A user's own folder of images with captions, in one of three forms (first found wins):
//   captions.jsonl: one JSON object per line, {"image": "a.png", "caption": "…"} or
//                   {"image": "a.png", "captions": ["…", "…"]}, optional "class"
//   captions.csv:   header with columns image,caption (optional class), RFC-4180 quoting,
//                   several rows per image allowed
//   <name>.txt beside each image <name>.<ext> (sub-folders included), one caption per line
// Image paths in the jsonl/csv forms are relative to the folder (or to its images/ sub-folder).
import fsp from 'node:fs/promises';
import path from 'node:path';

import type { DataProblem, DatasetSource, Record } from '../types.js';
import {
  captionLines,
  isFile,
  isImageName,
  listDir,
  mapLimit,
  naturalCompare,
  readText,
  relId,
  requireDir,
  splitLines,
  stem,
} from './common.js';

export type CustomLayout = 'jsonl' | 'csv' | 'txt';

const LAYOUT = `  <root>/captions.jsonl  lines {"image": "a.png", "caption": "…"} or {"image": "a.png", "captions": ["…"]}
  <root>/captions.csv    header "image,caption" (optional "class"), one row per caption
  <root>/a.png + <root>/a.txt   one caption file per image, one caption per line`;

const MAX_DEPTH = 8;

/** Image files under `dir` (relative posix paths) and .txt files, hidden entries skipped. */
async function walk(dir: string, rel = '', depth = 0): Promise<{ images: string[]; texts: Set<string> }> {
  const { files, dirs } = await listDir(dir);
  const images: string[] = [];
  const texts = new Set<string>();
  for (const f of files) {
    const r = rel ? `${rel}/${f}` : f;
    if (isImageName(f)) images.push(r);
    else if (f.toLowerCase().endsWith('.txt')) texts.add(r);
  }
  if (depth < MAX_DEPTH)
    for (const d of [...dirs].sort()) {
      if (d === 'node_modules') continue;
      const sub = await walk(path.join(dir, d), rel ? `${rel}/${d}` : d, depth + 1);
      images.push(...sub.images);
      for (const t of sub.texts) texts.add(t);
    }
  return { images, texts };
}

/** The caption form of `root`, or undefined when it has none of the three. */
export async function detectCustomLayout(root: string): Promise<CustomLayout | undefined> {
  if (isFile(path.join(root, 'captions.jsonl'))) return 'jsonl';
  if (isFile(path.join(root, 'captions.csv'))) return 'csv';
  const { images, texts } = await walk(root);
  if (images.some((i) => texts.has(`${stripExt(i)}.txt`))) return 'txt';
  return undefined;
}

function stripExt(rel: string): string {
  const ext = path.posix.extname(rel);
  return ext ? rel.slice(0, -ext.length) : rel;
}

/**
 * Parses RFC-4180 CSV: fields separated by commas, optionally quoted with ", a doubled "" inside
 * quotes is a quote, and quoted fields may hold commas and line breaks. Returns each row with the
 * line it starts on; an unterminated quote is reported through `onError` and ends the parse.
 */
export function parseCsv(
  text: string,
  onError?: (line: number, message: string) => void,
): { line: number; fields: string[] }[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let quotedStart = -1;
  const endRow = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (quotedStart >= 0) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quotedStart = -1;
        i++;
        continue;
      }
      if (ch === '\n') line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quotedStart = line;
      i++;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRow();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      rowLine = line;
    } else {
      field += ch;
      i++;
    }
  }
  if (quotedStart >= 0) {
    onError?.(quotedStart, 'unterminated quoted field');
    return rows;
  }
  if (field !== '' || fields.length > 0) endRow();
  return rows;
}

interface Entry {
  image: string;
  captions: string[];
  classId?: string;
  where: string;
}

/**
 * Reads a folder of images with captions (captions.jsonl, captions.csv or one .txt per image).
 * Record ids are image paths relative to the folder; classId is the entry's "class" when given,
 * else its first caption.
 * @example const ds = await readCustom('my-pictures');
 */
export async function readCustom(root: string, opts: { layout?: CustomLayout } = {}): Promise<DatasetSource> {
  root = path.resolve(root);
  requireDir(root, 'custom', LAYOUT);
  const layout = opts.layout ?? (await detectCustomLayout(root));
  if (!layout)
    throw new Error(
      `custom: no captions found in ${root}: looked for ${path.join(root, 'captions.jsonl')}, ` +
        `${path.join(root, 'captions.csv')} and <name>.txt files beside the images\nExpected one of:\n${LAYOUT}`,
    );
  const problems: DataProblem[] = [];
  if (layout === 'txt') return readTxt(root, problems);

  const file = path.join(root, layout === 'jsonl' ? 'captions.jsonl' : 'captions.csv');
  const text = await readText(file);
  if (text instanceof Error)
    throw new Error(`custom: cannot read ${file}: ${text.message}\nExpected layout:\n${LAYOUT}`);
  const entries = layout === 'jsonl' ? parseJsonl(text, problems) : parseCaptionCsv(text, file, problems);

  // Merge entries per image, in first-seen order.
  const byImage = new Map<string, Entry>();
  for (const e of entries) {
    const key = e.image.replace(/\\/g, '/').replace(/^\.\//, '');
    const prev = byImage.get(key);
    if (!prev) byImage.set(key, { ...e, image: key, captions: [...e.captions] });
    else {
      prev.captions.push(...e.captions);
      prev.classId ??= e.classId;
    }
  }
  const list = [...byImage.values()];
  const found = await mapLimit(list, 32, async (e) => {
    const candidates = path.isAbsolute(e.image)
      ? [e.image]
      : [path.join(root, e.image), path.join(root, 'images', e.image)];
    for (const c of candidates) {
      try {
        if ((await fsp.stat(c)).isFile()) return c;
      } catch {
        // try the next place
      }
    }
    return undefined;
  });
  const records: Record[] = [];
  list.forEach((e, i) => {
    const p = found[i];
    if (!p) {
      problems.push({ item: e.image, reason: 'missing-image', detail: `named by ${e.where}` });
      return;
    }
    const captions = e.captions.map((c) => c.trim()).filter((c) => c.length > 0);
    if (captions.length === 0) {
      problems.push({ item: e.image, reason: 'empty-captions', detail: `no caption in ${e.where}` });
      return;
    }
    records.push({
      id: path.isAbsolute(e.image) ? e.image : relId(root, p),
      image: { kind: 'file', path: p },
      captions,
      classId: e.classId?.trim() || (captions[0] as string),
    });
  });
  return { name: 'custom', root, text: 'captions', records, problems };
}

function parseJsonl(text: string, problems: DataProblem[]): Entry[] {
  const out: Entry[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line) continue;
    const where = `captions.jsonl:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      problems.push({ item: where, reason: 'bad-line', detail: `not JSON: ${(e as Error).message}` });
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      problems.push({ item: where, reason: 'bad-line', detail: 'expected a JSON object' });
      continue;
    }
    const o = obj as { [k: string]: unknown };
    if (typeof o.image !== 'string' || !o.image) {
      problems.push({ item: where, reason: 'bad-line', detail: 'no "image" string' });
      continue;
    }
    const captions: string[] = [];
    if (typeof o.caption === 'string') captions.push(o.caption);
    if (Array.isArray(o.captions)) for (const c of o.captions) if (typeof c === 'string') captions.push(c);
    if (o.caption === undefined && o.captions === undefined) {
      problems.push({ item: where, reason: 'bad-line', detail: 'no "caption" or "captions" field' });
      continue;
    }
    const classId = typeof o.class === 'string' || typeof o.class === 'number' ? String(o.class) : undefined;
    out.push({ image: o.image, captions, where, ...(classId !== undefined ? { classId } : {}) });
  }
  return out;
}

function parseCaptionCsv(text: string, file: string, problems: DataProblem[]): Entry[] {
  const rows = parseCsv(text, (line, message) =>
    problems.push({ item: `captions.csv:${line}`, reason: 'bad-line', detail: `${message} (rest of file ignored)` }),
  );
  const header = rows.shift();
  const cols = header?.fields.map((h) => h.trim().toLowerCase()) ?? [];
  const iImage = cols.indexOf('image');
  const iCaption = cols.indexOf('caption');
  const iClass = cols.indexOf('class');
  if (iImage < 0 || iCaption < 0)
    throw new Error(
      `custom: ${file} must start with a header naming the columns image and caption (read ${JSON.stringify(header?.fields.join(',') ?? '')})\nExpected layout:\n${LAYOUT}`,
    );
  const out: Entry[] = [];
  for (const { line, fields } of rows) {
    const where = `captions.csv:${line}`;
    if (fields.length !== cols.length) {
      problems.push({
        item: where,
        reason: 'bad-line',
        detail: `expected ${cols.length} fields but read ${fields.length}`,
      });
      continue;
    }
    const image = (fields[iImage] as string).trim();
    if (!image) {
      problems.push({ item: where, reason: 'bad-line', detail: 'empty image field' });
      continue;
    }
    const classId = iClass >= 0 ? (fields[iClass] as string) : undefined;
    out.push({ image, captions: [fields[iCaption] as string], where, ...(classId ? { classId } : {}) });
  }
  return out;
}

async function readTxt(root: string, problems: DataProblem[]): Promise<DatasetSource> {
  const { images, texts } = await walk(root);
  images.sort(naturalCompare);
  const used = new Set<string>();
  const withText: { image: string; txt: string }[] = [];
  for (const image of images) {
    const txt = `${stripExt(image)}.txt`;
    if (!texts.has(txt)) {
      problems.push({ item: image, reason: 'empty-captions', detail: `no caption file ${txt}` });
      continue;
    }
    if (used.has(txt)) {
      problems.push({ item: image, reason: 'bad-line', detail: `${txt} is already the captions of another image` });
      continue;
    }
    used.add(txt);
    withText.push({ image, txt });
  }
  for (const t of [...texts].sort(naturalCompare))
    if (!used.has(t))
      problems.push({
        item: t,
        reason: 'caption-without-image',
        detail: `no image named ${stem(path.posix.basename(t))}.*`,
      });

  const contents = await mapLimit(withText, 64, (w) => readText(path.join(root, w.txt)));
  const records: Record[] = [];
  withText.forEach((w, i) => {
    const text = contents[i] as string | Error;
    if (text instanceof Error) {
      problems.push({ item: w.txt, reason: 'empty-captions', detail: `unreadable: ${text.message}` });
      return;
    }
    const captions = captionLines(text);
    if (captions.length === 0) {
      problems.push({ item: w.txt, reason: 'empty-captions' });
      return;
    }
    records.push({
      id: w.image,
      image: { kind: 'file', path: path.join(root, ...w.image.split('/')) },
      captions,
      classId: captions[0] as string,
    });
  });
  return { name: 'custom', root, text: 'captions', records, problems };
}
