// `npm start` builds only when something it compiles changed since the last build: the TypeScript
// that the two tsconfigs include, the tsconfigs themselves and package.json. Each file's content is
// hashed (sha256) and the hashes of the last successful build are kept in dist/.build-stamp, so a
// checkout that only changes modification times does not rebuild, and the message names the files
// that changed. A rebuild of everything took 24 s of the 26.8 s before the page answered; the check
// takes milliseconds. `npm run build` still builds unconditionally.
//
//   node install/build-if-changed.mjs            build if needed
//   node install/build-if-changed.mjs --stamp    record the current sources as built (`npm run build` ends with it)
//   node install/build-if-changed.mjs --dry-run  say whether a build is needed, build nothing (exit 0 either way)
//   --root DIR                                   the project folder (default: this script's parent)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const args = new Set(argv);
const rootAt = argv.indexOf('--root');
const root =
  rootAt >= 0
    ? path.resolve(argv[rootAt + 1] ?? '.')
    : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = path.join(root, 'dist', '.build-stamp');
const tsconfigs = ['tsconfig.json', path.join('web', 'tsconfig.json')];

// The folders a tsconfig compiles, read from its "include" patterns (all of the form `dir/**/*.ts`),
// so this list cannot drift from what tsc builds. tsconfig files are JSON with comments.
function includedFolders(tsconfig) {
  const text = fs.readFileSync(path.join(root, tsconfig), 'utf8');
  const json = JSON.parse(text.replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, str) => str ?? ''));
  return (json.include ?? []).map((pattern) => {
    const m = /^(.+)\/\*\*\/\*\.ts$/.exec(pattern);
    if (!m)
      throw new Error(`build-if-changed: ${tsconfig}: include pattern "${pattern}" is not of the form dir/**/*.ts`);
    return path.join(path.dirname(tsconfig), m[1]);
  });
}

function* sources(dir) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

/** path (relative to root) → sha256 of its content, for every file the build reads. */
function fingerprint() {
  const files = new Set([...tsconfigs, 'package.json']);
  for (const dir of tsconfigs.flatMap(includedFolders)) {
    for (const f of sources(path.join(root, dir))) files.add(path.relative(root, f));
  }
  const out = {};
  for (const f of [...files].sort()) {
    const p = path.join(root, f);
    out[f] = fs.existsSync(p) ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : 'missing';
  }
  return out;
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    return null; // none yet, or one from before stamps were JSON: build
  }
}

function changedFiles(before, now) {
  if (!before || typeof before !== 'object') return null;
  const names = new Set([...Object.keys(before), ...Object.keys(now)]);
  return [...names].filter((f) => before[f] !== now[f]).sort();
}

function writeStamp(fp) {
  fs.mkdirSync(path.dirname(stampFile), { recursive: true });
  fs.writeFileSync(stampFile, `${JSON.stringify(fp, null, 1)}\n`);
}

if (args.has('--stamp')) {
  writeStamp(fingerprint());
  process.exit(0);
}
const now = fingerprint();
const changed = changedFiles(readStamp(), now);
const built = fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'index.js'));
if (built && changed && changed.length === 0) {
  console.error('build: up to date (no source changed since the last build)');
} else {
  const which =
    changed && changed.length > 0
      ? ` (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''})`
      : '';
  console.error(
    !built
      ? 'build: compiling'
      : changed
        ? `build: sources changed${which}, compiling`
        : 'build: no record of the last build, compiling',
  );
  if (args.has('--dry-run')) process.exit(0);
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  writeStamp(fingerprint());
}
