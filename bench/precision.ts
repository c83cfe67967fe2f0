// `npm run bench:precision -- --config configs/attngan-cub.yaml --steps 60 [--set key=value ...]`:
// trains one config for a few steps in each precision (fp32, tf32, bf16, fp16: `train.precision`)
// with the real trainer and data, one after another in this process, and prints per precision the
// training img/s (median over logging windows, the first one left out as warm-up), the peak GPU
// memory and the last losses, then each precision's speed as a ratio to fp32 of the same run.
// Options: --device cpu|cuda (default: cuda when available), --precisions fp32,bf16 (default: all
//   that this device and libtorch support), --log-every N (default 10), --keep (keep the runs), --out FILE.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { backendInfo, cuda, type Device } from '../src/engine/index.js';
import { PRECISIONS, type Precision } from '../src/train/precision.js';
import { RunDir } from '../src/train/run-dir.js';
import { train } from '../src/train/trainer.js';
import { median } from './median.js';

interface Row {
  precision: Precision;
  imgPerS: number;
  gpuPeakGiB: number | null;
  windows: number;
  losses: Record<string, number>;
  seconds: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      steps: { type: 'string', default: '60' },
      'log-every': { type: 'string', default: '10' },
      set: { type: 'string', multiple: true, default: [] },
      device: { type: 'string' },
      precisions: { type: 'string' },
      keep: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (values.config === undefined) throw new TypeError('--config is required');
  const steps = Number(values.steps);
  const logEvery = Number(values['log-every']);
  if (!Number.isInteger(steps) || !Number.isInteger(logEvery) || logEvery < 1 || steps < 2 * logEvery)
    throw new TypeError('--steps must be an integer of at least two --log-every windows');
  const device = (values.device ?? (cuda.isAvailable() ? 'cuda' : 'cpu')) as Device;
  const wanted = (values.precisions?.split(',') ?? [...PRECISIONS]) as Precision[];
  for (const p of wanted)
    if (!PRECISIONS.includes(p)) throw new TypeError(`--precisions: '${p}' is not one of ${PRECISIONS.join(', ')}`);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-bench-precision-'));
  const rows: Row[] = [];
  const info = backendInfo();
  console.log(`libtorch ${info.torch}, ${device}, ${values.config}, ${steps} steps, a window every ${logEvery}`);
  try {
    for (const precision of wanted) {
      const dir = path.join(root, precision);
      const started = Date.now();
      try {
        await train({
          config: values.config,
          runDir: dir,
          device,
          progress: false,
          log: () => undefined,
          sets: [
            ...values.set,
            `train.precision=${precision}`,
            `train.steps=${steps}`,
            `train.logEvery=${logEvery}`,
            `train.checkpointEvery=${steps}`,
            `train.sampleEvery=${steps * 10}`,
          ],
        });
      } catch (e) {
        // fp16 on a CPU with libtorch 1.13, say: report and go on with the others.
        console.log(`${precision}: not run: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      const lines = RunDir.open(dir)
        .readMetrics()
        .filter((l) => l['perf/img_per_sec'] !== undefined);
      // The first window is the first step alone (cuDNN's algorithm search, first allocations).
      const timed = lines.slice(1);
      const last: Record<string, number> = lines.at(-1) ?? {};
      const peaks = lines.map((l) => l['perf/gpu_peak_gib']).filter((v): v is number => v !== undefined);
      rows.push({
        precision,
        imgPerS: median(timed.map((l) => l['perf/img_per_sec']!)),
        gpuPeakGiB: peaks.length > 0 ? Math.max(...peaks) : null,
        windows: timed.length,
        losses: Object.fromEntries(Object.entries(last).filter(([k]) => k.startsWith('loss/'))),
        seconds: (Date.now() - started) / 1000,
      });
      const r = rows.at(-1)!;
      const loss = Object.entries(r.losses)
        .map(([k, v]) => `${k.slice(5)}=${v.toFixed(3)}`)
        .join(' ');
      console.log(
        `${precision.padEnd(5)} ${r.imgPerS.toFixed(1).padStart(9)} img/s  peak ${r.gpuPeakGiB === null ? '-' : `${r.gpuPeakGiB.toFixed(2)} GiB`}  (${r.windows} windows, ${r.seconds.toFixed(0)} s)  ${loss}`,
      );
    }
  } finally {
    if (!values.keep) fs.rmSync(root, { recursive: true, force: true });
    else console.log(`runs kept in ${root}`);
  }
  const base = rows.find((r) => r.precision === 'fp32');
  if (base)
    for (const r of rows)
      if (r !== base) console.log(`ratio ${r.precision}/fp32 ${(r.imgPerS / base.imgPerS).toFixed(3)}`);
  if (values.out)
    fs.writeFileSync(
      values.out,
      JSON.stringify({ torch: info.torch, device, config: values.config, steps, logEvery, rows }, null, 2),
    );
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
