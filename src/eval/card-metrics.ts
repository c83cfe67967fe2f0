// A model card's measured numbers, written from the evaluation files `creativeai eval --out` saved
// under docs/results/, never typed by hand: `creativeai results` rewrites each card's `metrics` from
// the files its `evaluations` list names (and the README's model table from the cards), and
// test/integration/cards.test.ts fails when a committed card or the README disagrees with its files.
import type { EvaluationResult } from './evaluate.js';
import { comboGroups, pooledAccuracy } from './absent-combos.js';

export interface CardMetric {
  name: string;
  value: string;
  detail?: string;
}

/** Which metrics of which evaluation file a card shows: `evaluations` in a <model>.card.json. */
export interface CardEvaluation {
  /** The evaluation JSON, relative to the repository root (docs/results/…). */
  file: string;
  /** Appended to each metric's name, for models with several evaluated stages ("64 px stage"). */
  label?: string;
  /** In this order; those the file lacks are an error. */
  metrics: CardMetricKind[];
}

export const CARD_METRIC_KINDS = [
  'rprec',
  'fid',
  'hair',
  'eyes',
  'both',
  'unseen-both',
  'unseen-pairs-both',
  'div',
  'detail',
] as const;
export type CardMetricKind = (typeof CARD_METRIC_KINDS)[number];

export const pct = (x: number, digits = 1): string => `${(100 * x).toFixed(digits)}%`;
/** A rate with its spread, as R-precision is reported: "6.1% ± 0.8" (the spread in points). */
export const pctStd = (m: { mean: number; std: number }): string => `${pct(m.mean)} ± ${(100 * m.std).toFixed(1)}`;
/** Two significant decimals for small values (FID 3.89), one for large ones (FID 165.8). */
export const fixed = (x: number): string => x.toFixed(Math.abs(x) >= 10 ? 1 : 2);
export const count = (n: number): string => n.toLocaleString('en-US');

function featureName(r: EvaluationResult): string {
  if (r.features === null) return '';
  return r.features.standard ? 'Inception' : 'project';
}

function need<T>(v: T | undefined | null, kind: CardMetricKind, file: string): T {
  if (v === undefined || v === null) throw new Error(`${file} has no ${kind} result for the card to show`);
  return v;
}

/** One metric of an evaluation file as a card shows it. */
function metricOf(r: EvaluationResult, kind: CardMetricKind, e: CardEvaluation): CardMetric {
  const name = (base: string): string => (e.label ? `${base}, ${e.label}` : base);
  const source = e.file;
  switch (kind) {
    case 'rprec': {
      const p = need(r.rprec, kind, source);
      return {
        name: name('R-precision'),
        value: pctStd(p),
        detail:
          `DAMSM features, ${count(p.samples)} captions, 1 vs ${p.candidates - 1} candidates, ` +
          `${p.splits.length} splits; chance ${pct(1 / p.candidates, 0)}` +
          (p.real
            ? `; real images ${pctStd(p.real.rprec)} through the same encoders (generated ÷ real ` +
              `${(p.mean / Math.max(p.real.rprec.mean, 1e-9)).toFixed(2)})`
            : '') +
          ` (${source})`,
      };
    }
    case 'fid': {
      const f = need(r.fid, kind, source);
      const ref = r.reference?.fid;
      const standard = r.features?.standard === true;
      return {
        name: name(standard ? 'FID' : 'FID (project features)'),
        value: fixed(f.value),
        detail:
          `${featureName(r)} features, ${count(f.generated)} generated vs ${count(f.real)} real images` +
          (ref ? `; real-vs-real ${fixed(ref.value)} (${r.reference!.split} split)` : '') +
          ` (${source})`,
      };
    }
    case 'hair':
    case 'eyes':
    case 'both': {
      const a = need(r.attr, kind, source);
      const what = { hair: 'hair colour right', eyes: 'eye colour right', both: 'hair and eyes both right' }[kind];
      return {
        name: name(what),
        value: pct(a[kind]),
        detail: `${a.perCombo.length} tag combinations, ${count(a.n)} images, read by the attribute classifier (${source})`,
      };
    }
    case 'unseen-both': {
      const u = need(r.attr?.unseen, kind, source);
      return {
        name: name('both right on unseen combinations'),
        value: pct(u.both),
        detail: `${u.combos} combinations absent from training (${source})`,
      };
    }
    case 'unseen-pairs-both': {
      const a = need(r.attr, kind, source);
      const p = need(pooledAccuracy(comboGroups(a.perCombo).pair), kind, source);
      return {
        name: name('both right on new pairs of known colours'),
        value: pct(p.both),
        detail: `${p.combos} combinations absent from training whose two colours training faces show (${source})`,
      };
    }
    case 'detail': {
      const d = need(r.detail, kind, source);
      return {
        name: name(`detail above ${d.base} px, of real images'`),
        value: d.ratio.toFixed(2),
        detail:
          `mean square of each ${d.side} px image minus its ${d.base} px copy: ${d.generated.toExponential(2)} generated ` +
          `vs ${d.real.toExponential(2)} real; 0 for a ${d.base} px image enlarged, noise counts too (${source})`,
      };
    }
    case 'div': {
      const d = need(r.div, kind, source);
      return {
        name: name('diversity ratio'),
        value: d.ratio.toFixed(2),
        detail:
          `${fixed(d.generated)} within a condition vs ${fixed(d.real)} within a real class (${featureName(r)} features); ` +
          `under ${d.threshold} flags mode collapse (${source})`,
      };
    }
  }
}

/** A card's metrics from its evaluation files; `read` gives a file's parsed JSON. */
export function cardMetrics(evaluations: readonly CardEvaluation[], read: (file: string) => unknown): CardMetric[] {
  const out: CardMetric[] = [];
  for (const e of evaluations) {
    const r = read(e.file) as EvaluationResult;
    for (const kind of e.metrics) {
      if (!(CARD_METRIC_KINDS as readonly string[]).includes(kind))
        throw new Error(`unknown card metric '${kind}' (one of ${CARD_METRIC_KINDS.join(', ')})`);
      out.push(metricOf(r, kind, e));
    }
  }
  return out;
}

/** The README's line for a model: its measured numbers, "name value; …". */
export function readmeSummary(metrics: readonly CardMetric[]): string {
  return metrics.map((m) => `${m.name} ${m.value}`).join('; ');
}
