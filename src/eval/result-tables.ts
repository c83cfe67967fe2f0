// The numeric tables of docs/results.md, written from the JSON the evaluations and benchmarks saved
// under docs/results/ (`creativeai results`). Each table sits under a marker that says what it
// shows, e.g.
//   <!-- table {"kind": "eval", "columns": [["docs/results/a.json", "baseline"]], "reference": true} -->
//   …the table…
//   <!-- end table -->
// and is rewritten from those files; test/integration/cards.test.ts fails when a committed table differs.
import type { LatentDirections } from '../inference/directions-file.js';
import { COMBO_GROUPS, comboGroups, pooledAccuracy } from './absent-combos.js';
import type { EvaluationResult } from './evaluate.js';
import type { InversionResult } from './inversion.js';
import type { EncoderEvaluation } from './real-retrieval.js';
import { modeText, type RunSummary } from './run-summary.js';
import { count as thousands, fixed, pct, pctStd } from './card-metrics.js';

/** What a marker asks for. `columns` pairs a file (relative to the repository) with its heading. */
export type TableSpec =
  | { kind: 'eval'; columns: [string, string][]; reference?: boolean }
  | { kind: 'attr'; columns: [string, string][] }
  | { kind: 'tag-evals'; rows: [string, string][] }
  | { kind: 'bench-engine'; file: string }
  | { kind: 'bench-models'; before: string; after: string }
  | { kind: 'bench-models-rows'; file: string; labels: [string, string][] }
  | { kind: 'bench-generate'; before: string; after: string }
  | { kind: 'load'; columns: [string, string][] }
  | { kind: 'load-mixed'; file: string }
  | { kind: 'runs'; files: string[] }
  | { kind: 'run-curve'; file: string; metrics: [string, string][] }
  | { kind: 'inversion'; file: string }
  | { kind: 'directions'; file: string; names?: string[] }
  | { kind: 'truncation'; file: string }
  | { kind: 'encoders'; columns: [string, string][] }
  | { kind: 'models'; files: string[] }
  | {
      kind: 'readme-measured';
      engine: string;
      models: [before: string, after: string];
      /** bench:models rows named in the speed-up row: [model, name]. */
      examples: [string, string][];
      generate: [before: string, after: string];
      /** The bench:generate model (side) the generation row shows. */
      generateModel: [string, number];
      load: string;
    };

/** A file's JSON; for a .safetensors file, its header's metadata (the `models` table reads those). */
export type ReadJson = (file: string) => unknown;

/** A mean to 3 significant digits and its spread to the same decimals: 9.21 ± 0.87, 0.0279 ± 0.0010. */
function meanStd(mean: number, std: number): string {
  const a = Math.abs(mean);
  const decimals = a === 0 ? 2 : Math.max(0, Math.min(8, 2 - Math.floor(Math.log10(a))));
  return `${mean.toFixed(decimals)} ± ${std.toFixed(decimals)}`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}
function table(head: string[], rows: string[][]): string {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}

/** How FID, KID and IS print, in the generated columns and the real-vs-real ones alike. */
const metricText = {
  fid: (m: { value: number }): string => fixed(m.value),
  kid: (m: { mean: number; std: number }): string => meanStd(m.mean, m.std),
  is: (m: { mean: number; std: number }): string => `${m.mean.toFixed(1)} ± ${m.std.toFixed(1)}`,
};

type Ref = NonNullable<EvaluationResult['reference']>;
/** A reference's cells: its FID, KID and IS as printed, blank where it has none. */
const refCells = (ref: Ref): Record<keyof typeof metricText, string> => ({
  fid: ref.fid ? metricText.fid(ref.fid) : '',
  kid: ref.kid ? metricText.kid(ref.kid) : '',
  is: ref.is ? metricText.is(ref.is) : '',
});
/**
 * A reference as its column prints it. Files that read the same real images print the same figures
 * even when the last digits differ (another thread count sums in another order), so the printed
 * figures, not the stored ones, tell two references apart.
 */
const printedRef = (ref: Ref): string => JSON.stringify([ref.split, ref.images, refCells(ref)]);

