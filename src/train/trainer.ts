// The training loop shared by every model: config → run directory → data → recipe → steps, with
// logging (console, metrics.jsonl, TensorBoard), sample grids, evaluation and checkpoints that
// resume exactly (weights, optimizer state, random generators, step and position in the data).
import fs from 'node:fs';
import path from 'node:path';

import { DataLoader, CacheReader, randomCaptions, type Batch } from '../data/index.js';
import {
  Generator,
  cuda,
  manualSeed,
  noGrad,
  randn,
  pickDevice,
  retainFreedCpuMemory,
  type Device,
  type MemoryFormat,
  type Tensor,
} from '../engine/index.js';
import { SummaryWriter, makeGrid, tensorToImage } from '../io/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { Prng } from '../util/prng.js';
import { recomputeStandingStatistics } from '../nn/index.js';
import { Progress } from '../util/progress.js';
import { CheckpointStore, loadCheckpoint, withPrefix, type LoadedCheckpoint } from '../artifacts/checkpoint.js';
import { applyOverrides, readConfigFile, resolveConfig, type ConfigObject } from './config.js';
import type { Recipe } from './recipe.js';
import { checkpointMetricFromConfig } from './checkpoint-metric.js';
import type { CommonConfig } from './schema.js';
import type { CheckpointMetric } from '../eval/checkpoint-metric.js';
import { MixedPrecision, resolveComputeMode, type MemoryFormatSetting, type PrecisionSetting } from './precision.js';
import type { GradScalerState } from '../optim/index.js';
import { recipeFor } from './recipes/index.js';
import { RunDir } from './run-dir.js';
import { fullSchema } from './schema.js';

export interface TrainOptions {
  /** A config file for a new run. */
  config?: string;
  /** A run directory (or one of its checkpoints) to continue. */
  resume?: string;
  /** With resume: start again from step 0 when every checkpoint of the run is corrupt. */
  restart?: boolean;
  device?: Device;
  /** key=value overrides of the config. */
  sets?: string[];
  /** Parent folder of new runs (default ./runs). */
  runsRoot?: string;
  /** Exact folder for a new run. */
  runDir?: string;
  /** Stop (with a checkpoint) after this many minutes: long runs as a chain of resumed calls. */
  timeLimitMinutes?: number;
  /** Messages (default: stderr). */
  log?: (msg: string) => void;
  /** Draw the progress bar (default true). */
  progress?: boolean;
}

export interface TrainResult {
  runDir: string;
  step: number;
  finished: boolean;
  interrupted: boolean;
}

interface LoopState {
  step: number;
  batchesConsumed: number;
  imagesSeen: number;
  /** Training wall-clock, summed over resumes. */
  seconds: number;
  /** The process's CPU time (all threads) spent training since step cpuFromStep, summed over resumes. */
  cpuSeconds: number;
  /** 0, or the step a run resumed from a checkpoint written before CPU time was recorded. */
  cpuFromStep: number;
}

