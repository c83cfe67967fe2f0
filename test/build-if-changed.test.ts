// `npm start` compiles only when a source changed since the last build (install/build-if-changed.mjs):
// after `npm run build` (which `npm test` runs first) it says up to date; a changed source file
// makes it build again. With --dry-run the test compiles nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = path.join(root, 'install', 'build-if-changed.mjs');

function decision(): string {
  const r = spawnSync(process.execPath, [script, '--dry-run'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test('up to date after a build; a touched source asks for a build; touched back, up to date again', () => {
  // The sources as they are were just compiled (npm test builds first): record that.
  assert.equal(spawnSync(process.execPath, [script, '--stamp'], { cwd: root }).status, 0);
  assert.match(decision(), /up to date/);
  const file = path.join(root, 'src', 'cli', 'index.ts');
  const { atime, mtime } = fs.statSync(file);
  try {
    fs.utimesSync(file, atime, new Date(mtime.getTime() + 60_000));
    assert.match(decision(), /sources changed, compiling/);
  } finally {
    fs.utimesSync(file, atime, mtime);
  }
  assert.match(decision(), /up to date/);
});
