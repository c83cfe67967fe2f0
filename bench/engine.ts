// `npm run bench:engine`: one DCGAN training step (64x64, batch 64) written with the TypeScript
// engine, against the same step written in PyTorch (bench/dcgan_ref.py) when a Python with torch is
// at hand ($PYTHON, python3, or the project's .venv/), else against the same step written directly
// in C++ on the same libtorch (bench/dcgan_ref.cpp, compiled into build/bench/ with the addon's flags).
//
// Against PyTorch, both sides run in each mode: fp32 and bf16 autocast, each in the default and the
// channels-last memory format, with the allocator setting the trainer uses (glibc keeps freed
// blocks). The matrix of both sides is printed, then, last, `ratio <best TS img/s / best PyTorch
// img/s>` (each side's best mode). Against C++ it is the fp32 step only, and `ratio <TS / C++>`.
// Both sides must compute the same step: each prints its first step's losses (same seed, weights
// and data), and the run fails (exit 1) when they differ beyond the mode's rounding (LOSS_TOLERANCE).
//
// All sides run as child processes, alternately (A, B, B, A, ...), with the same device, threads,
// warm-up and timed steps; the best run of each side counts. A run's img/s is batch / step time: on
// CUDA the mean over the timed loop (synchronised before the clock is read), on the CPU its fastest
// timed step (CPU steps are synchronous, so this is the figure least disturbed by other load).
//
// Options: --device cpu|cuda (default: cuda when available), --batch N, --width N (ngf = ndf, 64;
//   e.g. --width 4 --batch 1 makes the step overhead-bound, as small GPU steps are), --warmup N, --steps N,
//   --rounds N, --threads N, --against pytorch|cpp (default: pytorch when available), --modes LIST
//   (e.g. fp32,bf16+cl; default all four), --only ts|cpp|py, --profile (where the TS step spends its
//   time), --out FILE (results as JSON).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import {
  F,
  autocast,
  backendInfo,
  retainFreedCpuMemory,
  cuda,
  liveTensors,
  manualSeed,
  native,
  ones,
  rand,
  randn,
  setNumThreads,
  tidy,
  zeros,
  type Device,
  type MemoryFormat,
} from '../src/engine/internal.js';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  LeakyReLU,
  ReLU,
  Sequential,
  Tanh,
  init,
  type Layer,
  type Module,
} from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A precision and a memory format: the columns of the matrix. */
interface Mode {
  precision: 'fp32' | 'bf16';
  memoryFormat: MemoryFormat;
}
const MODES: Record<string, Mode> = {
  fp32: { precision: 'fp32', memoryFormat: 'contiguous' },
  'fp32+cl': { precision: 'fp32', memoryFormat: 'channelsLast' },
  bf16: { precision: 'bf16', memoryFormat: 'contiguous' },
  'bf16+cl': { precision: 'bf16', memoryFormat: 'channelsLast' },
};
const modeName = (m: Mode): string => `${m.precision}${m.memoryFormat === 'channelsLast' ? '+cl' : ''}`;

type Side = 'ts' | 'cpp' | 'py';
const SIDE_NAME: Record<Side, string> = { ts: 'TypeScript', cpp: 'C++', py: 'PyTorch' };

interface Options {
  device: Device;
  batch: number;
  /** ngf = ndf: 64 in DCGAN; a small width makes the step overhead-bound (a stand-in for a GPU). */
  width: number;
  warmup: number;
  steps: number;
  rounds: number;
  threads: number;
  seed: number;
  cudnnBenchmark: boolean;
  profile: boolean;
  only: Side | null;
  out: string | null;
  /** What the TS side is compared with: PyTorch itself, or the same step in C++ on the addon's libtorch. */
  against: 'pytorch' | 'cpp';
  modes: Mode[];
  /** A child's own mode. */
  mode: Mode;
}

interface RunResult {
  side: Side;
  mode: string;
  imgPerS: number;
  /** batch / process CPU seconds per step (all threads): less sensitive to other load. */
  cpuImgPerS: number;
  /** The losses (D, G) of the first step: equal on every side up to the mode's rounding. */
  first: [number, number] | null;
  lines: string[];
}

/**
 * How far the first step's losses may differ between the sides (relative). On one libtorch the two
 * sides run the same kernels and agree to all printed digits in every mode (measured with 2.13);
 * the margin is for a kernel that sums in another order (another thread count, a foreach instead
 * of a fused Adam), and for bf16's 8-bit mantissa.
 */
