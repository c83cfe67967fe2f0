// Checks shared by the training tests: a run's metrics and whether its scalars are all finite, two tensors' largest
// difference, and where the trainer writes the checkpoint of a step.
import assert from 'node:assert/strict';
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
