// `creativeai plot`: line charts of a run's metrics.jsonl (loss curves), or of one metric across runs.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

// plot.js directly, not io/index.js: plotting needs no libtorch.
import { savePlot, type PlotSeries } from '../io/plot.js';
import { NotSummarizableError, summarizeRun, type RunSummary } from '../eval/run-summary.js';
import { UsageError, intOption, list } from './usage.js';

export const plotHelp = `Usage: creativeai plot --run <run> [--keys loss/D,loss/G] [options]
       creativeai plot --runs <run>,<run> --keys <key> [options]

Draws training curves from the metrics.jsonl of a run (or one metric across runs) as PNG or SVG.
A run is a run directory, or a run's record (docs/results/runs/<run>.json, written by
\`creativeai results --summarize\`: its in-training evaluations), so a run whose directory is gone
can still be compared with one that is training.

  --run <run>          a run directory or record; plots its metrics
  --runs <a,b,...>     several runs: one key compared across them, one line per run (named by
                       folder, or by the record's run)
  --keys <k1,k2>       metrics to plot (default: every loss/* key; with --runs exactly one key,
                       default the only loss/* key all runs share)
  --x <step|images>    the x axis: steps (default), or images seen, which lines up runs of other
                       batch sizes and runs that started from another model's weights (their images
                       before count, as in the results tables)
  --smooth <x>         display smoothing in [0, 1), a debiased moving average as TensorBoard's
                       (default 0; the raw curve stays faint behind)
  --log-y              logarithmic y axis (values <= 0 are skipped)
  --title <text>       chart title (default: the run's name, or the key with --runs)
  --width <px>         image width (default 640)
  --height <px>        image height (default 360)
  --out <file>         output .png or .svg (default plot.png)`;

type Row = Record<string, unknown>;

/** Parsed metrics lines; a torn last line (a run still writing) and other bad lines are skipped with a warning. */
function readMetrics(runDir: string): Row[] {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) throw new Error(`no metrics.jsonl in '${runDir}' (is it a run directory?)`);
  const rows: Row[] = [];
  let bad = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as unknown;
      if (r !== null && typeof r === 'object' && typeof (r as Row).step === 'number') rows.push(r as Row);
      else bad++;
    } catch {
      bad++;
    }
  }
  if (bad > 0) console.error(`${file}: skipped ${bad} unreadable line${bad === 1 ? '' : 's'}`);
  return rows;
}

/**
 * A run to plot: its metric rows and, where the run says how many images each step saw, the images
 * seen by a row's step (those before the run included, when it started from another model).
 */
interface Source {
  name: string;
  rows: Row[];
  /** Images seen by each step, or undefined when the run does not record them (read on demand). */
  images: () => ((step: number) => number) | undefined;
}

/** A run directory: metrics.jsonl, and images per step as its summary derives them. */
function readRunDir(dir: string): Source {
  return {
    name: path.basename(path.resolve(dir)),
    rows: readMetrics(dir),
    images: () => {
      let summary: RunSummary;
      try {
        summary = summarizeRun(dir, 1);
      } catch (e) {
        if (e instanceof NotSummarizableError) return undefined; // plot says to use --x step
        throw e;
      }
      // Every step sees one batch, so a step's images follow from the newest checkpoint's.
      const perStep = summary.imagesSeen / summary.steps;
      const before = summary.startedFrom?.images ?? 0;
      return (step) => step * perStep + before;
    },
  };
}

/** A run's record (creativeai results --summarize): its in-training evaluations as rows. */
function readRecord(file: string): Source {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    run?: unknown;
    evals?: unknown;
    startedFrom?: RunSummary['startedFrom'];
  };
  if (typeof r.run !== 'string' || !Array.isArray(r.evals))
    throw new Error(`'${file}' is not a run record (creativeai results --summarize writes them)`);
  const evals = r.evals as ({ step: number; images: number } & Row)[];
  const before = r.startedFrom?.images ?? 0;
  const byStep = new Map(evals.map((e) => [e.step, e.images]));
  return {
    name: r.run,
    rows: evals.map(({ images: _images, ...row }) => row),
    images: () => (step) => byStep.get(step)! + before,
  };
}

function readSource(p: string): Source {
  return p.endsWith('.json') && fs.existsSync(p) && fs.statSync(p).isFile() ? readRecord(p) : readRunDir(p);
}

/** Scalar keys of the rows: numbers, or null (JSON's spelling of NaN/Infinity); step and time excluded. */
function metricKeys(rows: Row[]): string[] {
  const keys = new Set<string>();
  for (const r of rows)
    for (const [k, v] of Object.entries(r))
      if (k !== 'step' && k !== 'time' && (typeof v === 'number' || v === null)) keys.add(k);
  return [...keys].sort();
}