const LOSS_TOLERANCE: Record<Mode['precision'], number> = { fp32: 1e-4, bf16: 1e-2 };

function parseOptions(argv: string[]): { o: Options; child: string | null } {
  const { values } = parseArgs({
    args: argv,
    options: {
      device: { type: 'string' },
      batch: { type: 'string' },
      width: { type: 'string' },
      warmup: { type: 'string' },
      steps: { type: 'string' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
      'cudnn-benchmark': { type: 'string' },
      profile: { type: 'boolean' },
      only: { type: 'string' },
      out: { type: 'string' },
      against: { type: 'string' },
      modes: { type: 'string' },
      precision: { type: 'string' },
      'memory-format': { type: 'string' },
      child: { type: 'string' },
    },
    strict: true,
  });
  const device = (values.device ?? (cuda.isAvailable() ? 'cuda' : 'cpu')) as Device;
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) throw new TypeError(`--device must be cpu or cuda, got ${device}`);
  const gpu = device !== 'cpu';
  if (gpu && !cuda.isAvailable()) throw new Error(`--device ${device}: this build of the addon has no CUDA device`);
  const int = (v: string | undefined, dflt: number, min: number, name: string): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new TypeError(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  // CPU steps take a second on a small machine: few timed ones, after a warm-up long enough for the
  // process's heap to reach its steady size. A training run takes thousands of steps and page-faults
  // almost none (the anime run: ~40 faults a step); the first steps fault in the growing heap: after 2
  // warm-up steps, the TS side still faulted ~13,000 pages (50 MB) a step, PyTorch (which frees each
  // activation as soon as autograd lets go of it, so its heap settles sooner) ~400; after 12, ~3,000
  // and 0. Both sides print their faults per timed step.
  const o: Options = {
    device,
    batch: int(values.batch, 64, 1, 'batch'),
    width: int(values.width, 64, 1, 'width'),
    warmup: int(values.warmup, gpu ? 20 : 12, 0, 'warmup'),
    steps: int(values.steps, gpu ? 100 : 4, 1, 'steps'),
    rounds: int(values.rounds, 3, 1, 'rounds'),
    threads: int(values.threads, Number(process.env.CREATIVEAI_THREADS) || os.availableParallelism(), 1, 'threads'),
    seed: int(values.seed, 1, 0, 'seed'),
    cudnnBenchmark: (values['cudnn-benchmark'] ?? '1') !== '0',
    profile: values.profile ?? false,
    only: null,
    out: values.out ?? null,
    // A child is told what to run: no need to look for Python (a second's fork of a large process).
    against: values.child !== undefined || pythonWithTorch() !== null ? 'pytorch' : 'cpp',
    modes: Object.values(MODES),
    mode: {
      precision: (values.precision ?? 'fp32') as Mode['precision'],
      memoryFormat: (values['memory-format'] ?? 'contiguous') as MemoryFormat,
    },
  };
  if (!['fp32', 'bf16'].includes(o.mode.precision)) throw new TypeError(`--precision must be fp32 or bf16`);
  if (!['contiguous', 'channelsLast'].includes(o.mode.memoryFormat))
    throw new TypeError(`--memory-format must be contiguous or channelsLast`);
  if (values.only !== undefined) {
    if (!(values.only in SIDE_NAME)) throw new TypeError(`--only must be ts, cpp or py`);
    o.only = values.only as Side;
  }
  if (values.against !== undefined) {
    if (values.against !== 'pytorch' && values.against !== 'cpp')
      throw new TypeError(`--against must be pytorch or cpp`);
    if (values.against === 'pytorch' && pythonWithTorch() === null)
      throw new Error('--against pytorch: no Python with torch ($PYTHON, python3 or .venv/bin/python3)');
    o.against = values.against;
  }
  // C++ reference: the fp32 step only (it has no autocast or memory-format switches).
  if (o.against === 'cpp') o.modes = [MODES.fp32!];
  if (values.modes !== undefined) {
    o.modes = values.modes.split(',').map((m) => {
      const mode = MODES[m.trim()];
      if (!mode) throw new TypeError(`--modes: unknown mode '${m}' (one of ${Object.keys(MODES).join(', ')})`);
      return mode;
    });
    if (o.against === 'cpp' && o.modes.some((m) => modeName(m) !== 'fp32'))
      throw new TypeError('the C++ reference runs fp32 only: use --against pytorch for the other modes');
  }
  return { o, child: values.child ?? null };
}

// The arguments a child gets: the same settings for both sides.
function childArgs(o: Options, mode: Mode, side: Side): string[] {
  const a = ['--device', o.device, '--batch', String(o.batch), '--width', String(o.width)];
  if (side !== 'cpp') a.push('--precision', mode.precision, '--memory-format', mode.memoryFormat);
  a.push('--warmup', String(o.warmup));
  a.push('--steps', String(o.steps), '--threads', String(o.threads), '--seed', String(o.seed));
  a.push('--cudnn-benchmark', o.cudnnBenchmark ? '1' : '0');
  if (o.profile && side !== 'py') a.push('--profile');
  return a;
}

let pythonFound: string | null | undefined;
/** A Python that imports torch: $PYTHON, python3, or the project's .venv (install/build-native.mjs). */
function pythonWithTorch(): string | null {
  if (pythonFound !== undefined) return pythonFound;
  const candidates = [process.env.PYTHON, 'python3', path.join(findRoot(), '.venv', 'bin', 'python3')];
  pythonFound = null;
  for (const py of candidates) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) {
      pythonFound = py;
      break;
    }
  }
  return pythonFound;
}