/**
 * One evaluation per column, a metric per row; with `reference`, the real-vs-real figures too: one
 * column per distinct reference among the files (stages read real images at their own side).
 */
function evalTable(spec: Extract<TableSpec, { kind: 'eval' }>, read: ReadJson): string {
  const results = spec.columns.map(([f]) => read(f) as EvaluationResult);
  const refs: { ref: Ref; of: string }[] = [];
  if (spec.reference) {
    results.forEach((r, i) => {
      if (!r.reference) throw new Error(`${spec.columns[i]![0]} has no reference (creativeai eval --reference)`);
      const printed = printedRef(r.reference);
      if (!refs.some((x) => printedRef(x.ref) === printed)) refs.push({ ref: r.reference, of: spec.columns[i]![1] });
    });
  }
  const rows: string[][] = [];
  // A row's label names the features or encoders it was measured with: one table per network.
  const labelOf = (pick: (r: EvaluationResult) => { label: string } | undefined): string | undefined => {
    const labels = [...new Set(results.map((r) => pick(r)?.label).filter((l) => l !== undefined))];
    if (labels.length > 1)
      throw new Error(`the columns were measured with different networks (${labels.join('; ')}): one table for each`);
    return labels[0];
  };
  const add = (
    pick: (r: EvaluationResult) => { label: string } | undefined,
    value: (r: EvaluationResult) => string,
    refValue: (ref: Ref) => string = () => '',
  ): void => {
    const label = labelOf(pick);
    if (label === undefined) return;
    rows.push([label, ...results.map((r) => (pick(r) ? value(r) : '')), ...refs.map((x) => refValue(x.ref))]);
  };
  add(
    (r) => r.rprec,
    (r) => `${pctStd(r.rprec!)} (chance ${Math.round(100 / r.rprec!.candidates)}%)`,
  );
  // What a perfect generator would score through the same encoders (files from before it was recorded lack it).
  add(
    (r) => (r.rprec?.real ? { label: 'R-precision of the real images (same captions)' } : undefined),
    (r) =>
      r.rprec?.real
        ? `${pctStd(r.rprec.real.rprec)} (generated ÷ real ${(r.rprec.mean / Math.max(r.rprec.real.rprec.mean, 1e-9)).toFixed(2)})`
        : '',
  );
  add(
    (r) => r.fid,
    (r) => metricText.fid(r.fid!),
    (ref) => refCells(ref).fid,
  );
  add(
    (r) => r.kid,
    (r) => metricText.kid(r.kid!),
    (ref) => refCells(ref).kid,
  );
  add(
    (r) => r.is,
    (r) => metricText.is(r.is!),
    (ref) => refCells(ref).is,
  );
  add(
    (r) => r.div,
    (r) => {
      const d = r.div!;
      return `${fixed(d.generated)} per condition vs ${fixed(d.real)} real (ratio ${d.ratio.toFixed(2)}${d.modeCollapse ? ': **collapse flag**' : ''})`;
    },
  );
  add(
    (r) => r.detail,
    (r) => {
      const d = r.detail!;
      return `${d.generated.toExponential(2)} vs ${d.real.toExponential(2)} real (ratio ${d.ratio.toPrecision(2)})`;
    },
  );
  add(
    (r) => r.attr,
    (r) => `${pct(r.attr!.hair)} / ${pct(r.attr!.eyes)} / ${pct(r.attr!.both)}`,
  );
  const attrRow = rows.find((x) => x[0] === labelOf((r) => r.attr));
  if (attrRow) attrRow[0] = 'attribute accuracy, hair / eyes / both';
  const head = [
    'metric',
    // n counts the FID/KID/IS images: none in a diversity- or attribute-only evaluation.
    ...spec.columns.map(([, h], i) => (results[i]!.n > 0 ? `${h}, ${thousands(results[i]!.n)} generated` : h)),
    ...refs.map(
      (x) =>
        `real ${x.ref.split} (${thousands(x.ref.images)}) vs real ${results[0]!.splits.join('+')}` +
        (refs.length > 1 ? `, ${x.of}` : ''),
    ),
  ];
  return table(head, rows);
}

