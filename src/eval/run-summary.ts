// A training run's record for docs/results/: what the run directory says about how long it trained,
// in which mode, and how its in-training metrics moved, written to a small JSON
// (`creativeai results --summarize <run>`) that the results tables are made from. The run directory
// itself (checkpoints, logs) is not committed; this file is.
import fs from 'node:fs';
import path from 'node:path';

export interface RunSummary {
  run: string;
  model: string;
  seed: number;
  gitCommit: string | null;
  /** Compute mode of the latest start (precision, memory format, why). */
  mode: { precision: string; memoryFormat: string; reason?: string } | null;
  /** Steps at which the run was resumed. */
  resumedAt: number[];
  /** Config values a resume changed (`--set`), with the step they apply from. */
  changes?: { step: number; sets: string[] }[];
  steps: number;
  imagesSeen: number;
  /** Training wall-clock seconds (the trainer's own count, summed over resumes). */
  wallSeconds: number;
  /**
   * The training process's CPU time, all threads, since step cpuFromStep (the trainer records it
   * from this version on; older stretches of a run are not counted), or null when not recorded.
   */
  cpuSeconds: number | null;
  cpuFromStep: number;
  /**
   * Threads the run used: the most any of its starts recorded in run.json; a start from before the
   * trainer recorded them counts as the caller's figure.
   */
  threads: number;
  /**
   * The weights the run started from when not from nothing (init.from, grow.from): the file, its
   * step and the images its generator had seen; `steps`, `imagesSeen` and `evals` count this run only.
   */
  startedFrom?: { file: string; step: number | null; images: number | null };
  /** Every in-training evaluation: its step, the images seen by then, and eval/* metrics. */
  evals: ({ step: number; images: number } & Record<string, number>)[];
}

interface Manifest {
  step: number;
  state?: { imagesSeen?: number; seconds?: number; cpuSeconds?: number; cpuFromStep?: number };
}

/** `dir` holds no run to summarise: no run.json, or no checkpoint with its training state. */
export class NotSummarizableError extends Error {}

/**
 * Reads `dir` (a run directory) into a RunSummary; `threads` stands for the thread count of starts
 * whose run.json entry does not record one.
 */
export function summarizeRun(dir: string, threads: number): RunSummary {
  const runFile = path.join(dir, 'run.json');
  if (!fs.existsSync(runFile)) throw new NotSummarizableError(`${dir} is not a run directory (no run.json)`);
  const run = JSON.parse(fs.readFileSync(runFile, 'utf8')) as {
    model?: string;
    seed?: number;
    gitCommit?: string;
    mode?: RunSummary['mode'];
    threads?: number;
    resumedAt?: { step: number; threads?: number; mode?: RunSummary['mode']; sets?: string[] }[];
    startedFrom?: RunSummary['startedFrom'];
  };
  const ckDir = path.join(dir, 'checkpoints');
  const manifests: Manifest[] = fs.existsSync(ckDir)
    ? fs
        .readdirSync(ckDir)
        .filter((f) => /^step-\d+\.json$/.test(f))
        .map((f) => JSON.parse(fs.readFileSync(path.join(ckDir, f), 'utf8')) as Manifest)
        .sort((a, b) => a.step - b.step)
    : [];
  const last = manifests[manifests.length - 1];
  if (!last?.state?.imagesSeen || last.state.seconds === undefined)
    throw new NotSummarizableError(`${dir} has no checkpoint with its training state: nothing to summarise`);
  // Every step sees the same number of images (the batch), so a step's images follow from the last.
  const perStep = last.state.imagesSeen / last.step;
  const lines = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, number>];
      } catch {
        return []; // a torn last line of a run that was killed
      }
    });
  const evals = lines
    .filter((l) => Object.keys(l).some((k) => k.startsWith('eval/')) && l.step! <= last.step)
    .map((l) => ({
      step: l.step!,
      images: Math.round(l.step! * perStep),
      ...Object.fromEntries(Object.entries(l).filter(([k]) => k.startsWith('eval/'))),
    }));
  const resumes = run.resumedAt ?? [];
  const used = Math.max(...[run, ...resumes].map((start) => start.threads ?? threads));
  return {
    run: path.basename(path.resolve(dir)),
    model: run.model ?? 'unknown',
    seed: run.seed ?? 0,
    gitCommit: run.gitCommit ?? null,
    mode: resumes[resumes.length - 1]?.mode ?? run.mode ?? null,
    resumedAt: resumes.map((r) => r.step),
    changes: resumes.filter((r) => (r.sets ?? []).length > 0).map((r) => ({ step: r.step, sets: r.sets! })),
    steps: last.step,
    imagesSeen: last.state.imagesSeen,
    wallSeconds: last.state.seconds,
    cpuSeconds: last.state.cpuSeconds ?? null,
    cpuFromStep: last.state.cpuFromStep ?? 0,
    threads: used,
    ...(run.startedFrom ? { startedFrom: run.startedFrom } : {}),
    evals,
  };
}

/** A run's compute mode as tables and cards write it: "bf16 + channels-last" ('' when not recorded). */
export function modeText(mode: RunSummary['mode']): string {
  return mode ? `${mode.precision}${mode.memoryFormat === 'channelsLast' ? ' + channels-last' : ''}` : '';
}
