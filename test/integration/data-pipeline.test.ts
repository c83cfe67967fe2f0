// From the public layouts on disk to training batches: every adapter's fixture goes through
// `creativeai prepare` and the loader; bad files are reported, not fatal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CacheReader, DataLoader, prepareCache, type Batch } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';
import { liveTensors } from '../../src/engine/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled tests live in dist/test/integration; the fixtures stay in test/fixtures.
const fixtures = path.resolve(here, '..', '..', '..', 'test', 'fixtures');
const cli = path.resolve(here, '..', '..', 'src', 'cli', 'index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-pipeline-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const start = liveTensors();

for (const spec of [
  'anime-faces:anime-hw32',
  'anime-faces:anime-original',
  'cub:cub-mini',
  'oxford-102:oxford-mini',
  'custom:custom-jsonl',
  'custom:custom-csv',
  'custom:custom-txt',
  'custom:broken',
]) {
  test(`${spec}: prepare at 16 and 32 px, then load a batch`, async () => {
    const [kind, dir] = spec.split(':') as [string, string];
    const source = await openDataset(`${kind}:${path.join(fixtures, dir)}`);
    const { manifest, dir: out } = await prepareCache(source, {
      out: path.join(tmp, dir),
      resolutions: [16, 32],
      split: 'random:1,0',
      progress: false,
    });
    assert.ok(manifest.count > 0);
    if (dir === 'broken') {
      assert.equal(manifest.problems.byReason['unreadable-image'], 1, 'the file that is not an image is reported');
      assert.match(JSON.stringify(manifest.problems.first), /not-an-image\.jpg/);
    }
    const loader = new DataLoader(CacheReader.open(out), { batchSize: 2, resolutions: [16, 32], workers: 0 });
    const b = (await loader.epoch(0).next()).value as Batch;
    assert.ok(b);
    assert.deepEqual(b.images.get(32)!.shape, [2, 3, 32, 32]);
    const px = b.images.get(16)!.toFloat32Array();
    assert.ok(px.every((v) => v >= -1 && v <= 1));
    assert.ok(b.captions.every((c) => typeof c === 'string' && c.length > 0));
    b.dispose();
    await loader.close();
  });
}

test('closing a loader with worker threads returns, also when nothing else keeps the process alive', () => {
  // A script that loads batches with workers, closes, and prints: before the fix the process often
  // exited inside close() (its worker threads were unref'd) without printing, with status 0.
  const out = path.join(tmp, 'close-shapes');
  const made = spawnSync(process.execPath, [cli, 'prepare', 'shapes:16', '--out', out, '--sizes', '16'], {
    encoding: 'utf8',
  });
  assert.equal(made.status, 0, made.stderr);
  const loaderUrl = new URL('../../src/data/index.js', import.meta.url).href;
  const script = `
    const { CacheReader, DataLoader } = await import(${JSON.stringify(loaderUrl)});
    const loader = new DataLoader(CacheReader.open(${JSON.stringify(out)}), { batchSize: 4, workers: 2, prefetch: 3 });
    const it = loader.epoch(0);
    (await it.next()).value.dispose();
    await it.return(undefined);
    await loader.close();
    console.log('closed');
  `;
  const file = path.join(tmp, 'close-loader.mjs');
  fs.writeFileSync(file, script);
  for (let i = 0; i < 6; i++) {
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'closed', `run ${i + 1}: the process ended inside close()`);
  }
});

test('creativeai prepare: builds a cache, and bad arguments print usage with exit code 2', () => {
  const out = path.join(tmp, 'cli-shapes');
  const ok = spawnSync(process.execPath, [cli, 'prepare', 'shapes:40', '--out', out, '--sizes', '32'], {
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /wrote 40 images at 32 px/);
  assert.equal(CacheReader.open(out).manifest.count, 40);

  const again = spawnSync(process.execPath, [cli, 'prepare', 'shapes:40', '--out', out], { encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already exists.*--overwrite/);

  const noOut = spawnSync(process.execPath, [cli, 'prepare', 'shapes:4'], { encoding: 'utf8' });
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out <dir> is required[\s\S]*Usage: creativeai prepare/);

  const badSize = spawnSync(process.execPath, [cli, 'prepare', 'shapes:4', '--out', out, '--sizes', 'big'], {
    encoding: 'utf8',
  });
  assert.equal(badSize.status, 2);
  assert.match(badSize.stderr, /--sizes must be an integer, got 'big'/);

  const missing = spawnSync(process.execPath, [cli, 'prepare', `cub:${path.join(tmp, 'nowhere')}`, '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nowhere/);

  const unknown = spawnSync(process.execPath, [cli, 'fly'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown command 'fly'/);
});

test('no tensor leaks', () => {
  assert.equal(liveTensors(), start);
});