/** Attribute accuracy of tag models over all combinations, those in the training data, the rest. */
function attrTable(spec: Extract<TableSpec, { kind: 'attr' }>, read: ReadJson): string {
  const results = spec.columns.map(([f]) => {
    const r = read(f) as EvaluationResult;
    if (!r.attr) throw new Error(`${f} has no attribute accuracy (creativeai eval --metrics attr)`);
    return r.attr;
  });
  const rows = COMBO_GROUPS.map(([group, name]) => {
    const kept = results.map((a) => comboGroups(a.perCombo)[group]);
    const cells = kept.flatMap((combos) => {
      const p = pooledAccuracy(combos);
      return p === null ? ['', '', ''] : [pct(p.hair), pct(p.eyes), pct(p.both)];
    });
    return [`${name} (${kept[0]!.length})`, ...cells];
  });
  const head = ['combinations', ...spec.columns.flatMap(([, h]) => [`${h}: hair`, 'eyes', 'both'])];
  return table(head, rows);
}

/**
 * Several evaluations of tag models side by side, one row each (checkpoints of a run, say): FID,
 * diversity ratio, and both colours right over all combinations, those in the training data and
 * the new pairs of known colours.
 */
function tagEvalsTable(spec: Extract<TableSpec, { kind: 'tag-evals' }>, read: ReadJson): string {
  const rows = spec.rows.map(([f, label]) => {
    const r = read(f) as EvaluationResult;
    if (!r.attr || !r.fid || !r.div)
      throw new Error(`${f} lacks FID, diversity or attribute accuracy (creativeai eval --metrics fid,div,attr)`);
    const g = comboGroups(r.attr.perCombo);
    const both = (group: keyof typeof g): string => {
      const p = pooledAccuracy(g[group]);
      return p === null ? '' : pct(p.both);
    };
    return [label, fixed(r.fid.value), r.div.ratio.toFixed(2), both('all'), both('inTraining'), both('pair')];
  });
  const first = comboGroups((read(spec.rows[0]![0]) as EvaluationResult).attr!.perCombo);
  return table(
    [
      'model',
      'FID',
      'diversity ratio',
      `both right: all (${first.all.length})`,
      `in the training data (${first.inTraining.length})`,
      `new pairs of known colours (${first.pair.length})`,
    ],
    rows,
  );
}

interface BenchEngine {
  matrix: Record<string, Record<string, number>>;
  against: string;
}
function benchEngineTable(spec: Extract<TableSpec, { kind: 'bench-engine' }>, read: ReadJson): string {
  const b = read(spec.file) as BenchEngine;
  const other = b.against === 'pytorch' ? 'py' : 'cpp';
  const modes = Object.keys(b.matrix.ts ?? {});
  const name: Record<string, string> = {
    fp32: 'fp32',
    'fp32+cl': 'fp32 + channels-last',
    bf16: 'bf16',
    'bf16+cl': 'bf16 + channels-last',
  };
  return table(
    ['img/s', ...modes.map((m) => name[m] ?? m)],
    [
      ['TypeScript', ...modes.map((m) => b.matrix.ts![m]!.toFixed(1))],
      [other === 'py' ? 'PyTorch' : 'C++', ...modes.map((m) => b.matrix[other]![m]!.toFixed(1))],
      ['ratio', ...modes.map((m) => (b.matrix.ts![m]! / b.matrix[other]![m]!).toFixed(3))],
    ],
  );
}

interface BenchModels {
  torch: string;
  rows: { model: string; mode: string; imgPerS: number; peakRssMiB: number; batch: number }[];
}
/** A model's fastest row of a bench:models run (the first of equals), if it has any. */
function fastestRow(b: BenchModels, model: string): BenchModels['rows'][number] | undefined {
  return b.rows
    .filter((r) => r.model === model)
    .reduce<BenchModels['rows'][number] | undefined>((x, r) => (x && x.imgPerS >= r.imgPerS ? x : r), undefined);
}