// ---- the TypeScript side ------------------------------------------------------------------------

const NZ = 100;

/** G: z -> ConvTranspose2d 4x4 stack 512-256-128-64-3, BatchNorm + ReLU, Tanh (DCGAN, ngf 64). */
function generator(ngf = 64): Sequential {
  const ch = [NZ, ngf * 8, ngf * 4, ngf * 2, ngf, 3];
  const layers: (Module & Layer)[] = [];
  for (let i = 0; i < 5; i++) {
    const first = i === 0;
    layers.push(
      new ConvTranspose2d(ch[i]!, ch[i + 1]!, 4, { stride: first ? 1 : 2, padding: first ? 0 : 1, bias: false }),
    );
    if (i < 4) layers.push(new BatchNorm2d(ch[i + 1]!), new ReLU());
    else layers.push(new Tanh());
  }
  return new Sequential(...layers);
}

/** D: Conv2d 64-128-256-512 (4x4, stride 2), LeakyReLU(0.2), BatchNorm after the first; 4x4 conv to 1 logit. */
function discriminator(ndf = 64): Sequential {
  const ch = [3, ndf, ndf * 2, ndf * 4, ndf * 8, 1];
  const layers: (Module & Layer)[] = [];
  for (let i = 0; i < 5; i++) {
    const last = i === 4;
    layers.push(new Conv2d(ch[i]!, ch[i + 1]!, 4, { stride: last ? 1 : 2, padding: last ? 0 : 1, bias: false }));
    if (i >= 1 && i <= 3) layers.push(new BatchNorm2d(ch[i + 1]!));
    if (!last) layers.push(new LeakyReLU(0.2));
  }
  return new Sequential(...layers);
}

/** The DCGAN paper's init: conv weights ~ N(0, 0.02), BatchNorm weight ~ N(1, 0.02), bias 0. */
function dcganInit(net: Sequential): void {
  for (const l of net.layers) {
    if (l instanceof Conv2d || l instanceof ConvTranspose2d) init.normal_(l.weight, 0, 0.02);
    else if (l instanceof BatchNorm2d) {
      init.normal_(l.weight!, 1, 0.02);
      init.zeros_(l.bias!);
    }
  }
}

interface TsBench {
  step: (last: boolean) => [number, number] | undefined;
  sync: () => void;
  fused: () => boolean;
}

