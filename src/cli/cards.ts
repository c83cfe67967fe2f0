// `creativeai cards`: the measured numbers of the model cards and of the README's model table,
// written from the evaluation files under docs/results/ (src/eval/card-metrics.ts).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

// card-metrics.js directly: writing cards needs no libtorch.
import { cardMetrics, readmeSummary, type CardEvaluation, type CardMetric } from '../eval/card-metrics.js';
import { UsageError } from './usage.js';

export const cardsHelp = `Usage: creativeai cards [--check] [--models <dir>] [--readme <file>] [--root <dir>]

Writes each model card's "metrics" from the evaluation files its "evaluations" list names
(docs/results/*-eval.json, written by creativeai eval --out), and the README's model table
(between <!-- models:start --> and <!-- models:end -->) from the cards.

  --check          write nothing; list what differs and exit 1 if anything does
  --models <dir>   the folder of *.card.json (default models)
  --readme <file>  the README holding the table (default README.md)
  --root <dir>     where the evaluation files' paths start (default .)`;

interface CardFile {
  title?: string;
  metrics?: CardMetric[];
  evaluations?: CardEvaluation[];
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

/** What `cards` would write: every card with evaluations, and the README table. */
export async function planCards(o: { models: string; readme: string; root: string }): Promise<CardsPlan> {
  const read = (file: string): unknown => {
    const p = path.join(o.root, file);
    if (!fs.existsSync(p)) throw new Error(`evaluation file ${file} does not exist`);
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
    let metrics: CardMetric[];
    try {
      metrics = cardMetrics(card.evaluations, read);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
    }
    const text = await formatted(file, JSON.stringify({ ...card, metrics }, null, 2) + '\n');
    if (text !== old) changed.push({ file, text });
    const name = f.replace(/\.card\.json$/, '');
    const sources = [...new Set(card.evaluations.map((e) => e.file))].map((s) => `\`${s}\``).join(', ');
    rows.push([`\`${name}\``, card.title ?? name, readmeSummary(metrics), sources]);
  }
  const readme = fs.readFileSync(o.readme, 'utf8');
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`${o.readme} has no ${README_START} … ${README_END} section for the model table`);
  const table = markdownTable(['model', 'what', 'measured', 'from'], rows);
  const text = await formatted(o.readme, `${readme.slice(0, a + README_START.length)}\n${table}\n${readme.slice(b)}`);
  if (text !== readme) changed.push({ file: o.readme, text });
  return { changed };
}

function markdownTable(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export async function cardsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      check: { type: 'boolean' },
      models: { type: 'string' },
      readme: { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(cardsHelp);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, cardsHelp);
  const plan = await planCards({
    models: values.models ?? 'models',
    readme: values.readme ?? 'README.md',
    root: values.root ?? '.',
  });
  if (values.check) {
    for (const c of plan.changed) console.log(`differs from its evaluation files: ${c.file}`);
    if (plan.changed.length > 0) {
      console.log('run `creativeai cards` to rewrite them');
      process.exitCode = 1;
    } else console.log('the cards and the README table agree with their evaluation files');
    return;
  }
  for (const c of plan.changed) {
    fs.writeFileSync(c.file, c.text);
    console.log(`wrote ${c.file}`);
  }
  if (plan.changed.length === 0) console.log('nothing to write: everything agrees');
}