function benchModelsTable(spec: Extract<TableSpec, { kind: 'bench-models' }>, read: ReadJson): string {
  const before = read(spec.before) as BenchModels;
  const after = read(spec.after) as BenchModels;
  const cell = (r: BenchModels['rows'][number] | undefined): string =>
    r ? `${r.imgPerS.toFixed(1)} (${(r.peakRssMiB / 1024).toFixed(2)} GiB)` : '';
  const modes = ['fp32', 'bf16', 'bf16+cl'];
  const models = [...new Set(after.rows.map((r) => r.model))];
  const rows = models.map((m) => {
    const b = before.rows.find((r) => r.model === m && r.mode === 'fp32');
    const a = (mode: string): BenchModels['rows'][number] | undefined =>
      after.rows.find((r) => r.model === m && r.mode === mode);
    const fastest = fastestRow(after, m);
    return [
      m,
      String(a('fp32')?.batch ?? b?.batch ?? ''),
      cell(b),
      ...modes.map((mode) => cell(a(mode))),
      fastest && b ? `${(fastest.imgPerS / b.imgPerS).toFixed(2)} (${fastest.mode})` : '',
    ];
  });
  return table(
    [
      'model',
      'batch',
      `before: ${before.torch}, fp32`,
      `${after.torch}, fp32`,
      `${after.torch}, bf16`,
      `${after.torch}, bf16 + channels-last`,
      'fastest ÷ before',
    ],
    rows,
  );
}

/** Chosen rows of one bench:models run, in the order and with the names `labels` give. */
function benchModelsRowsTable(spec: Extract<TableSpec, { kind: 'bench-models-rows' }>, read: ReadJson): string {
  const bench = read(spec.file) as BenchModels;
  const rows = spec.labels.map(([model, label]) => {
    const r = bench.rows.find((x) => x.model === model);
    if (r === undefined) throw new Error(`${spec.file} has no row for ${model}`);
    return [label, r.mode, String(r.batch), r.imgPerS.toFixed(1), `${(r.peakRssMiB / 1024).toFixed(1)} GiB`];
  });
  return table(['model', 'mode', 'batch', 'img/s', 'peak RSS'], rows);
}