function setupTs(o: Options): TsBench {
  retainFreedCpuMemory(); // as the trainer does (CREATIVEAI_MALLOC=system turns it off)
  setNumThreads(o.threads);
  const gpu = o.device !== 'cpu';
  if (gpu) cuda.setCudnnBenchmark(o.cudnnBenchmark);
  manualSeed(o.seed);
  const G = generator(o.width);
  const D = discriminator(o.width);
  if (gpu) {
    G.to(o.device);
    D.to(o.device);
  }
  dcganInit(G);
  dcganInit(D);
  const format = o.mode.memoryFormat;
  G.to({ memoryFormat: format });
  D.to({ memoryFormat: format });
  const optG = new Adam(G.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const optD = new Adam(D.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const B = o.batch;
  // A fixed batch of "real" images in [-1, 1] and the labels, made once (as a loader would).
  const real = tidy(() => rand([B, 3, 64, 64], { device: o.device }).mul(2).sub(1).contiguous(format));
  const onesT = ones([B, 1, 1, 1], { device: o.device });
  const zerosT = zeros([B, 1, 1, 1], { device: o.device });

  // The standard DCGAN step: D on real + fake (fake detached), then G through D.
  // bf16: the whole step under autocast, as the trainer's MixedPrecision.run does (backward
  // runs with autocast off inside the addon).
  const inMode = <T>(fn: () => T): T => (o.mode.precision === 'bf16' ? autocast(o.device, 'bfloat16', fn) : fn());
  // Each step is its own scope, as the recipes write theirs (`using` blocks): D's activations are
  // freed when the D step ends, before the G step allocates its own, as PyTorch frees them when
  // autograd lets go. One scope around both steps kept them all to the end: a higher peak and a heap
  // that took several times as many steps to stop growing (page faults each step).
  const step = (last: boolean): [number, number] | undefined =>
    tidy(() =>
      inMode(() => {
        const z = randn([B, NZ, 1, 1], { device: o.device });
        const fake = G.forward(z);
        const lossD = tidy(() => {
          optD.zeroGrad();
          const loss = F.bceWithLogits(D.forward(real), onesT).add(F.bceWithLogits(D.forward(fake.detach()), zerosT));
          loss.backward();
          optD.step();
          return last ? loss.item() : NaN;
        });
        const lossG = tidy(() => {
          optG.zeroGrad();
          const loss = F.bceWithLogits(D.forward(fake), onesT);
          loss.backward();
          optG.step();
          return last ? loss.item() : NaN;
        });
        return last ? ([lossD, lossG] as [number, number]) : undefined;
      }),
    );
  // cuda.synchronize() is a no-op in an addon built without the CUDA headers (cudaApi false in
  // build/config.json); reading a value back from the device waits for the queued work either way.
  const probe = zeros([1], { device: o.device });
  const sync = (): void => {
    if (!gpu) return;
    cuda.synchronize();
    probe.item();
  };
  return { step, sync, fused: () => optD.fused };
}

async function runTsChild(o: Options): Promise<void> {
  const bench = setupTs(o);
  // The first step's losses (same seed, weights and data on every side): the driver compares them.
  let first: [number, number] | undefined;
  for (let i = 0; i < o.warmup; i++) {
    const l = bench.step(i === 0);
    first ??= l;
  }
  bench.sync();
  const liveBefore = liveTensors();
  // On the CPU a step is synchronous: each is timed and the run reports its fastest (least
  // disturbed by other load). On CUDA the loop is timed as a whole (launches are asynchronous).
  const gpu = o.device !== 'cpu';
  let bestStep = Infinity;
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const t0 = performance.now();
  let losses: [number, number] | undefined;
  for (let i = 0; i < o.steps; i++) {
    const t = performance.now();
    const l = bench.step(i === o.steps - 1 || first === undefined);
    first ??= l;
    if (i === o.steps - 1) losses = l;
    if (!gpu) bestStep = Math.min(bestStep, (performance.now() - t) / 1000);
  }
  bench.sync();
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const faultsPerStep = (process.resourceUsage().minorPageFault - faults0) / o.steps;
  const cpuPerStep = (cpu.user + cpu.system) / 1e6 / o.steps;
  const imgPerS = o.batch / (gpu ? secs / o.steps : bestStep);
  const liveAfter = liveTensors();
  const info = backendInfo();
  console.log(
    `ts: libtorch ${info.torch}, device ${o.device}, threads ${info.threads}, batch ${o.batch}, width ${o.width}, ` +
      `warmup ${o.warmup}, steps ${o.steps}, ${modeName(o.mode)}, fused adam ${bench.fused() ? 'yes' : 'no'}, ` +
      `freed memory retained ${retainFreedCpuMemory() ? 'yes' : 'no'}` +
      (gpu ? `, addon CUDA API ${info.cudaBuild ? 'yes' : 'no (synchronised by a read-back)'}` : ''),
  );
  const [lossD, lossG] = losses ?? [NaN, NaN];
  console.log(
    `ts: ${((1000 * secs) / o.steps).toFixed(2)} ms/step mean${gpu ? '' : `, ${(1000 * bestStep).toFixed(2)} ms fastest`}, ` +
      `${(1000 * cpuPerStep).toFixed(2)} ms CPU time (all threads), ` +
      `${faultsPerStep.toFixed(0)} page faults, lossD ${lossD.toFixed(4)} lossG ${lossG.toFixed(4)}, ` +
      `live handles ${liveBefore} -> ${liveAfter}`,
  );
  if (o.profile) await profileTs(o, bench);
  const f6 = (x: number | undefined): string => (x ?? NaN).toFixed(6);
  console.log(`losses first ${f6(first?.[0])} ${f6(first?.[1])} last ${f6(lossD)} ${f6(lossG)}`);
  console.log(`cpu-img/s ${(o.batch / cpuPerStep).toFixed(3)}`);
  console.log(`img/s ${imgPerS.toFixed(3)}`);
}

// ---- profiling: where the TS step spends its time ---------------------------------------------

type Stat = { calls: number; ms: number };

/** Wraps every addon function to count calls and time them (costs a little per call itself). */
function instrumentNative(): { stats: Map<string, Stat>; restore: () => void } {
  const binding = native as unknown as Record<string, unknown>;
  const stats = new Map<string, Stat>();
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  for (const [name, fn] of Object.entries(binding)) {
    if (typeof fn !== 'function') continue;
    const f = fn as (...a: unknown[]) => unknown;
    const s: Stat = { calls: 0, ms: 0 };
    stats.set(name, s);
    originals.set(name, f);
    binding[name] = (...a: unknown[]): unknown => {
      const t = performance.now();
      try {
        return f(...a);
      } finally {
        s.ms += performance.now() - t;
        s.calls++;
      }
    };
  }
  return {
    stats,
    restore: () => {
      for (const [name, f] of originals) binding[name] = f;
    },
  };
}

/** Nanoseconds per call of fn, best of a few batches of n. */
function nsPerCall(n: number, fn: (n: number) => void): number {
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    fn(n);
    best = Math.min(best, ((performance.now() - t) * 1e6) / n);
  }
  return best;
}

/** Garbage collections (count, ms) while fn runs. */
async function withGcStats(fn: () => void): Promise<{ count: number; ms: number }> {
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setTimeout(r, 50)); // entries arrive through the event loop
  obs.disconnect();
  return { count: entries.length, ms: entries.reduce((a, e) => a + e.duration, 0) };
}