export function loadRunConfig(o: TrainOptions): {
  config: ConfigObject;
  run: RunDir | null;
  checkpoint: string | null;
} {
  if (o.resume !== undefined) {
    let dir = o.resume;
    let checkpoint: string | null = null;
    if (!fs.existsSync(dir)) throw new Error(`--resume ${dir}: no such run directory or checkpoint`);
    if (fs.statSync(dir).isFile()) {
      checkpoint = dir;
      dir = path.dirname(path.dirname(dir));
    }
    const run = RunDir.resume(dir);
    const raw = readConfigFile(run.configFile);
    const model = String(raw.model);
    const config = resolveConfig(
      applyOverrides(raw, o.sets ?? [], fullSchema(model)),
      fullSchema(model),
      run.configFile,
    );
    return { config, run, checkpoint };
  }
  if (o.config === undefined) throw new Error('train needs --config <file> (a new run) or --resume <run dir>');
  const raw = readConfigFile(o.config);
  if (typeof raw.model !== 'string')
    throw new Error(`${o.config}: the config must name a model (model: gan-int-cls, …)`);
  if (raw.name === undefined) raw.name = path.basename(o.config).replace(/\.ya?ml$/, '');
  const schema = fullSchema(raw.model);
  const config = resolveConfig(applyOverrides(raw, o.sets ?? [], schema), schema, o.config);
  return { config, run: null, checkpoint: null };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const say = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { config, run: existing, checkpoint } = loadRunConfig(o);
  const device = pickDevice(o.device);
  retainFreedCpuMemory(); // the same large buffers every step: reuse them (engine/cuda.ts)
  // Checked against the schema by loadRunConfig: typed from it once here.
  const common = config as unknown as CommonConfig;
  const tr = common.train;
  const data = common.data;
  const seed = common.seed;

  const run =
    existing ??
    RunDir.create({
      root: o.runsRoot ?? 'runs',
      name: String(config.name),
      ...(o.runDir !== undefined ? { dir: o.runDir } : {}),
      config,
      device,
    });
  try {
    return await trainIn(run, { o, say, config, existing, checkpoint, device, tr, data, seed });
  } catch (e) {
    // A new run that failed before its first checkpoint leaves nothing behind that would make the
    // rerun of the same command refuse ("exists"); one with checkpoints stays, to be resumed.
    if (existing === null && new CheckpointStore(run.checkpoints).list().length === 0)
      fs.rmSync(run.dir, { recursive: true, force: true });
    throw e;
  }
}

