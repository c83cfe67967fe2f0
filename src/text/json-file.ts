// Reading and writing the small JSON files of the text module (vocabularies), with errors that name
// the file and say what is wrong with it.
import fs from 'node:fs';

import { writeFileAtomicSync } from '../util/atomic-write.js';

/** Writes JSON atomically: readers see the old file or the new one, never half of one. */
export function saveJsonFile(file: string, json: unknown): void {
  writeFileAtomicSync(file, [Buffer.from(JSON.stringify(json) + '\n', 'utf8')]);
}

/**
 * Reads a JSON file and turns it into a value with `parse`; every failure becomes `makeError(message)`
 * with a message naming the file ("<what> file not found: …", "corrupt <what> file …: not valid JSON").
 */
export function loadJsonFile<T>(
  file: string,
  what: string,
  parse: (json: unknown) => T,
  makeError: (message: string) => Error,
): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw makeError(
      code === 'ENOENT' ? `${what} file not found: ${file}` : `cannot read ${what} file ${file}: ${String(e)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw makeError(`corrupt ${what} file ${file}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return parse(json);
  } catch (e) {
    throw makeError(`${file}: ${(e as Error).message}`);
  }
}