async function profileTs(o: Options, bench: TsBench): Promise<void> {
  const steps = Math.max(1, Math.min(o.steps, 50));
  // 1. Garbage collection during plain steps.
  const gc = await withGcStats(() => {
    for (let i = 0; i < steps; i++) bench.step(false);
    bench.sync();
  });
  // 2. The step with every native call timed: time in native calls vs in JavaScript around them.
  const { stats, restore } = instrumentNative();
  bench.sync();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) bench.step(false);
  bench.sync();
  const total = (performance.now() - t0) / steps;
  restore();
  const rows = [...stats].filter(([, s]) => s.calls > 0).sort((a, b) => b[1].ms - a[1].ms);
  const nativeMs = rows.reduce((a, [, s]) => a + s.ms, 0) / steps;
  const calls = rows.reduce((a, [, s]) => a + s.calls, 0) / steps;
  const noHandle = ['dispose', 'zeroGrads', 'backward', 'adamStep', 'item', 'cudaSynchronize', 'shape'];
  const handles = rows.filter(([n]) => !noHandle.includes(n)).reduce((a, [, s]) => a + s.calls, 0) / steps;
  console.log(
    `ts: profile ${steps} step(s): ${total.toFixed(2)} ms/step, in native calls ${nativeMs.toFixed(2)} ms, ` +
      `in JavaScript around them ${(total - nativeMs).toFixed(3)} ms (timers included); ` +
      `${calls} native calls/step, ${handles} of them return new handles; ` +
      `GC ${(gc.count / steps).toFixed(1)} collections ${(gc.ms / steps).toFixed(3)} ms/step`,
  );
  const phases: Record<string, string[]> = {
    'backward()': ['backward'],
    'adamStep (both)': ['adamStep'],
    forward: ['conv2d', 'convTranspose2d', 'batchNorm', 'relu', 'leakyRelu', 'tanh', 'bceWithLogits', 'add', 'randn'],
    'detach + dispose + zeroGrads + shape + item': ['detach', 'dispose', 'zeroGrads', 'shape', 'item'],
  };
  const phase = Object.entries(phases).map(([label, names]) => {
    const ms = names.reduce((a, n) => a + (stats.get(n)?.ms ?? 0), 0) / steps;
    return `${label} ${ms.toFixed(3)}`;
  });
  console.log(`ts: profile ms/step by phase (time in native calls): ${phase.join(', ')}`);
  for (const [name, s] of rows)
    console.log(
      `ts:   ${name.padEnd(16)} ${String(s.calls / steps).padStart(5)} calls/step ` +
        `${(s.ms / steps).toFixed(3).padStart(10)} ms/step ${((1000 * s.ms) / s.calls).toFixed(2).padStart(10)} us/call`,
    );

  // 3. The fixed cost of one op through each layer, on one-element tensors of the device.
  const a = ones([1], { device: o.device });
  const b = ones([1], { device: o.device });
  const ah = a.handle;
  const bh = b.handle;
  const n = 20000;
  const call = nsPerCall(n, (k) => {
    for (let i = 0; i < k; i++) native.numel(ah);
  });
  const wrap = nsPerCall(n, (k) => {
    for (let i = 0; i < k; i++) native.dispose(native.alias(ah));
  });
  const raw = nsPerCall(n, (k) => {
    for (let i = 0; i < k; i++) native.dispose(native.add(ah, bh));
  });
  const wrapped = nsPerCall(n, (k) => {
    for (let i = 0; i < k; i++) a.add(b).dispose();
  });
  const scoped = nsPerCall(n, (k) => {
    tidy(() => {
      for (let i = 0; i < k; i++) a.add(b);
    });
  });
  const scoped100 = nsPerCall(n, (k) => {
    for (let j = 0; j < k; j += 100)
      tidy(() => {
        for (let i = 0; i < 100; i++) a.add(b);
      });
  });
  // Handle creation and disposal apart: make n handles, then free them.
  let createNs = Infinity;
  let disposeNs = Infinity;
  for (let r = 0; r < 7; r++) {
    const hs: ReturnType<typeof native.add>[] = [];
    const t = performance.now();
    for (let i = 0; i < n; i++) hs.push(native.add(ah, bh));
    const t1 = performance.now();
    for (const h of hs) native.dispose(h);
    const t2 = performance.now();
    createNs = Math.min(createNs, ((t1 - t) * 1e6) / n);
    disposeNs = Math.min(disposeNs, ((t2 - t1) * 1e6) / n);
  }
  bench.sync();
  console.log(
    `ts: micro, ns per op on 1-element ${o.device} tensors (best of 7 x ${n}): ` +
      `native.numel ${call.toFixed(0)} (call + argument check), ` +
      `native.alias+dispose ${wrap.toFixed(0)} (new handle, no kernel), ` +
      `native.add+dispose ${raw.toFixed(0)}, Tensor.add+dispose ${wrapped.toFixed(0)}, ` +
      `Tensor.add in tidy of 100 ${scoped100.toFixed(0)}, in one tidy of ${n} ${scoped.toFixed(0)}, ` +
      `native.add with ${n} handles alive ${createNs.toFixed(0)} then dispose ${disposeNs.toFixed(0)}`,
  );
  a.dispose();
  b.dispose();
}

