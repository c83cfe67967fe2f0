// `creativeai results`: the measured numbers of the model cards, the README's model table and the
// numeric tables of docs/results.md, written from the evaluation and benchmark files under
// docs/results/ (src/eval/card-metrics.ts, src/eval/result-tables.ts).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

// card-metrics.js directly: nothing here computes with tensors (model files are read for their
// header only).
import { cardMetrics, readmeSummary, type CardEvaluation, type CardMetric } from '../eval/card-metrics.js';
import { cardTraining } from '../eval/card-training.js';
import type { RunSummary } from '../eval/run-summary.js';
import { rewriteTables } from '../eval/result-tables.js';
import { summarizeRun } from '../eval/run-summary.js';
import os from 'node:os';
import { UsageError } from './usage.js';

export const resultsHelp = `Usage: creativeai results [--check] [--models <dir>] [--readme <file>] [--doc <file>] [--root <dir>]

Writes the measured numbers from the files that hold them (docs/results/*.json, written by
creativeai eval --json and the benchmarks' --out): each model card's "metrics" from the evaluation
files its "evaluations" list names, its "training" (checkpoint and step) from the model file beside
it and, when the card names its run's record ("run": docs/results/runs/<run>.json), the images seen
and the run's length from that record, the README's model table (between <!-- models:start --> and
<!-- models:end -->) from the cards, and every table of the README and docs/results.md under a
<!-- table {...} --> marker from the files the marker names.

  --check          write nothing; list what differs and exit 1 if anything does
  --models <dir>   the folder of *.card.json (default models)
  --readme <file>  the README holding the model table (default README.md)
  --doc <file>     the results document (default docs/results.md)
  --root <dir>     where the files' paths start (default .)

  creativeai results --summarize <run dir> [--out <file>] [--threads N]
writes a run's record instead: steps, images seen, wall-clock, mode and every in-training
evaluation against images seen (default docs/results/runs/<run>.json), for the results tables.
  --threads N      the threads of starts whose run.json does not record them (older runs; default:
                   this machine's, as the trainer does)`;

interface CardFile {
  title?: string;
  metrics?: CardMetric[];
  evaluations?: CardEvaluation[];
  /** The run's record (docs/results/runs/<run>.json) the card's training facts come from. */
  run?: string;
  training?: { hardware?: string };
  [k: string]: unknown;
}

export const README_START = '<!-- models:start -->';
export const README_END = '<!-- models:end -->';

export interface CardsPlan {
  /** Files whose new text differs from what is on disk. */
  changed: { file: string; text: string }[];
}

/**
 * Formatted as the repository formats it (Prettier, a development dependency: `cards` is a tool for
 * whoever commits results), so that writing and checking agree with `npm run format:check`.
 */
async function formatted(file: string, text: string): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, filepath: file });
}

/** What `results` would write: every card with evaluations, the README table, the document's tables. */
export async function planResults(o: {
  models: string;
  readme: string;
  doc: string;
  root: string;
}): Promise<CardsPlan> {
  const { readSafetensorsHeader } = await import('../io/safetensors.js');
  // JSON files, and a model file's metadata (the tables of shipped models read those).
  const read = (file: string): unknown => {
    const p = path.join(o.root, file);
    if (!fs.existsSync(p)) throw new Error(`evaluation file ${file} does not exist`);
    if (file.endsWith('.safetensors')) return readSafetensorsHeader(p).metadata;
    return JSON.parse(fs.readFileSync(p, 'utf8'));
  };
  const changed: CardsPlan['changed'] = [];
  const rows: string[][] = [];
  const cards = fs
    .readdirSync(o.models)
    .filter((f) => f.endsWith('.card.json'))
    .sort();
  for (const f of cards) {
    const file = path.join(o.models, f);
    const old = fs.readFileSync(file, 'utf8');
    const card = JSON.parse(old) as CardFile;
    if (card.evaluations === undefined) continue;
    const name = f.replace(/\.card\.json$/, '');
    let metrics: CardMetric[];
    let training: CardFile['training'];
    try {
      metrics = cardMetrics(card.evaluations, read);
      const model = path.join(o.models, `${name}.safetensors`);
      if (!fs.existsSync(model)) throw new Error(`no model file ${model} beside it`);
      const run = card.run;
      training = cardTraining(
        card.training?.hardware,
        { file: model, metadata: readSafetensorsHeader(model).metadata },
        run === undefined ? undefined : { file: run, summary: read(run) as RunSummary },
      );
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
    }
    const text = await formatted(file, JSON.stringify({ ...card, metrics, training }, null, 2) + '\n');
    if (text !== old) changed.push({ file, text });
    const sources = [...new Set(card.evaluations.map((e) => e.file))].map((s) => `\`${s}\``).join(', ');
    rows.push([`\`${name}\``, card.title ?? name, readmeSummary(metrics), sources]);
  }
  const readme = fs.readFileSync(o.readme, 'utf8');
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`${o.readme} has no ${README_START} … ${README_END} section for the model table`);
  const table = markdownTable(['model', 'what', 'measured', 'from'], rows);
  let text: string;
  try {
    const withModels = `${readme.slice(0, a + README_START.length)}\n${table}\n${readme.slice(b)}`;
    text = await formatted(o.readme, rewriteTables(withModels, read));
  } catch (e) {
    throw new Error(`${o.readme}: ${(e as Error).message}`, { cause: e });
  }
  if (text !== readme) changed.push({ file: o.readme, text });
  const doc = fs.readFileSync(o.doc, 'utf8');
  let rewritten: string;
  try {
    rewritten = await formatted(o.doc, rewriteTables(doc, read));
  } catch (e) {
    throw new Error(`${o.doc}: ${(e as Error).message}`, { cause: e });
  }
  if (rewritten !== doc) changed.push({ file: o.doc, text: rewritten });
  return { changed };
}

function markdownTable(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export async function resultsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      check: { type: 'boolean' },
      models: { type: 'string' },
      readme: { type: 'string' },
      doc: { type: 'string' },
      summarize: { type: 'string' },
      out: { type: 'string' },
      threads: { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(resultsHelp);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, resultsHelp);
  if (values.summarize !== undefined) {
    const threads = Number(values.threads ?? process.env.CREATIVEAI_THREADS ?? os.availableParallelism());
    if (!Number.isInteger(threads) || threads < 1)
      throw new UsageError(`--threads must be a positive integer, got ${values.threads}`, resultsHelp);
    const summary = summarizeRun(values.summarize, threads);
    const out = values.out ?? path.join('docs', 'results', 'runs', `${summary.run}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
    console.log(
      `wrote ${out}: ${summary.steps} steps, ${summary.imagesSeen} images, ${(summary.wallSeconds / 3600).toFixed(2)} h, ${summary.evals.length} evaluations`,
    );
    return;
  }
  const plan = await planResults({
    models: values.models ?? 'models',
    readme: values.readme ?? 'README.md',
    doc: values.doc ?? path.join('docs', 'results.md'),
    root: values.root ?? '.',
  });
  if (values.check) {
    for (const c of plan.changed) console.log(`differs from its result files: ${c.file}`);
    if (plan.changed.length > 0) {
      console.log('run `creativeai results` to rewrite them');
      process.exitCode = 1;
    } else console.log('the cards, the README table and the results tables agree with their files');
    return;
  }
  for (const c of plan.changed) {
    fs.writeFileSync(c.file, c.text);
    console.log(`wrote ${c.file}`);
  }
  if (plan.changed.length === 0) console.log('nothing to write: everything agrees');
}