async function trainIn(
  run: RunDir,
  {
    o,
    say,
    config,
    existing,
    checkpoint,
    device,
    tr,
    data,
    seed,
  }: {
    o: TrainOptions;
    say: (m: string) => void;
    config: ConfigObject;
    existing: RunDir | null;
    checkpoint: string | null;
    device: Device;
    tr: CommonConfig['train'];
    data: CommonConfig['data'];
    seed: number;
  },
): Promise<TrainResult> {
  const log = (m: string): void => {
    say(m);
    run.log(m);
  };

  // Seeding before building the networks makes their initial weights a function of the seed.
  manualSeed(seed);
  const rng = new Generator(seed + 1, device);
  const reader = CacheReader.open(String(data.cache));
  const resolution = data.resolution;
  if (!reader.manifest.resolutions.includes(resolution))
    throw new Error(
      `the cache ${reader.dir} has resolutions ${reader.manifest.resolutions.join(', ')}, the config asks for ${resolution}: prepare it with --sizes ${resolution}`,
    );
  const factory = recipeFor(String(config.model));
  const mode = resolveComputeMode(
    tr.precision as PrecisionSetting,
    tr.memoryFormat as MemoryFormatSetting,
    device,
    undefined,
    factory.memoryFormat,
  );
  const precision = new MixedPrecision(mode.precision, device);
  const recipe = factory.create({ config, device, data: reader, rng, log, precision });
  // The score the best checkpoint is kept by: the recipe's own validation (classifiers, DAMSM), or
  // for a GAN, src/eval measuring the generator the recipe exposes.
  let metric: CheckpointMetric | null = null;
  try {
    metric = recipe.sampler ? checkpointMetricFromConfig(config, recipe.sampler(), reader.records, device) : null;
  } catch (e) {
    disposeRecipe(recipe);
    throw e;
  }
  if (tr.standingStats > 0 && recipe.sampler?.().network === undefined) {
    disposeRecipe(recipe);
    throw new Error(`train.standingStats is for GANs: ${String(config.model)} has no generator to sample from`);
  }
  const best = recipe.best ?? (metric ? { metric: metric.best, mode: 'max' as const } : undefined);
  const evaluate = async (): Promise<Record<string, number>> =>
    recipe.evaluate ? await recipe.evaluate() : metric ? metric.measure(recipe.sampler!()) : {};
  // Before any optimizer state exists or a checkpoint is restored: both follow the weights' layout.
  if (mode.memoryFormat !== 'contiguous')
    for (const m of recipe.modules.values()) m.to({ memoryFormat: mode.memoryFormat });
  const resolutions = recipe.resolutions ?? [resolution];
  const missing = resolutions.filter((r) => !reader.manifest.resolutions.includes(r));
  if (missing.length > 0) {
    metric?.dispose();
    disposeRecipe(recipe);
    throw new Error(
      `${String(config.model)} trains on ${resolutions.join(', ')} px images; the cache ${reader.dir} has ${reader.manifest.resolutions.join(', ')}: prepare it with --sizes ${resolutions.join(',')}`,
    );
  }
  const loader = new DataLoader(reader, {
    batchSize: data.batchSize,
    resolutions,
    seed,
    device,
    memoryFormat: mode.memoryFormat,
    workers: data.workers,
    prefetch: data.prefetch,
  });
  let auxiliary: DataLoader | null;
  try {
    auxiliary = openAuxiliary(recipe, { seed, device, memoryFormat: mode.memoryFormat, resolutions, data });
  } catch (e) {
    await loader.close();
    metric?.dispose();
    disposeRecipe(recipe);
    throw e;
  }
  const store = new CheckpointStore(run.checkpoints, tr.keep);
  /** The recipe's warm start of a run at step 0 (a grown DF-GAN); nothing is left open when it fails. */
  const initialize = async (): Promise<void> => {
    try {
      const started = recipe.initialize?.();
      if (started) run.noteStartedFrom(started);
    } catch (e) {
      await loader.close();
      await auxiliary?.close();
      metric?.dispose();
      disposeRecipe(recipe);
      throw e;
    }
  };
  const state: LoopState = { step: 0, batchesConsumed: 0, imagesSeen: 0, seconds: 0, cpuSeconds: 0, cpuFromStep: 0 };

  if (existing) {
    // Checkpoints listed now, plus those moved aside as corrupt by this or an earlier attempt.
    const listed = store.list().length;
    const ck = checkpoint !== null ? loadCheckpoint(checkpoint) : store.loadLatest((m) => log(`warning: ${m}`));
    const had = listed + store.corrupt().length;
    if (ck === null && had > 0 && !o.restart) {
      metric?.dispose();
      disposeRecipe(recipe);
      throw new Error(
        `every checkpoint of ${run.dir} is corrupt; they were moved aside as *.corrupt. ` +
          'Resume with --restart to train it again from step 0',
      );
    }
    if (ck === null) {
      log(
        `${run.dir} has no ${had > 0 ? 'valid' : 'usable'} checkpoint: starting from step 0${had > 0 ? ' (--restart)' : ''}`,
      );
      // What the lost steps logged and which of them was best no longer describes this run.
      run.truncateMetrics(0);
      store.forgetBest();
      await initialize();
    } else {
      restore(recipe, ck, state, rng, device, precision);
      run.truncateMetrics(state.step);
      run.noteResume(state.step, mode, { sets: o.sets ?? [], config });
      log(`resumed ${run.dir} at step ${state.step} from ${path.basename(ck.path)}`);
    }
  } else {
    run.noteMode(mode);
    log(`run ${run.dir}: ${String(config.model)} on ${reader.manifest.dataset}, ${device}, seed ${seed}`);
    await initialize();
  }
  log(`compute: ${mode.precision}, ${mode.memoryFormat} (${mode.reason})`);

  if (device !== 'cpu') {
    cuda.resetPeakMemoryStats(device);
    // Batch shapes are fixed: let cuDNN time its algorithms once per shape and keep the fastest.
    cuda.setCudnnBenchmark(true);
  }
  const tb = new SummaryWriter(run.dir);
  const totalSteps = tr.steps;
  const progress =
    o.progress === false ? null : new Progress({ total: totalSteps - state.step, label: 'train', unit: 'steps' });
  let stop = null as 'signal' | 'time' | null;
  let signals = 0;
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130); // a second Ctrl-C: leave now
    stop = 'signal';
    say('\ninterrupt: finishing this step and writing a checkpoint (Ctrl-C again to quit without one)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  const startSeconds = state.seconds;
  const startCpu = state.cpuSeconds;
  const cpu0 = process.cpuUsage();
  const clock = (): void => {
    state.seconds = startSeconds + (Date.now() - started) / 1000;
    const c = process.cpuUsage(cpu0);
    state.cpuSeconds = startCpu + (c.user + c.system) / 1e6;
  };
  const deadline = o.timeLimitMinutes === undefined ? Infinity : started + o.timeLimitMinutes * 60_000;

  const perEpoch = loader.batchesPerEpoch;
  let epoch = Math.floor(state.batchesConsumed / perEpoch);
  let iter = loader.epoch(epoch, { startBatch: state.batchesConsumed % perEpoch });
  const nextBatch = async (): Promise<Batch> => {
    for (;;) {
      const r = await iter.next();
      if (!r.done) return r.value;
      epoch++;
      iter = loader.epoch(epoch);
    }
  };

  // The auxiliary stream advances one batch per step: its position after a resume is the step.
  const auxPerEpoch = auxiliary?.batchesPerEpoch ?? 1;
  let auxEpoch = Math.floor(state.step / auxPerEpoch);
  let auxIter = auxiliary?.epoch(auxEpoch, { startBatch: state.step % auxPerEpoch }) ?? null;
  const nextAuxiliary = async (): Promise<Batch | undefined> => {
    if (auxiliary === null || auxIter === null) return undefined;
    for (;;) {
      const r = await auxIter.next();
      if (!r.done) return r.value;
      auxEpoch++;
      auxIter = auxiliary.epoch(auxEpoch);
    }
  };

  const save = async (final: boolean): Promise<void> => {
    if (tr.standingStats > 0)
      standingStatistics(recipe, reader, tr.standingStats, data.batchSize, seed, state.step, device);
    const metrics = final || state.step % tr.checkpointEvery === 0 ? await evaluate() : {};
    if (Object.keys(metrics).length > 0) {
      log(`eval @${state.step}: ${fmtScalars(metrics)}`);
      run.appendMetrics(state.step, Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`eval/${k}`, v])));
      for (const [k, v] of Object.entries(metrics)) tb.scalar(`eval/${k}`, v, state.step);
    }
    writeCheckpoint(recipe, store, state, rng, device, metrics, config, precision);
    const b = best;
    if (b && metrics[b.metric] !== undefined) {
      const prev = store.best();
      const v = metrics[b.metric]!;
      if (prev === null || (b.mode === 'min' ? v < prev.value : v > prev.value))
        store.markBest(state.step, b.metric, v);
    }
  };

  const writeSamples = async (): Promise<void> => {
    if (!recipe.samples) return;
    const { images, nrow } = recipe.samples();
    try {
      const file = path.join(run.samples, `step-${String(state.step).padStart(8, '0')}.png`);
      // One grid and one PNG encode serve both the samples folder and TensorBoard.
      using grid = makeGrid(images, { nrow });
      const png = await tensorToImage(grid, 'png');
      writeFileAtomicSync(file, [png]);
      tb.image('samples', png, state.step);
    } finally {
      images.dispose();
    }
  };

  let windowStart = Date.now();
  let windowImages = 0;
  try {
    if (state.step === 0) await writeSamples();
    while (state.step < totalSteps && stop === null) {
      // Let signal handlers run even when every batch is already in memory (no worker threads).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batches: Batch[] = [];
      for (let k = 0; k < recipe.batchesPerStep; k++) batches.push(await nextBatch());
      const aux = await nextAuxiliary();
      const logging = (state.step + 1) % tr.logEvery === 0 || state.step === 0;
      let result;
      try {
        result = precision.run(() =>
          recipe.step(batches, state.step, aux === undefined ? { logging } : { logging, auxiliary: aux }),
        );
      } finally {
        for (const b of batches) b.dispose();
        aux?.dispose();
      }
      const amp = precision.endIteration();
      if (logging) Object.assign(result.scalars, amp);
      state.step++;
      state.batchesConsumed += batches.length;
      state.imagesSeen += result.images;
      windowImages += result.images;
      for (const [k, v] of Object.entries(result.scalars))
        if (!Number.isFinite(v))
          throw new Error(`${k} became ${v} at step ${state.step}: training diverged (the last checkpoint is kept)`);
      if (logging) {
        const now = Date.now();
        const imgPerSec = (windowImages * 1000) / Math.max(1, now - windowStart);
        windowStart = now;
        windowImages = 0;
        const scalars: Record<string, number> = { ...result.scalars, 'perf/img_per_sec': imgPerSec };
        // The caching allocator's high-water mark since the run (or resume) started.
        if (device !== 'cpu') scalars['perf/gpu_peak_gib'] = cuda.memoryStats(device).peakAllocated / 2 ** 30;
        run.appendMetrics(state.step, scalars);
        for (const [k, v] of Object.entries(scalars)) tb.scalar(k, v, state.step);
        if (progress) progress.tick(0, fmtScalars(result.scalars));
        else say(`step ${state.step}/${totalSteps} ${imgPerSec.toFixed(1)} img/s ${fmtScalars(result.scalars)}`);
      }
      progress?.tick(1);
      if (state.step % tr.sampleEvery === 0) await writeSamples();
      if (Date.now() > deadline) stop = 'time';
      clock();
      if (state.step % tr.checkpointEvery === 0 && state.step < totalSteps && stop === null) await save(false);
    }
    clock();
    if (state.step % tr.sampleEvery !== 0) await writeSamples();
    await save(state.step >= totalSteps);
    progress?.finish();
    const finished = state.step >= totalSteps;
    log(
      finished
        ? `finished ${totalSteps} steps in ${state.seconds.toFixed(0)} s; checkpoints in ${run.checkpoints}`
        : `stopped at step ${state.step} (${stop === 'time' ? 'time limit' : 'interrupted'}); continue with: creativeai train --resume ${run.dir}`,
    );
    return { runDir: run.dir, step: state.step, finished, interrupted: stop === 'signal' };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await iter.return(undefined);
    await auxIter?.return(undefined);
    tb.close();
    await loader.close();
    await auxiliary?.close();
    metric?.dispose();
    disposeRecipe(recipe);
  }
}

