// A run directory: everything needed to reproduce and audit one training run sits together,
// as in stylegan2-ada's run folders: the resolved config, seed, git commit, command line,
// metrics (JSON lines and TensorBoard), sample grids and checkpoints.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { backendInfo } from '../engine/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { configToYaml, type ConfigObject } from './config.js';
import type { StartedFrom } from './recipe.js';

export interface RunInfo {
  name: string;
  model: string;
  seed: number;
  createdAt: string;
  command: string[];
  gitCommit: string | null;
  /** Uncommitted changes when the run started (the commit alone does not reproduce it). */
  gitDirty: boolean | null;
  host: string;
  node: string;
  libtorch: string;
  device: string;
  /** libtorch's intra-op threads when the run started (CREATIVEAI_THREADS, else the cores). */
  threads?: number;
  /** The arithmetic and layout the run started with (train.precision/memoryFormat resolved). */
  mode?: RunMode;
  /** The weights a run started from when not from nothing (init.from, grow.from). */
  startedFrom?: StartedFrom;
  /**
   * Each resume: the mode it ran in (a resume on another machine may resolve 'auto' otherwise), the
   * code it ran, and the config values it changed (`--set`), which config.yaml holds from then on.
   */
  resumedAt: {
    step: number;
    at: string;
    threads?: number;
    mode?: RunMode;
    command?: string[];
    gitCommit?: string | null;
    gitDirty?: boolean | null;
    sets?: string[];
  }[];
}

export interface RunMode {
  precision: string;
  memoryFormat: string;
  reason: string;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** The commit the code runs from, and whether tracked files differ from it (null: not a git checkout). */
function gitState(): { gitCommit: string | null; gitDirty: boolean | null } {
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return { gitCommit: git(['rev-parse', 'HEAD']), gitDirty: status === null ? null : status.length > 0 };
}

export class RunDir {
  private constructor(readonly dir: string) {}

  get checkpoints(): string {
    return path.join(this.dir, 'checkpoints');
  }
  get samples(): string {
    return path.join(this.dir, 'samples');
  }
  get configFile(): string {
    return path.join(this.dir, 'config.yaml');
  }

  /** Creates runs/<name>-<timestamp> (or `dir` when given) with config.yaml and run.json. */
  static create(o: { root: string; name: string; dir?: string; config: ConfigObject; device: string }): RunDir {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const dir = o.dir ?? path.join(o.root, `${o.name}-${stamp}`);
    if (fs.existsSync(path.join(dir, 'run.json')))
      throw new Error(`${dir} already holds a run: resume it with --resume ${dir}, or pick another --run-dir`);
    const run = new RunDir(dir);
    run.ensureFolders();
    const info: RunInfo = {
      name: o.name,
      model: String(o.config.model),
      seed: Number(o.config.seed),
      createdAt: new Date().toISOString(),
      command: process.argv.slice(1),
      ...gitState(),
      host: os.hostname(),
      node: process.version,
      libtorch: backendInfo().torch,
      device: o.device,
      threads: backendInfo().threads,
      resumedAt: [],
    };
    fs.writeFileSync(path.join(dir, 'config.yaml'), configToYaml(o.config));
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info, null, 2) + '\n');
    return run;
  }

  /** Opens an existing run to read it. */
  static open(dir: string): RunDir {
    if (!fs.existsSync(path.join(dir, 'run.json')) || !fs.existsSync(path.join(dir, 'config.yaml')))
      throw new Error(`${dir} is not a run directory (it needs run.json and config.yaml)`);
    return new RunDir(dir);
  }

  /**
   * Opens an existing run to train on: a run copied or pruned by hand may lack its folders, and
   * without samples/ the first sample grid would fail after an interval's training, before its
   * checkpoint.
   */
  static resume(dir: string): RunDir {
    const run = RunDir.open(dir);
    run.ensureFolders();
    return run;
  }

  /** The folders a training run writes into. */
  private ensureFolders(): void {
    fs.mkdirSync(this.checkpoints, { recursive: true });
    fs.mkdirSync(this.samples, { recursive: true });
  }

  info(): RunInfo {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'run.json'), 'utf8')) as RunInfo;
  }

  /**
   * Records a resume. With `sets` (config values changed on the command line) the resolved `config`
   * replaces config.yaml, so later resumes keep the change; run.json says at which step it came.
   */
  noteResume(step: number, mode?: RunMode, change?: { sets: string[]; config: ConfigObject }): void {
    const info = this.info();
    info.resumedAt.push({
      step,
      at: new Date().toISOString(),
      threads: backendInfo().threads,
      ...(mode ? { mode: { ...mode } } : {}),
      command: process.argv.slice(1),
      ...gitState(),
      ...(change && change.sets.length > 0 ? { sets: [...change.sets] } : {}),
    });
    if (change && change.sets.length > 0)
      writeFileAtomicSync(path.join(this.dir, 'config.yaml'), [Buffer.from(configToYaml(change.config))]);
    fs.writeFileSync(path.join(this.dir, 'run.json'), JSON.stringify(info, null, 2) + '\n');
  }

  /** Records the weights a new run started from. */
  noteStartedFrom(from: StartedFrom): void {
    const info = this.info();
    info.startedFrom = { ...from };
    fs.writeFileSync(path.join(this.dir, 'run.json'), JSON.stringify(info, null, 2) + '\n');
  }

  /** Records the mode a new run computes in. */
  noteMode(mode: RunMode): void {
    const info = this.info();
    info.mode = { precision: mode.precision, memoryFormat: mode.memoryFormat, reason: mode.reason };
    fs.writeFileSync(path.join(this.dir, 'run.json'), JSON.stringify(info, null, 2) + '\n');
  }

  /** Appends one line of metrics; lines past `step` from an interrupted run are dropped on resume. */
  appendMetrics(step: number, values: Record<string, number>): void {
    fs.appendFileSync(
      path.join(this.dir, 'metrics.jsonl'),
      JSON.stringify({ step, time: Date.now() / 1000, ...values }) + '\n',
    );
  }

  truncateMetrics(step: number): void {
    const f = path.join(this.dir, 'metrics.jsonl');
    if (!fs.existsSync(f)) return;
    const kept = fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => {
        if (!l) return false;
        try {
          return (JSON.parse(l) as { step: number }).step <= step;
        } catch {
          return false;
        }
      });
    fs.writeFileSync(f, kept.map((l) => l + '\n').join(''));
  }

  readMetrics(): ({ step: number; time: number } & Record<string, number>)[] {
    const f = path.join(this.dir, 'metrics.jsonl');
    if (!fs.existsSync(f)) return [];
    return fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { step: number; time: number } & Record<string, number>);
  }

  log(msg: string): void {
    fs.appendFileSync(path.join(this.dir, 'train.log'), `${new Date().toISOString()} ${msg}\n`);
  }
}
