// Checks shared by the training tests: a run's metrics and whether its scalars are all finite, two tensors' largest
// difference, where the trainer writes the checkpoint of a step, and whether a run kept its best checkpoint.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { noGrad, type Tensor } from '../../src/engine/index.js';
import { RunDir } from '../../src/train/run-dir.js';

/** The lines of a run's metrics.jsonl. */
export function metricsOf(dir: string): Record<string, number>[] {
  return RunDir.open(dir).readMetrics();
}

/** Every logged scalar of a run, checked finite; returns the lines of metrics.jsonl. */
export function finiteMetrics(dir: string): Record<string, number>[] {
  const lines = metricsOf(dir);
  for (const l of lines) for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${dir}: ${k}=${v}`);
  return lines;
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return noGrad(() => {
    using d = a.sub(b);
    using ad = d.abs();
    using m = ad.max();
    return m.item();
  });
}

export function ckptFile(dir: string, step: number): string {
  return path.join(dir, 'checkpoints', `step-${String(step).padStart(8, '0')}.safetensors`);
}

/**
 * A run kept the best of its scored checkpoints: best.json names the metric, its value is the best
 * of every eval/<metric> the run logged, its step is where that score was logged, and the file of
 * that step is still on disk. Returns best.json.
 */
export function assertBestKept(
  dir: string,
  metric: string,
  mode: 'min' | 'max',
  atLeast: number,
): { step: number; metric: string; value: number } {
  const scored = metricsOf(dir).filter((l) => l[`eval/${metric}`] !== undefined);
  assert.ok(scored.length >= atLeast, `${scored.length} scored checkpoints, expected at least ${atLeast}`);
  const best = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'best.json'), 'utf8')) as {
    step: number;
    metric: string;
    value: number;
  };
  assert.equal(best.metric, metric);
  const values = scored.map((l) => l[`eval/${metric}`]!);
  assert.equal(best.value, mode === 'min' ? Math.min(...values) : Math.max(...values));
  assert.ok(
    scored.some((l) => l.step === best.step && l[`eval/${metric}`] === best.value),
    `best.json step ${best.step} is not where ${best.value} was logged`,
  );
  assert.ok(fs.existsSync(path.join(dir, 'checkpoints', `step-${String(best.step).padStart(8, '0')}.safetensors`)));
  return best;
}