// ---- the C++ side -------------------------------------------------------------------------------

interface BuildConfig {
  libtorch: string;
  libDir: string;
  cuda: boolean;
  abi: number;
}

/** The package root: the first directory above this file holding build/config.json. */
function findRoot(): string {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'build', 'config.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`build/config.json not found above ${here}: build the addon first (node install/build-native.mjs)`);
}

function findRefSource(root: string, file = 'dcgan_ref.cpp'): string {
  let dir = root;
  for (let i = 0; i < 3; i++) {
    const f = path.join(dir, 'bench', file);
    if (fs.existsSync(f)) return f;
    dir = path.dirname(dir);
  }
  throw new Error(`bench/${file} not found at or above ${root}`);
}

/** Compiles bench/dcgan_ref.cpp with the addon's compiler, ABI and libtorch (build/config.json). */
function buildRef(root: string): string {
  const cfg = JSON.parse(fs.readFileSync(path.join(root, 'build', 'config.json'), 'utf8')) as BuildConfig;
  const src = findRefSource(root);
  const system = cfg.libtorch.startsWith('system package') || cfg.libDir.startsWith('/usr/lib/');
  const includeDir = system ? '/usr/include' : path.resolve(cfg.libDir, '..', 'include');
  if (!fs.existsSync(path.join(includeDir, 'ATen', 'ATen.h')))
    throw new Error(`libtorch headers not found at ${includeDir} (from build/config.json libDir ${cfg.libDir})`);
  const includes = [includeDir, path.join(includeDir, 'torch', 'csrc', 'api', 'include')];
  const cxx = process.env.CXX || 'g++';
  const cflags = [
    '-std=c++17',
    '-O2',
    '-fPIC',
    '-fvisibility=hidden',
    '-Wall',
    '-Wno-unused-parameter',
    '-Wno-deprecated-declarations',
    `-D_GLIBCXX_USE_CXX11_ABI=${cfg.abi}`,
    // /usr/include is already a system directory; naming it again breaks #include_next.
    ...includes.filter((d) => path.resolve(d) !== '/usr/include').map((d) => `-isystem${d}`),
  ];
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
  if (cfg.cuda) libs.unshift('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  const ldflags = [`-L${cfg.libDir}`, `-Wl,-rpath,${cfg.libDir}`, ...libs];
  const outDir = path.join(root, 'build', 'bench');
  const exe = path.join(outDir, 'dcgan_ref');
  const stamp = createHash('sha256')
    .update(JSON.stringify([cxx, cflags, ldflags]))
    .update(fs.readFileSync(src))
    .digest('hex');
  const stampFile = `${exe}.sha256`;
  if (fs.existsSync(exe) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return exe;
  fs.mkdirSync(outDir, { recursive: true });
  console.log(`bench: compiling ${path.relative(process.cwd(), src) || src} against ${cfg.libtorch} (${cfg.libDir})`);
  const t = performance.now();
  try {
    execFileSync(cxx, [...cflags, src, '-o', `${exe}.tmp`, ...ldflags], { stdio: 'inherit' });
  } catch {
    throw new Error(`compiling ${src} failed (see the compiler output above)`);
  }
  fs.renameSync(`${exe}.tmp`, exe);
  fs.writeFileSync(stampFile, stamp);
  console.log(`bench: compiled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return exe;
}

// ---- the driver ---------------------------------------------------------------------------------

/**
 * The environment of both children. OpenBLAS (Debian's libtorch uses it as its BLAS) starts a thread
 * pool of its own that at::set_num_threads does not size; libtorch already runs its intra-op pool
 * (--threads) around the BLAS calls, so a second pool only oversubscribes the cores (measured here:
 * 1.6x the CPU time at equal or worse wall time). Both sides get OPENBLAS_NUM_THREADS=1 unless set.
 */
function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1' };
}

function runChild(side: Side, exe: string, o: Options, mode: Mode): RunResult {
  const args = childArgs(o, mode, side);
  const self = fileURLToPath(import.meta.url);
  const [cmd, argv]: [string, string[]] =
    side === 'cpp'
      ? [exe, args]
      : side === 'py'
        ? [pythonWithTorch()!, [findRefSource(findRoot(), 'dcgan_ref.py'), ...args]]
        : [process.execPath, [self, '--child', 'ts', ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, env: childEnv() });
  const lines = `${r.stdout ?? ''}`.split('\n').filter((l) => l.length > 0);
  if (r.status !== 0 || r.error) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    throw new Error(`${side} run failed (${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`})`);
  }
  const m = /^img\/s ([\d.]+)$/.exec(lines[lines.length - 1] ?? '');
  if (!m) throw new Error(`${side} run printed no img/s line:\n${r.stdout}`);
  const c = /^cpu-img\/s ([\d.]+)$/.exec(lines[lines.length - 2] ?? '');
  for (const l of lines.slice(0, c ? -2 : -1)) console.log(`  ${l}`);
  const imgPerS = Number(m[1]);
  const cpuImgPerS = c ? Number(c[1]) : NaN;
  const l = lines.map((x) => /^losses first (\S+) (\S+) last/.exec(x)).find((x) => x !== null);
  const first: [number, number] | null = l ? [Number(l[1]), Number(l[2])] : null;
  console.log(
    `  ${SIDE_NAME[side]} ${modeName(mode)}: ${imgPerS.toFixed(2)} img/s (by CPU time ${cpuImgPerS.toFixed(2)})`,
  );
  return { side, mode: modeName(mode), imgPerS, cpuImgPerS, first, lines };
}

async function main(): Promise<void> {
  const { o, child } = parseOptions(process.argv.slice(2));
  if (child === 'ts') {
    await runTsChild(o);
    return;
  }
  if (child !== null) throw new TypeError(`unknown --child ${child}`);

  const root = findRoot();
  const info = backendInfo();
  const other: Side = o.against === 'pytorch' ? 'py' : 'cpp';
  console.log(
    `bench: DCGAN 64x64 training step, TypeScript against ${SIDE_NAME[other]}` +
      (other === 'py' ? ` (${pythonWithTorch()})` : '') +
      `, libtorch ${info.torch}, device ${o.device}, threads ${o.threads}, ` +
      `batch ${o.batch}, width ${o.width}, warmup ${o.warmup} + ${o.steps} timed steps, ${o.rounds} round(s) per side and mode, ` +
      `modes ${o.modes.map(modeName).join(' ')}, node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, ` +
      `load average ${os.loadavg()[0]!.toFixed(2)}, OPENBLAS_NUM_THREADS=${childEnv().OPENBLAS_NUM_THREADS}`,
  );
  const exe = other === 'cpp' && o.only !== 'ts' ? buildRef(root) : '';
  const results: RunResult[] = [];
  for (let r = 0; r < o.rounds; r++) {
    for (const mode of o.modes) {
      // Alternate the order (A, B, B, A, ...) so that drift in machine load favours neither side.
      const order: Side[] = r % 2 === 0 ? [other, 'ts'] : ['ts', other];
      for (const side of order) {
        if (o.only !== null && o.only !== side) continue;
        console.log(`round ${r + 1}/${o.rounds}, ${modeName(mode)}: ${SIDE_NAME[side]}`);
        results.push(runChild(side, exe, o, mode));
      }
    }
  }
  const best = (side: Side, key: 'imgPerS' | 'cpuImgPerS', mode?: string): number =>
    Math.max(
      0,
      ...results
        .filter((x) => x.side === side && (mode === undefined || x.mode === mode) && Number.isFinite(x[key]))
        .map((x) => x[key]),
    );
  const fmt = (x: number, d = 3): string => (Number.isFinite(x) && x > 0 ? x.toFixed(d) : 'n/a');
  const names = o.modes.map(modeName);
  const matrix: Record<string, Record<string, number>> = {};
  console.log(`\nimg/s, best of ${o.rounds} per cell:`);
  console.log(`${''.padEnd(12)}${names.map((n) => n.padStart(10)).join('')}`);
  for (const side of ['ts', other] as Side[]) {
    matrix[side] = Object.fromEntries(names.map((n) => [n, best(side, 'imgPerS', n)]));
    console.log(`${SIDE_NAME[side].padEnd(12)}${names.map((n) => fmt(matrix[side]![n]!, 2).padStart(10)).join('')}`);
  }
  console.log(
    `${'ratio'.padEnd(12)}${names.map((n) => fmt(matrix.ts![n]! / matrix[other]![n]!).padStart(10)).join('')}`,
  );
  const ts = best('ts', 'imgPerS');
  const ref = best(other, 'imgPerS');
  const bestMode = (side: Side): string => names.find((n) => matrix[side]![n] === best(side, 'imgPerS')) ?? '?';
  const ratio = ref > 0 ? ts / ref : NaN;
  const cpuRatio = best(other, 'cpuImgPerS') > 0 ? best('ts', 'cpuImgPerS') / best(other, 'cpuImgPerS') : NaN;
  if (o.out !== null) {
    const summary = {
      options: o,
      libtorch: info.torch,
      against: o.against,
      runs: results,
      matrix,
      best: { ts, [other]: ref },
      ratio,
      cpuRatio,
    };
    fs.writeFileSync(o.out, JSON.stringify(summary, null, 2) + '\n');
  }
  // Both sides must compute the same step: compare the first step's losses in each mode.
  const disagree: string[] = [];
  for (const mode of o.modes) {
    const name = modeName(mode);
    const firstOf = (side: Side): [number, number] | null =>
      results.find((x) => x.side === side && x.mode === name && x.first !== null)?.first ?? null;
    const a = firstOf('ts');
    const b = firstOf(other);
    if (a === null || b === null) continue;
    const tol = LOSS_TOLERANCE[mode.precision];
    const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(1, Math.abs(b[i]!))));
    const ok = Number.isFinite(worst) && worst <= tol;
    console.log(
      `first-step losses ${name}: TypeScript D ${a[0].toFixed(4)} G ${a[1].toFixed(4)}, ` +
        `${SIDE_NAME[other]} D ${b[0].toFixed(4)} G ${b[1].toFixed(4)}: ${ok ? 'agree' : 'DISAGREE'} ` +
        `(relative difference ${worst.toExponential(1)}, tolerance ${tol})`,
    );
    if (!ok) disagree.push(name);
  }
  if (disagree.length > 0) process.exitCode = 1;
  if (ts > 0) console.log(`TypeScript best ${ts.toFixed(2)} img/s (${bestMode('ts')})`);
  if (ref > 0) console.log(`${SIDE_NAME[other]} best ${ref.toFixed(2)} img/s (${bestMode(other)})`);
  if (ts > 0 && ref > 0) console.log(`ratio by process CPU time (best of each) ${fmt(cpuRatio)}`);
  console.log(`ratio ${fmt(ratio)}`);
  if (disagree.length > 0)
    console.error(`bench: the two sides computed different losses in ${disagree.join(', ')}: not the same step`);
}

await main();
