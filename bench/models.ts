// `npm run bench:models`: training speed and memory of every model the project trains, each with
// its own config (widths and batch sizes as shipped) on the real data caches, in each compute mode:
// fp32, bf16 autocast, and bf16 + channels-last (train.precision / train.memoryFormat), plus the
// mode 'auto' resolves to on this machine. Each (model, mode) trains for a few steps with the real
// trainer in a child process of its own, so that its peak RSS is its own; img/s is the median over
// the logging windows after the first step (first allocations, oneDNN's kernel choice), each window
// one step of the slow models or a few of the fast ones. The table ends with each model's best mode
// as a ratio to fp32.
//
// Options: --models a,b (default all; see MODELS), --modes fp32,bf16,bf16+cl (default all three),
//   --windows N (timed windows per run, default 3), --anime DIR (default data/anime),
//   --cub DIR (default data/cub, with 64,128,256 px), --out FILE (JSON), --markdown FILE.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backendInfo, cpuFeatures, fastestMode } from '../src/engine/index.js';
import { RunDir } from '../src/train/run-dir.js';
import { train } from '../src/train/trainer.js';
import { median } from './median.js';
import { peakRssBytes } from './peak-rss.js';

interface ModelSpec {
  name: string;
  config: string;
  data: 'anime' | 'cub';
  /** Overrides: evaluation off (timed runs train only), and the widths a row is named for. */
  sets: string[];
  /** Needs a DAMSM run (condition.damsm) or a Stage-I run (stage1). */
  needs?: 'damsm' | 'stage1';
  /** Steps per timed window (fast models get several, so that a window lasts long enough to time). */
  window: number;
}

/**
 * The seed demo's models, two rows each: the row named after the model at the widths it was first
 * measured at (`widths`: the official ones, or GAN-INT-CLS's for WGAN-CLS), since the before/after
 * files compare rows by name, and a `-cpu` row timing the config as trained on two cores (issue 19).
 */
function seedDemoRows(
  name: string,
  config: string,
  needs: ModelSpec['needs'],
  window: number,
  widths: string[],
  sets: string[] = [],
): ModelSpec[] {
  const row = { config, data: 'cub' as const, needs, window };
  return [
    { name, ...row, sets: [...sets, ...widths] },
    { name: `${name}-cpu`, ...row, sets },
  ];
}

// In dependency order: DAMSM conditions the caption models; Stage II refines a Stage I.
const MODELS: ModelSpec[] = [
  { name: 'tag-gan', config: 'configs/tag-gan-anime.yaml', data: 'anime', sets: [], window: 3 },
  { name: 'tag-acgan', config: 'configs/tag-acgan-anime.yaml', data: 'anime', sets: [], window: 3 },
  {
    name: 'attribute-classifier',
    config: 'configs/attribute-classifier-anime.yaml',
    data: 'anime',
    sets: ['eval.batches=1'],
    window: 20,
  },
  { name: 'damsm', config: 'configs/damsm-cub.yaml', data: 'cub', sets: [], window: 3 },
  {
    name: 'gan-int-cls',
    config: 'configs/gan-int-cls-cub.yaml',
    data: 'cub',
    sets: ['eval.samples=0'],
    needs: 'damsm',
    window: 3,
  },
  ...seedDemoRows(
    'wgan-cls',
    'configs/wgan-cls-cub.yaml',
    'damsm',
    1,
    ['generator.width=64', 'discriminator.width=64'],
    ['eval.samples=0'],
  ),
  ...seedDemoRows(
    'stackgan-stage1',
    'configs/stackgan-stage1-cub.yaml',
    'damsm',
    3,
    ['generator.width=128', 'discriminator.width=64'],
    ['eval.samples=0'],
  ),
  ...seedDemoRows(
    'stackgan-stage2',
    'configs/stackgan-stage2-cub.yaml',
    'stage1',
    1,
    ['generator.width=128', 'discriminator.width=64'],
    ['eval.samples=0'],
  ),
  {
    name: 'dfgan',
    config: 'configs/dfgan-cub.yaml',
    data: 'cub',
    sets: ['eval.samples=0', 'eval.fid=0'],
    needs: 'damsm',
    window: 2,
  },
  // The 128 and 256 px paths: grown from the 64 px model (nf-channel blocks above 64 px; weights do
  // not change the speed, so no source run is needed) against the official code's 128 px layout.
  {
    name: 'dfgan-128-grown',
    config: 'configs/dfgan-cub.yaml',
    data: 'cub',
    sets: ['eval.samples=0', 'eval.fid=0', 'data.resolution=128', 'grow.base=64'],
    needs: 'damsm',
    window: 1,
  },
  {
    name: 'dfgan-128-official',
    config: 'configs/dfgan-cub.yaml',
    data: 'cub',
    sets: ['eval.samples=0', 'eval.fid=0', 'data.resolution=128'],
    needs: 'damsm',
    window: 1,
  },
  {
    name: 'dfgan-256-grown',
    config: 'configs/dfgan-cub.yaml',
    data: 'cub',
    sets: ['eval.samples=0', 'eval.fid=0', 'data.resolution=256', 'grow.base=64'],
    needs: 'damsm',
    window: 1,
  },
  ...seedDemoRows('stackgan-pp', 'configs/stackgan-pp-cub.yaml', 'damsm', 1, [
    'generator.width=64',
    'discriminator.width=64',
  ]),
  ...seedDemoRows('attngan', 'configs/attngan-cub.yaml', 'damsm', 1, ['discriminator.width=64']),
];

