// `npm start` compiles only when a source changed since the last build (install/build-if-changed.mjs).
// The test runs the script with --dry-run on a small project tree of its own (--root), so it
// compiles nothing and does not depend on, or touch, this checkout's files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'install',
  'build-if-changed.mjs',
);

function tree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creativeai-build-stamp-'));
  const files: Record<string, string> = {
    'package.json': '{"name":"x"}\n',
    'tsconfig.json': '{"include": ["src/**/*.ts", "test/**/*.ts"]}\n',
    'web/tsconfig.json': '{\n  // the browser code\n  "include": ["src/**/*.ts"]\n}\n',
    'src/cli/index.ts': 'export const a = 1;\n',
    'test/a.test.ts': 'export {};\n',
    'web/src/page.ts': 'export const b = 2;\n',
    'src/notes.md': 'not compiled\n',
    'dist/src/cli/index.js': 'export const a = 1;\n',
  };
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

function run(root: string, flag: '--dry-run' | '--stamp'): string {
  const r = spawnSync(process.execPath, [script, flag, '--root', root], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test('up to date after a stamp; a changed or added source is named; changed back, up to date again', () => {
  const root = tree();
  try {
    assert.match(run(root, '--dry-run'), /no record of the last build, compiling/);
    run(root, '--stamp');
    assert.match(run(root, '--dry-run'), /up to date/);

    const file = path.join(root, 'src', 'cli', 'index.ts');
    fs.writeFileSync(file, 'export const a = 2;\n');
    assert.match(run(root, '--dry-run'), /sources changed \(src\/cli\/index\.ts\), compiling/);
    fs.writeFileSync(file, 'export const a = 1;\n');
    assert.match(run(root, '--dry-run'), /up to date/);

    fs.writeFileSync(path.join(root, 'web', 'src', 'new.ts'), 'export {};\n');
    assert.match(run(root, '--dry-run'), /sources changed \(web\/src\/new\.ts\), compiling/);
    fs.rmSync(path.join(root, 'web', 'src', 'new.ts'));
    assert.match(run(root, '--dry-run'), /up to date/);

    fs.writeFileSync(path.join(root, 'src', 'notes.md'), 'changed, but not compiled\n');
    assert.match(run(root, '--dry-run'), /up to date/, 'only what tsc compiles counts');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a modification time alone (a checkout, a touch) does not ask for a build', () => {
  const root = tree();
  try {
    run(root, '--stamp');
    const file = path.join(root, 'src', 'cli', 'index.ts');
    const { atime, mtime } = fs.statSync(file);
    fs.utimesSync(file, atime, new Date(mtime.getTime() + 60_000));
    assert.match(run(root, '--dry-run'), /up to date/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('without a compiled CLI it compiles, whatever the stamp says', () => {
  const root = tree();
  try {
    run(root, '--stamp');
    fs.rmSync(path.join(root, 'dist', 'src'), { recursive: true });
    assert.match(run(root, '--dry-run'), /^build: compiling/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an include pattern the script cannot read is an error, not a silent skip', () => {
  const root = tree();
  try {
    fs.writeFileSync(path.join(root, 'tsconfig.json'), '{"include": ["src/*.ts"]}\n');
    const r = spawnSync(process.execPath, [script, '--dry-run', '--root', root], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /include pattern "src\/\*\.ts" is not of the form dir\/\*\*\/\*\.ts/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