interface BenchGenerate {
  auto: string;
  rows: { model: string; side: number; mode: string; oneMs: number; batchImgPerS: number }[];
}
function benchGenerateTable(spec: Extract<TableSpec, { kind: 'bench-generate' }>, read: ReadJson): string {
  const before = read(spec.before) as BenchGenerate;
  const after = read(spec.after) as BenchGenerate;
  const cell = (r: BenchGenerate['rows'][number] | undefined): string =>
    r ? `${r.oneMs.toFixed(1)} ms / ${thousands(Math.round(r.batchImgPerS * 10) / 10)} img/s` : '';
  const keys = [...new Set(after.rows.map((r) => `${r.model} (${r.side})`))];
  const rows = keys.map((k) => {
    const pick = (x: BenchGenerate, mode: string): BenchGenerate['rows'][number] | undefined =>
      x.rows.find((r) => `${r.model} (${r.side})` === k && r.mode === mode);
    return [
      `\`${k.replace(/ \(/, '` (')}`,
      cell(pick(before, 'fp32')),
      ...['fp32', 'bf16', 'bf16+cl'].map((m) => cell(pick(after, m))),
    ];
  });
  return table(
    [
      'model (side)',
      'before (fp32)',
      'fp32',
      'bf16',
      `bf16 + channels-last${after.auto === 'bf16+cl' ? ' (auto)' : ''}`,
    ],
    rows,
  );
}

interface LoadResult {
  single: { p50Ms: number; p99Ms: number };
  concurrent: {
    connections: number;
    seconds: number;
    statusCodes: Record<string, number>;
    errors: number;
    timeouts: number;
    p50Ms: number;
    p99Ms: number;
    imagesPerSecond: number;
  };
  memory: { rssBeforeMiB: number; rssAfterMiB: number };
  afterwards: { generate: number; healthz: number };
}
function loadTable(spec: Extract<TableSpec, { kind: 'load' }>, read: ReadJson): string {
  const rs = spec.columns.map(([f]) => read(f) as LoadResult);
  const c0 = rs[0]!.concurrent;
  const line = (name: string, f: (r: LoadResult) => string): string[] => [name, ...rs.map(f)];
  return table(
    ['measure', ...spec.columns.map(([, h]) => h)],
    [
      line(
        'one client, one image: p50 / p99',
        (r) => `${r.single.p50Ms.toFixed(1)} ms / ${r.single.p99Ms.toFixed(1)} ms`,
      ),
      line(`${c0.connections} clients: answers in ${c0.seconds} s`, (r) => {
        const codes = Object.entries(r.concurrent.statusCodes)
          .map(([code, n]) => `${thousands(n)} × ${code}`)
          .join(', ');
        return `${codes}; ${r.concurrent.errors} errors, ${r.concurrent.timeouts} timeouts`;
      }),
      line(
        `${c0.connections} clients: latency p50 / p99`,
        (r) => `${r.concurrent.p50Ms} ms / ${r.concurrent.p99Ms} ms`,
      ),
      line(`${c0.connections} clients: images/s`, (r) => r.concurrent.imagesPerSecond.toFixed(0)),
      line(
        'server RSS before / after',
        (r) => `${r.memory.rssBeforeMiB.toFixed(0)} MiB / ${r.memory.rssAfterMiB.toFixed(0)} MiB`,
      ),
      line('afterwards: generate / healthz', (r) => `${r.afterwards.generate} / ${r.afterwards.healthz}`),
    ],
  );
}

interface LatencySummary {
  requests: number;
  statusCodes: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}
interface MixedLoad {
  mixed: {
    lightClients: number;
    heavyClients: number;
    heavyRequest: string;
    seconds: number;
    lightAlone: LatencySummary;
    light: LatencySummary;
    heavy: LatencySummary & { imagesPerSecond: number };
    healthz: LatencySummary;
  };
}
/** scripts/load.mjs's mixed workload: light clients alone, then beside heavy ones, and /healthz. */
function loadMixedTable(spec: Extract<TableSpec, { kind: 'load-mixed' }>, read: ReadJson): string {
  const m = (read(spec.file) as MixedLoad).mixed;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const line = (name: string, x: LatencySummary): string[] => [
    name,
    Object.entries(x.statusCodes)
      .map(([code, n]) => `${thousands(n)} × ${code}`)
      .join(', '),
    ms(x.p50Ms),
    ms(x.p99Ms),
    ms(x.maxMs),
  ];
  return table(
    ['clients', 'answers', 'p50', 'p99', 'max'],
    [
      line(`${m.lightClients} light, alone (10 s)`, m.lightAlone),
      line(`${m.lightClients} light, beside the heavy ones (${m.seconds - 2} s)`, m.light),
      line(`${m.heavyClients} heavy (${m.heavyRequest}; ${m.heavy.imagesPerSecond.toFixed(1)} images/s)`, m.heavy),
      line('GET /healthz every 50 ms, beside both', m.healthz),
    ],
  );
}

const hours = (s: number): string => (s / 3600).toFixed(2);

/** Training runs from their summaries (`creativeai results --summarize`), a row each. */
function runsTable(spec: Extract<TableSpec, { kind: 'runs' }>, read: ReadJson): string {
  const rows = spec.files.map((f) => {
    const r = read(f) as RunSummary;
    const from = r.startedFrom;
    return [
      `\`${r.run}\` (${r.model})` +
        (from ? `, from \`${from.file}\`${from.step !== null ? ` (step ${thousands(from.step)})` : ''}` : ''),
      thousands(r.steps),
      thousands(r.imagesSeen) + (from?.images ? ` (+ ${thousands(from.images)} before)` : ''),
      `${hours(r.wallSeconds)} h`,
      r.cpuSeconds === null
        ? `not recorded (at most ${hours(r.wallSeconds * r.threads)}: ${r.threads} threads × wall-clock)`
        : `${hours(r.cpuSeconds)}${r.cpuFromStep > 0 ? ` since step ${thousands(r.cpuFromStep)}` : ''}`,
      modeText(r.mode),
      r.resumedAt.length > 0 ? r.resumedAt.map(thousands).join(', ') : '',
      (r.changes ?? [])
        .map((c) => `from step ${thousands(c.step)}: ${c.sets.map((s) => `\`${s}\``).join(', ')}`)
        .join('; '),
    ];
  });
  return table(
    ['run', 'steps', 'images seen', 'wall-clock', 'CPU-hours', 'mode', 'resumed at step', 'config changed'],
    rows,
  );
}

/**
 * A run's in-training metrics against images seen, a row per evaluation. Fractions print as %. The
 * images count what G has seen, those before the run included when it started from another model's.
 */
function runCurveTable(spec: Extract<TableSpec, { kind: 'run-curve' }>, read: ReadJson): string {
  const r = read(spec.file) as RunSummary;
  const before = r.startedFrom?.images ?? 0;
  const rows = r.evals.map((e) => [
    thousands(e.step),
    thousands(e.images + before),
    ...spec.metrics.map(([k]) =>
      e[k] === undefined ? '' : k.startsWith('eval/attr') || k === 'eval/rprec' ? pct(e[k]) : fixed(e[k]),
    ),
  ]);
  const seen = before > 0 ? `images seen (${thousands(before)} before this run)` : 'images seen';
  return table(['step', seen, ...spec.metrics.map(([, h]) => h)], rows);
}

/** Image → latent (`creativeai invert --measure --json`): a row per start and set of faces. */
function inversionTable(spec: Extract<TableSpec, { kind: 'inversion' }>, read: ReadJson): string {
  const { results } = read(spec.file) as { results: InversionResult[] };
  const rows = results.flatMap((r) =>
    (['real', 'generated'] as const).map((set) => {
      const x = r[set];
      return [
        r.encoder ? "encoder's guess, then Adam" : 'random starts, Adam',
        set === 'real' ? `held-out real (${r.split} split)` : 'generated',
        thousands(x.images),
        x.encoderPsnrDb === null ? '–' : `${x.encoderPsnrDb.toFixed(1)} dB`,
        `${x.psnrDb.toFixed(1)} dB`,
        x.mse.toFixed(4),
        `${x.secondsPerImage.toFixed(1)} s`,
      ];
    }),
  );
  const r0 = results[0]!;
  return table(
    [
      'start',
      'faces',
      'images',
      'PSNR of the first guess',
      `PSNR after ${r0.steps} steps × ${r0.starts} starts`,
      'MSE',
      'time per image',
    ],
    rows,
  );
}

/**
 * Attribute directions (`creativeai directions`): per direction, how often the classifier reads its
 * colour where the tags ask for another, and keeps the other attribute, at each measured strength.
 */
function directionsTable(spec: Extract<TableSpec, { kind: 'directions' }>, read: ReadJson): string {
  const d = read(spec.file) as LatentDirections;
  const all = [...d.blends, ...d.directions];
  const chosen =
    spec.names === undefined
      ? all
      : spec.names.map((n) => {
          const x = all.find((y) => y.name === n);
          if (x === undefined) throw new Error(`${spec.file} has no direction ${n}`);
          return x;
        });
  const rows = chosen.map((x) => [
    `\`${x.name}\``,
    x.measured.map((m) => `${m.strength}: ${pct(m.target)}`).join(', '),
    x.measured.map((m) => `${m.strength}: ${pct(m.othersKept)}`).join(', '),
  ]);
  return table(['direction', 'colour read where the tags ask another (strength: %)', 'other attribute kept'], rows);
}

/** The truncation trick from a directions file: ψ, both colours right, and the variety left. */
function truncationTable(spec: Extract<TableSpec, { kind: 'truncation' }>, read: ReadJson): string {
  const d = read(spec.file) as LatentDirections;
  if (d.truncation === undefined) throw new Error(`${spec.file} holds no truncation measurement`);
  return table(
    ['ψ', 'both colours right', 'pixel spread among faces with the same tags'],
    d.truncation.map((t) => [String(t.psi), pct(t.both), t.pixelStd.toFixed(3)]),
  );
}

/** DAMSM encoders on real held-out images (`creativeai eval --damsm <run> --json`): one column each. */
function encodersTable(spec: Extract<TableSpec, { kind: 'encoders' }>, read: ReadJson): string {
  const results = spec.columns.map(([f]) => read(f) as EncoderEvaluation);
  const recall = (x: EncoderEvaluation['imageToText']): string => `${pct(x.r1)} / ${pct(x.r5)} / ${pct(x.r10)}`;
  const r0 = results[0]!;
  return table(
    ['metric', ...spec.columns.map(([, h], i) => `${h} (${results[i]!.encoders})`)],
    [
      [
        `image → caption, recall @1 / @5 / @10 (of ${thousands(r0.captions)} captions)`,
        ...results.map((r) => recall(r.imageToText)),
      ],
      [
        `caption → image, recall @1 / @5 / @10 (of ${thousands(r0.images)} images)`,
        ...results.map((r) => recall(r.textToImage)),
      ],
      [
        `R-precision of real images (${thousands(r0.rprec.samples)} captions, 1 of ${r0.rprec.candidates})`,
        ...results.map((r) => pctStd(r.rprec)),
      ],
    ],
  );
}

/**
 * Shipped model files by what their own metadata records (the checkpoint, its step, the config's
 * batch and widths, which weights): for models whose run directories are gone.
 */
function modelsTable(spec: Extract<TableSpec, { kind: 'models' }>, read: ReadJson): string {
  const rows = spec.files.map((f) => {
    const m = read(f) as Record<string, string>;
    if (m.step === undefined || m.config === undefined) throw new Error(`${f} records no step or config`);
    const c = JSON.parse(m.config) as {
      data?: { batchSize?: number };
      generator?: { width?: number };
      discriminator?: { width?: number };
    };
    return [
      `\`${f}\``,
      `\`${m.exportedFrom ?? ''}\``,
      m.model ?? '',
      thousands(Number(m.step)),
      String(c.data?.batchSize ?? ''),
      `${c.generator?.width ?? ''} / ${c.discriminator?.width ?? ''}`,
      m.weights ?? '',
    ];
  });
  return table(['model file', 'exported from', 'model', 'step', 'batch', 'G / D width', 'weights'], rows);
}

/** The README's "Measured" table: one line per benchmark, from the same files as the tables here. */
function readmeMeasuredTable(spec: Extract<TableSpec, { kind: 'readme-measured' }>, read: ReadJson): string {
  const e = read(spec.engine) as BenchEngine & { libtorch: string; options: { batch: number; rounds: number } };
  const fastest = Object.keys(e.matrix.ts!).reduce((a, m) => (e.matrix.ts![m]! > e.matrix.ts![a]! ? m : a));
  const py = e.matrix.py?.[fastest];
  if (e.against !== 'pytorch' || py === undefined) throw new Error(`${spec.engine} is not a run against PyTorch`);
  const modeName = (m: string): string => m.replace('+cl', ' + channels-last');

  const [mb, ma] = spec.models.map((f) => read(f) as BenchModels) as [BenchModels, BenchModels];
  const speedup = (model: string): { before: number; after: number } => {
    const b = mb.rows.find((r) => r.model === model && r.mode === 'fp32');
    const a = fastestRow(ma, model);
    if (b === undefined || a === undefined) throw new Error(`${spec.models.join(' / ')} have no rows for ${model}`);
    return { before: b.imgPerS, after: a.imgPerS };
  };
  const ratios = [...new Set(ma.rows.map((r) => r.model))].map((m) => {
    const x = speedup(m);
    return x.after / x.before;
  });
  const examples = spec.examples
    .map(([m, name]) => {
      const x = speedup(m);
      return `${name} ${x.before.toFixed(1)} → ${x.after.toFixed(1)}`;
    })
    .join(', ');

  const [gb, ga] = spec.generate.map((f) => read(f) as BenchGenerate) as [BenchGenerate, BenchGenerate];
  const [gm, side] = spec.generateModel;
  const pick = (x: BenchGenerate, mode: string): BenchGenerate['rows'][number] => {
    const r = x.rows.find((y) => y.model === gm && y.side === side && y.mode === mode);
    if (r === undefined) throw new Error(`${spec.generate.join(' / ')} have no ${gm} (${side}) row in ${mode}`);
    return r;
  };
  const g0 = pick(gb, 'fp32');
  const g1 = pick(ga, ga.auto);

  const l = read(spec.load) as LoadResult & MixedLoad;
  const m = l.mixed;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const answered = l.concurrent.errors === 0 && l.concurrent.timeouts === 0 ? ', every request answered' : '';

  return table(
    ['what', 'measured', 'command'],
    [
      [
        `DCGAN 64×64 training step, batch ${e.options.batch}`,
        `TypeScript ${e.matrix.ts![fastest]!.toFixed(1)} img/s, PyTorch ${e.libtorch} itself ${py.toFixed(1)} ` +
          `(${modeName(fastest)}, best of ${e.options.rounds}): ratio ${(e.matrix.ts![fastest]! / py).toFixed(2)}`,
        `\`npm run bench:engine\` (\`${spec.engine}\`)`,
      ],
      [
        "every model's training step",
        `${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}× the old default ` +
          `(libtorch ${mb.torch.replace(/\.0$/, '')}, fp32), fastest mode: ${examples} img/s`,
        `\`npm run bench:models\` (${spec.models.map((f) => `\`${f}\``).join(', ')})`,
      ],
      [
        `one ${side}×${side} image, \`${gm}\``,
        `${g1.oneMs.toFixed(1)} ms (before: ${g0.oneMs.toFixed(1)} ms; in batches: ` +
          `${g1.batchImgPerS.toFixed(1)} vs ${g0.batchImgPerS.toFixed(1)} img/s)`,
        `\`npm run bench:generate\` (${spec.generate.map((f) => `\`${f}\``).join(', ')})`,
      ],
      [
        'serving',
        `one 64×64 image p50 ${l.single.p50Ms.toFixed(1)} ms; ${l.concurrent.connections} clients ` +
          `${l.concurrent.imagesPerSecond.toFixed(0)} images/s${answered}; one-face requests p99 ${ms(m.light.p99Ms)} ` +
          `beside ${m.heavyClients} clients keeping requests (${m.heavyRequest}) queued (${ms(m.lightAlone.p99Ms)} alone); ` +
          `\`/healthz\` p99 ${ms(m.healthz.p99Ms)}`,
        `\`npm run bench:load\` (\`${spec.load}\`)`,
      ],
    ],
  );
}