/** The loader of a recipe's auxiliary stream (its own seed, so the main batches do not change). */
function openAuxiliary(
  recipe: Recipe,
  o: {
    seed: number;
    device: Device;
    memoryFormat: MemoryFormat;
    resolutions: number[];
    data: { workers?: number; prefetch?: number };
  },
): DataLoader | null {
  const a = recipe.auxiliary;
  if (a === undefined) return null;
  const reader = CacheReader.open(a.cache);
  const resolutions = a.resolutions ?? o.resolutions;
  const missing = resolutions.filter((r) => !reader.manifest.resolutions.includes(r));
  const train = reader.records.filter((r) => r.split === 'train').length;
  if (missing.length > 0 || train < a.batchSize) {
    reader.close();
    throw new Error(
      missing.length > 0
        ? `the auxiliary cache ${a.cache} has ${reader.manifest.resolutions.join(', ')} px images, not ${missing.join(', ')}: prepare it with --sizes ${resolutions.join(',')}`
        : `the auxiliary cache ${a.cache} has ${train} training images, fewer than one batch of ${a.batchSize}`,
    );
  }
  return new DataLoader(reader, {
    batchSize: a.batchSize,
    resolutions,
    seed: o.seed + 0x5eed,
    device: o.device,
    memoryFormat: o.memoryFormat,
    ...(o.data.workers !== undefined ? { workers: o.data.workers } : {}),
    ...(o.data.prefetch !== undefined ? { prefetch: o.data.prefetch } : {}),
  });
}

