// retainFreedCpuMemory: after it, a freed large CPU tensor stays in the process for the next one
// (glibc no longer unmaps it); without it, freeing gives the pages back. Each case runs in a child
// process, since the setting is process-wide and cannot be undone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const engine = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'engine', 'index.js');
const glibc =
  (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !==
  undefined;
const SKIP = !glibc || !fs.existsSync('/proc/self/status') ? 'needs glibc and /proc (Linux)' : false;

/** Resident memory (MiB) gained across allocating, filling and freeing a 256 MiB tensor. */
async function residentAfterFree(retain: boolean, env: NodeJS.ProcessEnv = {}): Promise<{ kept: number; on: boolean }> {
  const script = `
    import fs from 'node:fs';
    const { zeros, retainFreedCpuMemory } = await import(${JSON.stringify(engine)});
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    const on = ${retain} ? retainFreedCpuMemory() : false;
    const before = rss();
    const t = zeros([64, 1024, 1024]); // 256 MiB, written by the fill
    t.dispose();
    console.log(JSON.stringify({ kept: rss() - before, on }));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, CREATIVEAI_THREADS: '1', ...env },
  });
  return JSON.parse(stdout) as { kept: number; on: boolean };
}

describe('retainFreedCpuMemory', { skip: SKIP }, () => {
  test('by default a freed 256 MiB tensor goes back to the system', async () => {
    const r = await residentAfterFree(false);
    assert.ok(r.kept < 64, `${r.kept.toFixed(0)} MiB still resident`);
  });

  test('after it the freed tensor stays resident for reuse', async () => {
    const r = await residentAfterFree(true);
    assert.equal(r.on, true);
    assert.ok(r.kept > 200, `only ${r.kept.toFixed(0)} MiB kept`);
  });

  test('CREATIVEAI_MALLOC=system leaves the allocator alone', async () => {
    const r = await residentAfterFree(true, { CREATIVEAI_MALLOC: 'system' });
    assert.equal(r.on, false);
    assert.ok(r.kept < 64, `${r.kept.toFixed(0)} MiB still resident`);
  });
});
