// Checkpoints of a run: one .safetensors file with every tensor (networks, optimizer state, random
// generator states) and a small JSON manifest written after it, holding the checksum and the
// loop's counters. The manifest is the commit record: a crash mid-write leaves either no manifest
// or one whose checksum does not match, and resuming falls back to the previous checkpoint.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import type { Tensor } from '../engine/index.js';
import { checkTensorsDigest, loadSafetensors, saveSafetensors } from '../io/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';

export const CHECKPOINT_FORMAT = 'creativeai.checkpoint.v1';

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  step: number;
  file: string;
  bytes: number;
  sha256: string;
  createdAt: string;
  /** Loop counters and optimizer hyper-parameters (JSON-safe). */
  state: Record<string, unknown>;
  /** Metrics at this step (e.g. validation loss), used to pick the best checkpoint. */
  metrics: Record<string, number>;
}

export class CheckpointError extends Error {}

export interface LoadedCheckpoint {
  manifest: CheckpointManifest;
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  path: string;
}

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

const stepName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

export class CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep = 3,
  ) {}

  /** Writes a checkpoint atomically, then prunes all but the last `keep` (and the best). */
  save(
    step: number,
    tensors: Map<string, Tensor>,
    o: { state: Record<string, unknown>; metrics?: Record<string, number>; metadata?: Record<string, string> },
  ): CheckpointManifest {
    fs.mkdirSync(this.dir, { recursive: true });
    const name = stepName(step);
    const file = path.join(this.dir, `${name}.safetensors`);
    saveSafetensors(file, tensors, o.metadata);
    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT,
      step,
      file: `${name}.safetensors`,
      bytes: fs.statSync(file).size,
      sha256: sha256File(file),
      createdAt: new Date().toISOString(),
      state: o.state,
      metrics: o.metrics ?? {},
    };
    writeFileAtomicSync(path.join(this.dir, `${name}.json`), [Buffer.from(JSON.stringify(manifest, null, 1))]);
    this.#prune();
    return manifest;
  }

  /** Marks a step as the best so far (kept by pruning). */
  markBest(step: number, metric: string, value: number): void {
    writeFileAtomicSync(path.join(this.dir, 'best.json'), [Buffer.from(JSON.stringify({ step, metric, value }))]);
  }

  /** Drops the best-checkpoint record (a run restarted from step 0). */
  forgetBest(): void {
    fs.rmSync(path.join(this.dir, 'best.json'), { force: true });
  }

  best(): { step: number; metric: string; value: number } | null {
    const f = path.join(this.dir, 'best.json');
    if (!fs.existsSync(f)) return null;
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')) as { step: number; metric: string; value: number };
    } catch {
      return null;
    }
  }

  /** Manifests present, newest first (not yet verified). */
  list(): number[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .map((f) => /^step-(\d+)\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
  }

  /** Steps whose checkpoints were moved aside as corrupt. */
  corrupt(): number[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .map((f) => /^step-(\d+)\.json\.corrupt$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
  }

  #prune(): void {
    const best = this.best()?.step;
    const steps = this.list();
    for (const s of steps.slice(this.keep)) {
      if (s === best) continue;
      for (const ext of ['.json', '.safetensors']) fs.rmSync(path.join(this.dir, stepName(s) + ext), { force: true });
    }
  }

  /** Loads one step, verifying size and checksum first. */
  load(step: number): LoadedCheckpoint {
    return loadCheckpoint(path.join(this.dir, `${stepName(step)}.json`));
  }

  /**
   * The newest checkpoint that verifies. Broken ones are reported through `warn` and moved aside
   * (renamed *.corrupt, kept for inspection), so a run killed while writing resumes from the one
   * before, and pruning, which counts the checkpoints it lists, never keeps broken ones in place of
   * valid ones.
   */
  loadLatest(warn: (msg: string) => void): LoadedCheckpoint | null {
    for (const step of this.list()) {
      try {
        return this.load(step);
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        for (const ext of ['.json', '.safetensors']) {
          const f = path.join(this.dir, stepName(step) + ext);
          if (fs.existsSync(f)) fs.renameSync(f, `${f}.corrupt`);
        }
        warn(`${e.message} (moved aside as ${stepName(step)}.*.corrupt); trying the previous checkpoint`);
      }
    }
    return null;
  }
}