function disposeRecipe(recipe: Recipe): void {
  recipe.dispose();
  for (const m of recipe.modules.values()) m.dispose();
  for (const opt of recipe.optimizers.values()) opt.dispose();
}

export function fmtScalars(s: Record<string, number>): string {
  return Object.entries(s)
    .map(
      ([k, v]) =>
        `${k.replace(/^loss\//, '')}=${Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : v.toFixed(3)}`,
    )
    .join(' ');
}

function rngTensors(rng: Generator, device: Device): Map<string, Tensor> {
  const m = new Map<string, Tensor>([
    ['rng.run', rng.getState()],
    ['rng.cpu', Generator.default('cpu').getState()],
  ]);
  if (device !== 'cpu') m.set('rng.device', Generator.default(device).getState());
  return m;
}

function writeCheckpoint(
  recipe: Recipe,
  store: CheckpointStore,
  state: LoopState,
  rng: Generator,
  device: Device,
  metrics: Record<string, number>,
  config: ConfigObject,
  precision: MixedPrecision,
): void {
  const tensors = new Map<string, Tensor>();
  for (const [name, m] of recipe.modules) for (const [k, t] of m.stateDict()) tensors.set(`${name}.${k}`, t);
  const optim: Record<string, Record<string, number>> = {};
  for (const [name, opt] of recipe.optimizers) {
    const sd = opt.stateDict();
    optim[name] = sd.scalars;
    for (const [k, t] of sd.tensors) tensors.set(`optim.${name}.${k}`, t);
  }
  const rngs = rngTensors(rng, device);
  for (const [k, t] of rngs) tensors.set(k, t);
  try {
    store.save(state.step, tensors, {
      state: { ...state, optim, amp: precision.stateDict() },
      metrics,
      metadata: { ...recipe.metadata(), config: JSON.stringify(config), step: String(state.step) },
    });
  } finally {
    for (const t of rngs.values()) t.dispose();
  }
}