/** The Markdown table a marker asks for. */
export function renderTable(spec: TableSpec, read: ReadJson): string {
  switch (spec.kind) {
    case 'eval':
      return evalTable(spec, read);
    case 'attr':
      return attrTable(spec, read);
    case 'tag-evals':
      return tagEvalsTable(spec, read);
    case 'bench-engine':
      return benchEngineTable(spec, read);
    case 'bench-models':
      return benchModelsTable(spec, read);
    case 'bench-models-rows':
      return benchModelsRowsTable(spec, read);
    case 'bench-generate':
      return benchGenerateTable(spec, read);
    case 'load':
      return loadTable(spec, read);
    case 'load-mixed':
      return loadMixedTable(spec, read);
    case 'runs':
      return runsTable(spec, read);
    case 'run-curve':
      return runCurveTable(spec, read);
    case 'inversion':
      return inversionTable(spec, read);
    case 'directions':
      return directionsTable(spec, read);
    case 'truncation':
      return truncationTable(spec, read);
    case 'encoders':
      return encodersTable(spec, read);
    case 'models':
      return modelsTable(spec, read);
    case 'readme-measured':
      return readmeMeasuredTable(spec, read);
  }
}

const MARKER = /<!-- table (\{.*?\}) -->\n[\s\S]*?<!-- end table -->/g;

/** `text` with every marked table rewritten from its files. */
export function rewriteTables(text: string, read: ReadJson): string {
  return text.replace(MARKER, (_, json: string) => {
    let spec: TableSpec;
    try {
      spec = JSON.parse(json) as TableSpec;
    } catch {
      throw new Error(`a table marker is not valid JSON: ${json}`);
    }
    return `<!-- table ${json} -->\n${renderTable(spec, read)}\n<!-- end table -->`;
  });
}