/**
 * Loads a checkpoint from its manifest (.json) or its .safetensors file. A file without a
 * manifest (an exported model) is loaded as it is, after the safetensors structure checks.
 */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  let manifestFile = file;
  if (file.endsWith('.safetensors')) manifestFile = file.replace(/\.safetensors$/, '.json');
  if (!fs.existsSync(manifestFile)) {
    if (!fs.existsSync(file)) throw new CheckpointError(`checkpoint ${file} does not exist`);
    return loadTensors(file, null);
  }
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as CheckpointManifest;
  } catch (e) {
    throw new CheckpointError(`checkpoint manifest ${manifestFile} is unreadable: ${(e as Error).message}`);
  }
  if (manifest.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `${manifestFile} is not a CreativeAI checkpoint manifest (format ${String(manifest.format)})`,
    );
  const data = path.join(path.dirname(manifestFile), manifest.file);
  if (!fs.existsSync(data)) throw new CheckpointError(`checkpoint ${data} is missing`);
  const bytes = fs.statSync(data).size;
  if (bytes !== manifest.bytes)
    throw new CheckpointError(
      `checkpoint ${data} is truncated or corrupt: ${bytes} bytes, the manifest says ${manifest.bytes}`,
    );
  const sha = sha256File(data);
  if (sha !== manifest.sha256)
    throw new CheckpointError(`checkpoint ${data} is corrupt: its SHA-256 does not match the manifest`);
  return loadTensors(data, manifest);
}

function loadTensors(data: string, manifest: CheckpointManifest | null): LoadedCheckpoint {
  // An exported model records the digest of its tensors (cli/export.ts): check it before use.
  if (manifest === null) {
    let digest: ReturnType<typeof checkTensorsDigest>;
    try {
      digest = checkTensorsDigest(data);
    } catch (e) {
      throw new CheckpointError(`model file ${data} is truncated or corrupt: ${(e as Error).message}`);
    }
    if (digest === 'mismatch')
      throw new CheckpointError(
        `model file ${data} is corrupt: its tensors do not match the SHA-256 recorded when it was exported`,
      );
  }
  try {
    const { tensors, metadata } = loadSafetensors(data);
    const m: CheckpointManifest = manifest ?? {
      format: CHECKPOINT_FORMAT,
      step: Number(metadata.step ?? 0),
      file: path.basename(data),
      bytes: fs.statSync(data).size,
      sha256: '',
      createdAt: '',
      state: {},
      metrics: {},
    };
    return { manifest: m, tensors, metadata, path: data };
  } catch (e) {
    throw new CheckpointError(`checkpoint ${data} is truncated or corrupt: ${(e as Error).message}`);
  }
}

/** The entries under `prefix.`, with the prefix removed (the tensors are shared, not copied). */
export function withPrefix(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
  return out;
}

/**
 * What a user points at → a checkpoint file: a file is used as given; a run directory (or its
 * checkpoints/ folder) gives its best checkpoint when `preferBest` and one is recorded, else the newest.
 */
export function resolveRunCheckpoint(p: string, preferBest: boolean): string {
  if (!fs.existsSync(p)) throw new CheckpointError(`${p} does not exist`);
  if (fs.statSync(p).isFile()) return p;
  const store = new CheckpointStore(fs.existsSync(path.join(p, 'checkpoints')) ? path.join(p, 'checkpoints') : p);
  const best = preferBest ? store.best()?.step : undefined;
  const steps = store.list();
  const step = best !== undefined && steps.includes(best) ? best : steps[0];
  if (step === undefined) throw new CheckpointError(`${p} holds no checkpoints`);
  return path.join(store.dir, `${stepName(step)}.json`);
}

/**
 * resolveRunCheckpoint, then from a manifest to the weights file it names: the .safetensors whose
 * header holds the model's metadata (config, model kind, step).
 */
export function resolveCheckpointWeights(p: string, preferBest: boolean): string {
  const file = resolveRunCheckpoint(p, preferBest);
  if (!file.endsWith('.json')) return file;
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { file?: string };
  return path.join(path.dirname(file), m.file ?? path.basename(file).replace(/\.json$/, '.safetensors'));
}

/**
 * The images a checkpoint's or model file's generator had seen before its run started, when that run
 * started from another model's weights: the file's `imagesBefore` (an export records it), else the
 * `startedFrom` of the run directory the checkpoint sits in (runs/<run>/checkpoints/…), else 0.
 */
export function imagesBefore(ck: Pick<LoadedCheckpoint, 'path' | 'metadata'>): number {
  if (ck.metadata.imagesBefore !== undefined) return Number(ck.metadata.imagesBefore);
  const runJson = path.join(path.dirname(path.dirname(ck.path)), 'run.json');
  if (!fs.existsSync(runJson)) return 0;
  const info = JSON.parse(fs.readFileSync(runJson, 'utf8')) as { startedFrom?: { images: number | null } };
  return info.startedFrom?.images ?? 0;
}