function restore(
  recipe: Recipe,
  ck: LoadedCheckpoint,
  state: LoopState,
  rng: Generator,
  device: Device,
  precision: MixedPrecision,
): void {
  try {
    for (const [name, m] of recipe.modules) m.loadStateDict(withPrefix(ck.tensors, `${name}.`));
    const s = ck.manifest.state as unknown as Omit<LoopState, 'cpuSeconds' | 'cpuFromStep'> & {
      cpuSeconds?: number;
      cpuFromStep?: number;
      optim: Record<string, Record<string, number>>;
      amp?: GradScalerState | null;
    };
    precision.loadStateDict(s.amp);
    for (const [name, opt] of recipe.optimizers) {
      const tensors = withPrefix(ck.tensors, `optim.${name}.`);
      const scalars = s.optim[name];
      if (scalars === undefined) throw new Error(`checkpoint ${ck.path} has no state for optimizer '${name}'`);
      // The rates are the config's (the recipe built the optimizer from it), which a resume may change
      // with --set; for a resume that changes nothing they equal the checkpoint's.
      opt.loadStateDict({ scalars, tensors }, { keepSettings: true });
    }
    const get = (k: string): Tensor => {
      const t = ck.tensors.get(k);
      if (t === undefined) throw new Error(`checkpoint ${ck.path} lacks '${k}'`);
      return t;
    };
    rng.setState(get('rng.run'));
    Generator.default('cpu').setState(get('rng.cpu'));
    if (device !== 'cpu' && ck.tensors.has('rng.device')) Generator.default(device).setState(get('rng.device'));
    state.step = s.step;
    state.batchesConsumed = s.batchesConsumed;
    state.imagesSeen = s.imagesSeen;
    state.seconds = s.seconds;
    // Checkpoints from before CPU time was recorded: count it from here on, and say from where.
    state.cpuSeconds = s.cpuSeconds ?? 0;
    state.cpuFromStep = s.cpuSeconds === undefined ? s.step : (s.cpuFromStep ?? 0);
  } finally {
    for (const t of ck.tensors.values()) t.dispose();
  }
}

/**
 * Standing statistics for the generator the recipe samples from (nn/standing-statistics.ts): the
 * mean batch-norm statistics of `batches` batches of training captions with fresh noise, in
 * float32 as it is evaluated. Its draws come from (seed, step), not the run's generators, so a
 * resumed run trains exactly as an uninterrupted one.
 */
function standingStatistics(
  recipe: Recipe,
  reader: CacheReader,
  batches: number,
  batchSize: number,
  seed: number,
  step: number,
  device: Device,
): void {
  const sampler = recipe.sampler!();
  const g = sampler.network!; // checked when the run started
  const train = reader.records.filter((r) => r.split === 'train');
  const pick = Prng.derive(seed, step);
  const noise = new Generator(Prng.derive(seed, step, 1).int(2 ** 31), device);
  recomputeStandingStatistics(g, batches, () => {
    const captions = randomCaptions(train, batchSize, pick);
    using z = randn([batchSize, sampler.noiseDim], { generator: noise, device });
    noGrad(() => sampler.images(z, captions)).dispose();
  });
}
