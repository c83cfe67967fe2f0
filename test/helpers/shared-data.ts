// Where the tests that read the real datasets find them: CREATIVEAI_SHARED_DATASETS, else the
// repository's sibling ../shared/datasets (the layout of this project's machines). A test whose
// copy is missing is skipped, and the skip says which folder it looked for and how to point it
// elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/helpers/: the repository is three levels up.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const SHARED_DATASETS = path.resolve(
  process.env.CREATIVEAI_SHARED_DATASETS ?? path.join(repo, '..', 'shared', 'datasets'),
);

/** The path of a file or folder under the shared datasets. */
export function sharedData(...parts: string[]): string {
  return path.join(SHARED_DATASETS, ...parts);
}

/** node:test's `skip` for a test that needs `sharedData(...parts)`: false when it exists, else why. */
export function skipWithout(...parts: string[]): false | string {
  const p = sharedData(...parts);
  return fs.existsSync(p) ? false : `no ${p} (set CREATIVEAI_SHARED_DATASETS to the folder holding the real datasets)`;
}