/** The key's [x, value] points; missing values are absent, null ones NaN so the chart counts them as skipped. */
function pointsOf(rows: Row[], key: string, x: (step: number) => number): [number, number][] {
  const pts: [number, number][] = [];
  for (const r of rows) {
    if (!(key in r)) continue;
    const v = r[key];
    pts.push([x(r.step as number), typeof v === 'number' ? v : NaN]);
  }
  return pts;
}

function unknownKeys(where: string, wanted: string[], available: string[]): Error | undefined {
  const missing = wanted.filter((k) => !available.includes(k));
  if (missing.length === 0) return undefined;
  return new Error(
    `unknown metric${missing.length === 1 ? '' : 's'} ${missing.map((k) => `'${k}'`).join(', ')} in ${where}; ` +
      `available: ${available.length > 0 ? available.join(', ') : '(none)'}`,
  );
}

export async function plotCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      run: { type: 'string' },
      runs: { type: 'string' },
      keys: { type: 'string' },
      x: { type: 'string', default: 'step' },
      smooth: { type: 'string', default: '0' },
      'log-y': { type: 'boolean', default: false },
      title: { type: 'string' },
      width: { type: 'string', default: '640' },
      height: { type: 'string', default: '360' },
      out: { type: 'string', default: 'plot.png' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, plotHelp);
  if ((values.run === undefined) === (values.runs === undefined))
    throw new UsageError('give either --run <dir> or --runs <a,b,...>', plotHelp);
  const smooth = Number(values.smooth);
  if (!(smooth >= 0 && smooth < 1))
    throw new UsageError(`--smooth must be a number in [0, 1), got '${values.smooth}'`, plotHelp);
  const out = values.out!;
  if (!/\.(png|svg)$/i.test(out)) throw new UsageError(`--out must end in .png or .svg, got '${out}'`, plotHelp);
  const keys = values.keys === undefined ? undefined : list(values.keys);
  if (keys !== undefined && keys.length === 0) throw new UsageError('--keys names no metric', plotHelp);
  const byImages = values.x === 'images';
  if (!byImages && values.x !== 'step') throw new UsageError(`--x must be step or images, got '${values.x}'`, plotHelp);
  /** The x of each step of a run: the step, or the images seen by then. */
  const xOf = (src: Source, where: string): ((step: number) => number) => {
    if (!byImages) return (step) => step;
    const images = src.images();
    if (images === undefined)
      throw new Error(`${where} has no checkpoint recording the images it saw: plot it against steps (--x step)`);
    return images;
  };

  let series: PlotSeries[];
  let title: string;
  let yLabel: string | undefined;
  if (values.run !== undefined) {
    const src = readSource(values.run);
    const available = metricKeys(src.rows);
    const chosen = keys ?? available.filter((k) => k.startsWith('loss/'));
    if (chosen.length === 0)
      throw new Error(
        `no loss/* metrics in '${values.run}'; pick some with --keys from: ${available.join(', ') || '(none)'}`,
      );
    const err = unknownKeys(`'${values.run}'`, chosen, available);
    if (err) throw err;
    const x = xOf(src, `'${values.run}'`);
    series = chosen.map((k) => ({ name: k, points: pointsOf(src.rows, k, x) }));
    title = src.name;
    yLabel = chosen.length === 1 ? chosen[0] : undefined;
  } else {
    const dirs = list(values.runs!);
    if (dirs.length === 0) throw new UsageError('--runs names no run directory', plotHelp);
    const runs = dirs.map((d) => {
      const src = readSource(d);
      return { dir: d, src, keys: metricKeys(src.rows) };
    });
    let key: string;
    if (keys === undefined) {
      const shared = runs[0]!.keys.filter((k) => k.startsWith('loss/') && runs.every((r) => r.keys.includes(k)));
      if (shared.length !== 1)
        throw new UsageError(
          `with --runs, pick one metric with --keys; loss/* keys in all runs: ${shared.join(', ') || '(none)'}`,
          plotHelp,
        );
      key = shared[0]!;
    } else if (keys.length !== 1) {
      throw new UsageError(`with --runs, --keys takes exactly one metric, got ${keys.length}`, plotHelp);
    } else key = keys[0]!;
    for (const r of runs) {
      const err = unknownKeys(`'${r.dir}'`, [key], r.keys);
      if (err) throw err;
    }
    series = runs.map((r) => ({ name: r.src.name, points: pointsOf(r.src.rows, key, xOf(r.src, `'${r.dir}'`)) }));
    title = key;
    yLabel = key;
  }

  await savePlot(out, {
    title: values.title ?? title,
    series,
    xLabel: byImages ? 'images seen' : 'step',
    ...(yLabel !== undefined ? { yLabel } : {}),
    smooth,
    logY: values['log-y']!,
    width: intOption('--width', values.width!),
    height: intOption('--height', values.height!),
  });
  console.log(out);
}
