// Helpers shared by the dataset adapters: checking the root, listing folders once (instead of one
// stat per image), reading text files with bounded concurrency, and splitting lines.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** File name extensions treated as images (decoding is checked later, by the cache step). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** Throws an Error naming `p` and the expected layout unless `p` is a directory. */
export function requireDir(p: string, what: string, layout: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new Error(`${what}: folder not found: ${p}\nExpected layout:\n${layout}`);
  }
  if (!st.isDirectory()) throw new Error(`${what}: not a folder: ${p}\nExpected layout:\n${layout}`);
}

/** Throws an Error naming `p` and the expected layout unless `p` is a file. */
export function requireFile(p: string, what: string, layout: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new Error(`${what}: file not found: ${p}\nExpected layout:\n${layout}`);
  }
  if (!st.isFile()) throw new Error(`${what}: not a file: ${p}\nExpected layout:\n${layout}`);
}

export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first of `names` that is a file in `dir`, or undefined. */
export function firstFile(dir: string, names: string[]): string | undefined {
  for (const n of names) if (isFile(path.join(dir, n))) return path.join(dir, n);
  return undefined;
}

/**
 * Names of the regular files (symbolic links followed) and of the sub-folders of `dir`; both empty
 * when `dir` cannot be read. One readdir replaces a stat per file.
 */
export async function listDir(dir: string): Promise<{ files: Set<string>; dirs: Set<string> }> {
  const files = new Set<string>();
  const dirs = new Set<string>();
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return { files, dirs };
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isFile()) files.add(e.name);
    else if (e.isDirectory()) dirs.add(e.name);
    else if (e.isSymbolicLink()) {
      try {
        const st = await fsp.stat(path.join(dir, e.name));
        if (st.isFile()) files.add(e.name);
        else if (st.isDirectory()) dirs.add(e.name);
      } catch {
        // A dangling link is neither: the image it names is reported missing.
      }
    }
  }
  return { files, dirs };
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping the order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The lines of a text file without line endings or a UTF-8 byte-order mark. */
export function splitLines(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The non-empty, trimmed lines of a caption file. */
export function captionLines(text: string): string[] {
  return splitLines(text)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Reads a text file, or returns an Error describing why it could not be read. */
export async function readText(p: string): Promise<string | Error> {
  try {
    return await fsp.readFile(p, 'utf8');
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Basename without its extension. */
export function stem(name: string): string {
  const ext = path.extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

/** Relative path with forward slashes (record ids are the same on every platform). */
export function relId(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join('/');
}

/** Sorts strings that may contain numbers in natural order ("2.jpg" before "10.jpg"). */
export const naturalCompare = new Intl.Collator('en', { numeric: true }).compare;