interface Mode {
  name: string;
  precision: string;
  memoryFormat: string;
}
const MODES: Mode[] = [
  { name: 'fp32', precision: 'fp32', memoryFormat: 'contiguous' },
  { name: 'bf16', precision: 'bf16', memoryFormat: 'contiguous' },
  { name: 'bf16+cl', precision: 'bf16', memoryFormat: 'channelsLast' },
];

interface ChildResult {
  imgPerS: number;
  windows: number;
  peakRssMiB: number;
  seconds: number;
  batch: number;
  losses: Record<string, number>;
}

interface Row extends ChildResult {
  model: string;
  mode: string;
}

/** In the child: train `steps` steps and print one JSON line. */
async function child(config: string, dir: string, steps: number, window: number, sets: string[]): Promise<void> {
  const started = Date.now();
  await train({
    config,
    runDir: dir,
    device: 'cpu',
    progress: false,
    log: () => undefined,
    sets: [
      ...sets,
      `train.steps=${steps}`,
      `train.logEvery=${window}`,
      `train.checkpointEvery=${steps}`,
      `train.sampleEvery=${steps * 100}`,
    ],
  });
  const lines = RunDir.open(dir)
    .readMetrics()
    .filter((l) => l['perf/img_per_sec'] !== undefined);
  const timed = lines.slice(1);
  const last: Record<string, number> = lines.at(-1) ?? {};
  const cfg = fs.readFileSync(path.join(dir, 'config.yaml'), 'utf8');
  const result: ChildResult = {
    imgPerS: median(timed.map((l) => l['perf/img_per_sec']!)),
    windows: timed.length,
    peakRssMiB: peakRssBytes() / 2 ** 20,
    seconds: (Date.now() - started) / 1000,
    batch: Number(/batchSize: (\d+)/.exec(cfg)?.[1] ?? NaN),
    losses: Object.fromEntries(Object.entries(last).filter(([k]) => k.startsWith('loss/'))),
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

function runChild(config: string, dir: string, steps: number, window: number, sets: string[]): ChildResult {
  const argv = [fileURLToPath(import.meta.url), '--child', '--config', config, '--dir', dir];
  argv.push('--steps', String(steps), '--window', String(window));
  for (const s of sets) argv.push('--set', s);
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    process.stderr.write(r.stderr ?? '');
    throw new Error(`${config} (${sets.join(' ')}) failed: exit ${r.status}, signal ${r.signal}`);
  }
  return JSON.parse(line.slice(7)) as ChildResult;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean', default: false },
      config: { type: 'string' },
      dir: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      models: { type: 'string' },
      modes: { type: 'string' },
      steps: { type: 'string' },
      window: { type: 'string', default: '1' },
      windows: { type: 'string', default: '3' },
      anime: { type: 'string', default: 'data/anime' },
      cub: { type: 'string', default: 'data/cub' },
      out: { type: 'string' },
      markdown: { type: 'string' },
    },
    strict: true,
  });
  if (values.child) {
    await child(values.config!, values.dir!, Number(values.steps), Number(values.window), values.set);
    return;
  }
  const windows = Number(values.windows);
  if (!Number.isInteger(windows) || windows < 1) throw new TypeError('--windows must be an integer >= 1');
  // Logged at step 1, then every `window` steps: step 1 alone, then `windows` timed windows.
  const stepsFor = (w: number): number => (w === 1 ? windows + 1 : windows * w);
  const wantedModels = values.models?.split(',') ?? MODELS.map((m) => m.name);
  for (const m of wantedModels)
    if (!MODELS.some((s) => s.name === m))
      throw new TypeError(`--models: unknown '${m}' (one of ${MODELS.map((s) => s.name).join(', ')})`);
  const modes = values.modes?.split(',').map((n) => {
    const m = MODES.find((x) => x.name === n);
    if (!m) throw new TypeError(`--modes: unknown '${n}' (one of ${MODES.map((x) => x.name).join(', ')})`);
    return m;
  }) ?? [...MODES];
  const caches = { anime: values.anime, cub: values.cub };
  const needed = new Set(MODELS.filter((m) => wantedModels.includes(m.name)).map((m) => m.data));
  for (const d of needed)
    if (!fs.existsSync(path.join(caches[d], 'manifest.json')))
      throw new Error(
        `no ${d} cache at ${caches[d]}: prepare it first, e.g. ` +
          (d === 'anime'
            ? 'node dist/src/cli/index.js prepare anime-faces:../shared/datasets/anime-faces --out data/anime'
            : 'node dist/src/cli/index.js prepare cub:../shared/datasets/cub --out data/cub --sizes 64,128,256'),
      );

  const info = backendInfo();
  const cpu = cpuFeatures();
  const auto = fastestMode('cpu');
  console.log(
    `bench:models: libtorch ${info.torch}, ${cpu.model} x${os.availableParallelism()} (${cpu.flags.join(' ')}), ` +
      `${windows} timed windows per run (the first step left out), modes ${modes.map((m) => m.name).join(' ')}; auto = ${auto.precision}` +
      `${auto.memoryFormat === 'channelsLast' ? '+cl' : ''} (${auto.reason})`,
  );
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-bench-models-'));
  const rows: Row[] = [];
  // Dependencies come from the first run of the model they need (a short run: weights don't matter here).
  const deps: Partial<Record<'damsm' | 'stage1', string>> = {};
  const depOf: Record<string, 'damsm' | 'stage1'> = { damsm: 'damsm', 'stackgan-stage1': 'stage1' };
  try {
    // What the wanted models need, and what those need in turn (Stage II → Stage I → DAMSM).
    const required = new Set(wantedModels);
    for (let grew = true; grew;) {
      grew = false;
      for (const m of MODELS) {
        const provider = Object.keys(depOf).find((k) => depOf[k] === m.needs);
        if (required.has(m.name) && provider !== undefined && !required.has(provider)) {
          required.add(provider);
          grew = true;
        }
      }
    }
    for (const spec of MODELS) {
      const wanted = wantedModels.includes(spec.name);
      const provides = depOf[spec.name];
      if (!required.has(spec.name)) continue;
      const base = [`data.cache=${caches[spec.data]}`, ...spec.sets];
      // eval.damsm too: AttnGAN's config scores with another pair than the one it trains with.
      if (spec.needs === 'damsm') base.push(`condition.damsm=${deps.damsm}`, `eval.damsm=${deps.damsm}`);
      if (spec.needs === 'stage1') base.push(`stage1=${deps.stage1}`);
      for (const mode of wanted ? modes : [MODES[0]!]) {
        const dir = path.join(root, `${spec.name}-${mode.name}`);
        const sets = [...base, `train.precision=${mode.precision}`, `train.memoryFormat=${mode.memoryFormat}`];
        const r = runChild(spec.config, dir, wanted ? stepsFor(spec.window) : 2, spec.window, sets);
        // A model others need and that was not asked for runs once, 2 steps, untimed.
        if (provides && !deps[provides]) deps[provides] = dir;
        if (!wanted) continue;
        rows.push({ model: spec.name, mode: mode.name, ...r });
        const loss = Object.entries(r.losses)
          .slice(0, 3)
          .map(([k, v]) => `${k.slice(5)}=${v.toFixed(3)}`)
          .join(' ');
        console.log(
          `${spec.name.padEnd(22)}${mode.name.padEnd(9)}${r.imgPerS.toFixed(2).padStart(9)} img/s ` +
            `${r.peakRssMiB.toFixed(0).padStart(7)} MiB peak RSS  (batch ${r.batch}, ${r.windows} windows, ${r.seconds.toFixed(0)} s)  ${loss}`,
        );
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  const autoName = `${auto.precision}${auto.memoryFormat === 'channelsLast' ? '+cl' : ''}`;
  const md: string[] = [
    `| model | batch | ${modes.map((m) => `${m.name} img/s (peak RSS)`).join(' | ')} | best ÷ fp32 |`,
    `| --- | --- | ${modes.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const name of wantedModels) {
    const mine = rows.filter((r) => r.model === name);
    if (mine.length === 0) continue;
    const fp32 = mine.find((r) => r.mode === 'fp32');
    const best = mine.reduce((a, b) => (b.imgPerS > a.imgPerS ? b : a));
    const cells = modes.map((m) => {
      const r = mine.find((x) => x.mode === m.name);
      return r ? `${r.imgPerS.toFixed(1)} (${(r.peakRssMiB / 1024).toFixed(2)} GiB)` : '–';
    });
    md.push(
      `| ${name} | ${mine[0]!.batch} | ${cells.join(' | ')} | ${fp32 ? `${(best.imgPerS / fp32.imgPerS).toFixed(2)} (${best.mode})` : '–'} |`,
    );
  }
  console.log(`\n${md.join('\n')}\n\nauto on this machine: ${autoName}`);
  if (values.markdown) fs.writeFileSync(values.markdown, md.join('\n') + '\n');
  if (values.out)
    fs.writeFileSync(
      values.out,
      JSON.stringify(
        { torch: info.torch, cpu, auto: autoName, windows, rows, date: new Date().toISOString() },
        null,
        2,
      ) + '\n',
    );
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
