// `creativeai eval`: measures a trained generator — FID, KID, Inception Score, R-precision,
// attribute accuracy and sample diversity — prints a markdown table and writes JSON. Standard
// FID/KID/IS need the FID Inception-v3 weights (--inception); without them the project's own
// networks stand in, and the numbers say so in their labels.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import type { SplitName } from '../data/index.js';
import { pickDevice, retainFreedCpuMemory } from '../engine/index.js';
import { loadAttributeClassifier, type LoadedAttributeClassifier } from '../artifacts/attribute-classifier.js';
import { pct, pctStd } from '../eval/card-metrics.js';
import { COMBO_GROUPS, comboGroups, pooledAccuracy } from '../eval/absent-combos.js';
import { DEFAULT_COLLAPSE_RATIO } from '../eval/diversity.js';
import {
  DEFAULT_DETAIL_BASE,
  METRICS,
  MissingInputError,
  evaluateGenerator,
  type EvaluationResult,
  type Metric,
} from '../eval/evaluate.js';
import {
  classifierNetwork,
  inceptionNetwork,
  loadDamsmNetwork,
  projectNetwork,
  type FeatureNetwork,
} from '../eval/feature-network.js';
import { evaluateEncoders, type EncoderEvaluation } from '../eval/real-retrieval.js';
import { readSafetensorsHeader } from '../io/index.js';
import { resolveCheckpointWeights } from '../artifacts/checkpoint.js';
import { TextToImagePipeline } from '../inference/pipeline.js';
import { UsageError, intOption } from './usage.js';

export const evalHelp = `Usage: creativeai eval --model <run|checkpoint|export> --metrics <list> [options]
       creativeai eval --damsm <run|checkpoint> --dataset <cache> [--metrics rprec] [options]

Measures a trained generator and prints a markdown table (and JSON with --json). With --damsm and no
--model it measures the DAMSM encoders on real held-out images instead: image→caption and
caption→image retrieval, and R-precision with real images in place of generated ones (the figure a
generator's R-precision is read against; rprec on a generator reports it too).

Metrics (--metrics, comma-separated):
  fid     Fréchet distance between features of generated and real held-out images
  kid     Kernel Inception Distance (unbiased MMD²) on the same features
  is      Inception Score
  rprec   R-precision by the DAMSM encoders (caption models)
  attr    attribute accuracy of a tag model (hair/eye classifier)
  div     diversity of images drawn for one caption against real images of one class; flags mode collapse
  detail  fine detail above --detail-base px (each image minus its coarse copy, mean square) of generated
          against real images at the stage's side: 0 for a coarse image enlarged; noise counts too

  --model <path>         a run directory (newest checkpoint), checkpoint or exported model
  --dataset <cache>      a prepared cache: captions and real images of its held-out split (fid, kid, is,
                         rprec, div, detail); with attr, combinations absent from its train split are reported apart
  --split <names>        held-out split(s), comma-separated (default test)
  --reference <split>    also score up to --n real images of another split in place of generated ones
                         (fid, kid, is): the scale to read the generator's numbers on
  --n <samples>          generated images for fid, kid, is and rprec (default 1000)
  --stage <px>           stacked models: score the stage of this side (e.g. 64 for StackGAN's Stage I inside
                         Stage II), real images read at that side (default: the last stage)
  --inception <file>     FID Inception-v3 weights (.safetensors; docs/evaluation.md): standard FID, KID, IS.
                         Without it fid, kid and div use a project network and are labelled
                         "FID (project features: <name>)": not comparable with published FID
  --features <run>       that project network: an attribute-classifier or DAMSM run (default: --classifier
                         for tag models, the model's DAMSM for caption models)
  --classifier <run>     attribute-classifier run or checkpoint (attr; is and features of tag models)
  --damsm <run>          DAMSM run or checkpoint (rprec; features of caption models); default: the one the
                         model was trained with (condition.damsm in its config)
  --per-combo <n>        attr: images per hair/eyes combination (default 16)
  --div-captions <n>     div: captions, one per held-out class (default 20; all: every class with 2+ real images)
  --div-samples <n>      div: images per caption (default 10)
  --collapse-ratio <r>   div: flag mode collapse below this fraction of the real diversity (default ${DEFAULT_COLLAPSE_RATIO})
  --detail-base <px>     detail: the side detail is measured above (default ${DEFAULT_DETAIL_BASE}, the side our DAMSM reads)
  --batch-size <n>       images per forward pass (default 50)
  --seed <n>             noise seed (default 0)
  --json <file>          also write the full result as JSON
  --device <d>           cpu | cuda | cuda:N

Without --metrics, --classifier alone means --metrics attr.`;

const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

/**
 * The DAMSM run a caption model's config names (condition.damsm), if that path exists here. StackGAN
 * Stage II encodes text with its Stage I's encoder, so its DAMSM is the one of the Stage-I run.
 */
function configuredDamsm(checkpoint: string, depth = 0): { path: string | null; named: string | null } {
  try {
    const config = JSON.parse(readSafetensorsHeader(checkpoint).metadata.config ?? '{}') as {
      condition?: { damsm?: string | null };
      stage1?: unknown;
    };
    if (config.condition?.damsm == null && typeof config.stage1 === 'string' && depth === 0)
      return fs.existsSync(config.stage1)
        ? configuredDamsm(resolveCheckpointWeights(config.stage1, true), 1)
        : { path: null, named: `the DAMSM of ${config.stage1}` };
    const named = config.condition?.damsm ?? null;
    return { path: named !== null && fs.existsSync(named) ? named : null, named };
  } catch {
    return { path: null, named: null };
  }
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      metrics: { type: 'string' },
      dataset: { type: 'string' },
      split: { type: 'string', default: 'test' },
      n: { type: 'string', default: '1000' },
      stage: { type: 'string' },
      inception: { type: 'string' },
      features: { type: 'string' },
      classifier: { type: 'string' },
      damsm: { type: 'string' },
      'per-combo': { type: 'string', default: '16' },
      'div-captions': { type: 'string', default: '20' },
      'div-samples': { type: 'string', default: '10' },
      'collapse-ratio': { type: 'string', default: String(DEFAULT_COLLAPSE_RATIO) },
      'detail-base': { type: 'string', default: String(DEFAULT_DETAIL_BASE) },
      'batch-size': { type: 'string', default: '50' },
      reference: { type: 'string' },
      seed: { type: 'string', default: '0' },
      json: { type: 'string' },
      device: { type: 'string' },
    },
  });
  if (values.model === undefined && values.damsm !== undefined) return encoderCommand(values);
  if (values.model === undefined) throw new UsageError('--model is required (or --damsm alone)', evalHelp);
  if (values.metrics === undefined && values.classifier === undefined)
    throw new UsageError(`--metrics is required: one or more of ${METRICS.join(',')}`, evalHelp);
  const names = (values.metrics ?? 'attr').split(',').map((x) => x.trim());
  const unknown = names.filter((x) => !(METRICS as readonly string[]).includes(x));
  if (unknown.length > 0)
    throw new UsageError(`unknown metric(s) ${unknown.join(', ')}: choose from ${METRICS.join(',')}`, evalHelp);
  const metrics = [...new Set(names)] as Metric[];
  const has = (x: Metric): boolean => metrics.includes(x);
  const splits = values.split!.split(',').map((x) => x.trim());
  const badSplit = splits.filter((x) => !(SPLITS as readonly string[]).includes(x));
  if (badSplit.length > 0)
    throw new UsageError(`--split ${badSplit.join(',')}: choose from ${SPLITS.join(', ')}`, evalHelp);
  const reference = values.reference;
  if (reference !== undefined && (!(SPLITS as readonly string[]).includes(reference) || splits.includes(reference)))
    throw new UsageError(
      `--reference must be a split other than the held-out one(s) (${splits.join(',')}): one of ${SPLITS.join(', ')}`,
      evalHelp,
    );
  const ratio = Number(values['collapse-ratio']);
  if (!(ratio > 0 && ratio <= 1))
    throw new UsageError(`--collapse-ratio must be in (0, 1], got '${values['collapse-ratio']}'`, evalHelp);
  const needData = metrics.filter((x) => x !== 'attr');
  if (needData.length > 0 && values.dataset === undefined)
    throw new UsageError(
      `--metrics ${needData.join(',')} need(s) --dataset <cache> (real held-out images and captions, e.g. data/cub)`,
      evalHelp,
    );
  if (has('attr') && values.classifier === undefined)
    throw new UsageError('--metrics attr needs --classifier <run|checkpoint>', evalHelp);

  const stage = values.stage !== undefined ? intOption('--stage', values.stage) : undefined;
  const device = pickDevice(values.device);
  retainFreedCpuMemory(); // a batch job: reuse large buffers rather than page them in afresh
  const pipe = TextToImagePipeline.load(values.model, device);
  const disposers: (() => void)[] = [() => pipe.dispose()];
  try {
    const kind = pipe.conditioner.kind;
    if (has('attr') && kind !== 'tags')
      throw new UsageError(`${pipe.source} is not a tag model: --metrics attr needs one`, evalHelp);
    if (has('rprec') && kind !== 'damsm')
      throw new UsageError(
        `${pipe.source} is conditioned on tags: --metrics rprec needs a caption (DAMSM) model`,
        evalHelp,
      );
    const configured = kind === 'damsm' ? configuredDamsm(pipe.source) : { path: null, named: null };
    const damsmPath = values.damsm ?? configured.path;

    // The DAMSM is loaded once, for R-precision and (by default) as the feature network.
    let damsm: ReturnType<typeof loadDamsmNetwork> | null = null;
    const getDamsm = (): ReturnType<typeof loadDamsmNetwork> => {
      if (damsm) return damsm;
      if (damsmPath === null)
        throw new UsageError(
          configured.named !== null
            ? `the model's DAMSM (${configured.named}, from its config) is not here: pass --damsm <run|checkpoint>`
            : 'pass --damsm <run|checkpoint>: the model names no DAMSM',
          evalHelp,
        );
      const d = loadDamsmNetwork(damsmPath, device);
      disposers.push(() => {
        d.network.dispose();
        d.conditioner.module.dispose();
      });
      damsm = d;
      return d;
    };
    const own = (net: FeatureNetwork): FeatureNetwork => (disposers.push(() => net.dispose()), net);

    let features: FeatureNetwork | undefined;
    let scorer: FeatureNetwork | undefined;
    if (values.inception !== undefined && (has('fid') || has('kid') || has('div') || has('is'))) {
      features = own(inceptionNetwork(values.inception, device, (m) => console.error(m)));
      scorer = features;
    } else {
      if (has('fid') || has('kid') || has('div')) {
        const p = values.features ?? (kind === 'tags' ? values.classifier : undefined);
        if (p !== undefined) features = own(projectNetwork(p, device));
        else if (kind === 'damsm') features = getDamsm().network;
        else
          throw new UsageError(
            'fid, kid and div need a feature network: --inception <weights.safetensors> for the standard one, or ' +
              '--features <run> / --classifier <run> for a project network',
            evalHelp,
          );
      }
      if (has('is')) {
        if (features && features.classes > 0) scorer = features;
        else if (values.classifier !== undefined) scorer = own(classifierNetwork(values.classifier, device));
        else
          throw new UsageError(
            '--metrics is needs --inception <weights.safetensors> (the standard IS) or, for a tag model, ' +
              "--classifier <run> (IS over the classifier's hair × eye classes)",
            evalHelp,
          );
      }
    }
    let classifier: LoadedAttributeClassifier | undefined;
    if (has('attr')) {
      const c = loadAttributeClassifier(values.classifier!, device);
      disposers.push(() => c.dispose());
      classifier = c;
    }
    const d = has('rprec') ? getDamsm() : null;

    const r = await evaluateGenerator(pipe, {
      metrics,
      ...(values.dataset !== undefined ? { dataset: values.dataset } : {}),
      splits: splits as SplitName[],
      n: intOption('--n', values.n!),
      seed: intOption('--seed', values.seed!),
      batchSize: intOption('--batch-size', values['batch-size']!),
      ...(features ? { features } : {}),
      ...(scorer ? { scorer } : {}),
      ...(d ? { damsm: { conditioner: d.conditioner, image: d.image!, name: d.network.name } } : {}),
      ...(classifier ? { classifier } : {}),
      perCombo: intOption('--per-combo', values['per-combo']!),
      diversity: {
        captions: values['div-captions'] === 'all' ? 'all' : intOption('--div-captions', values['div-captions']!),
        perCaption: intOption('--div-samples', values['div-samples']!),
        threshold: ratio,
      },
      detailBase: intOption('--detail-base', values['detail-base']!),
      ...(reference !== undefined ? { reference: reference as SplitName } : {}),
      ...(stage !== undefined ? { stage } : {}),
      progress: true,
    });
    console.log(report(r));
    if (values.json !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
      fs.writeFileSync(values.json, JSON.stringify(r, null, 2) + '\n');
    }
  } catch (e) {
    if (e instanceof MissingInputError) throw new UsageError(e.message, evalHelp);
    throw e;
  } finally {
    for (const f of disposers.reverse()) f();
  }
}

/** `eval --damsm <run> --dataset <cache>`: the encoders themselves, on real held-out images. */
async function encoderCommand(values: {
  damsm?: string;
  dataset?: string;
  metrics?: string;
  split?: string;
  n?: string;
  seed?: string;
  'batch-size'?: string;
  stage?: string;
  json?: string;
  device?: string;
}): Promise<void> {
  if (values.metrics !== undefined && values.metrics.trim() !== 'rprec')
    throw new UsageError('without --model only --metrics rprec applies (the encoders on real images)', evalHelp);
  if (values.dataset === undefined)
    throw new UsageError('--damsm without --model needs --dataset <cache> (real held-out images)', evalHelp);
  const splits = values.split!.split(',').map((x) => x.trim());
  const bad = splits.filter((x) => !(SPLITS as readonly string[]).includes(x));
  if (bad.length > 0) throw new UsageError(`--split ${bad.join(',')}: choose from ${SPLITS.join(', ')}`, evalHelp);
  const device = pickDevice(values.device);
  const d = loadDamsmNetwork(values.damsm!, device);
  try {
    const r = await evaluateEncoders(
      { conditioner: d.conditioner, image: d.image!, name: d.network.name },
      {
        dataset: values.dataset,
        splits: splits as SplitName[],
        device,
        n: intOption('--n', values.n!),
        seed: intOption('--seed', values.seed!),
        batchSize: intOption('--batch-size', values['batch-size']!),
        ...(values.stage !== undefined ? { side: intOption('--stage', values.stage) } : {}),
      },
    );
    console.log(encoderReport(r));
    if (values.json !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
      fs.writeFileSync(values.json, JSON.stringify(r, null, 2) + '\n');
    }
  } finally {
    d.network.dispose();
    d.conditioner.module.dispose();
  }
}

/** The markdown summary of an encoder evaluation. */
export function encoderReport(r: EncoderEvaluation): string {
  const recall = (x: EncoderEvaluation['imageToText']): string => `${pct(x.r1)} / ${pct(x.r5)} / ${pct(x.r10)}`;
  return [
    `DAMSM ${r.encoders} on ${r.dataset} (${r.splits.join('+')}): ${r.images} real images at ${r.side} px, ` +
      `${r.captions} captions, ${r.seconds.toFixed(0)} s`,
    '',
    '| metric | value | details |',
    '| --- | --- | --- |',
    `| image → caption recall @1 / @5 / @10 | ${recall(r.imageToText)} | each image against all ${r.captions} captions |`,
    `| caption → image recall @1 / @5 / @10 | ${recall(r.textToImage)} | each caption against all ${r.images} images |`,
    `| ${r.rprec.label} | ${pctStd(r.rprec)} | ${r.rprec.samples} captions, ` +
      `1 true among ${r.rprec.candidates}, ${r.rprec.splits.length} splits (a generator's protocol) |`,
  ].join('\n');
}

const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));

/** The markdown summary: one row per metric, then attribute accuracy by combination group. */
export function report(r: EvaluationResult): string {
  const head = [
    `Evaluation of ${r.model}${r.dataset ? ` on ${r.dataset} (${r.splits.join('+')})` : ''}: ` +
      `${r.n > 0 ? `${r.n} generated images, ` : ''}${r.stages.length > 1 ? `the ${r.stage} px stage, ` : ''}` +
      `seed ${r.seed}, ${r.seconds.toFixed(1)} s`,
    '',
    '| metric | value | details |',
    '| --- | --- | --- |',
  ];
  const rows: string[] = [];
  if (r.fid) rows.push(`| ${r.fid.label} | ${num(r.fid.value)} | ${r.fid.generated} generated vs ${r.fid.real} real |`);
  if (r.kid)
    rows.push(
      `| ${r.kid.label} | ${num(r.kid.mean)} ± ${num(r.kid.std)} | ${r.kid.subsets} subsets of ${r.kid.subsetSize} |`,
    );
  if (r.is)
    rows.push(
      `| ${r.is.label} | ${num(r.is.mean)} ± ${num(r.is.std)} | ${r.is.splits.length} splits, ${r.is.classes} classes |`,
    );
  if (r.rprec) {
    rows.push(
      `| ${r.rprec.label} | ${pctStd(r.rprec)} | ${r.rprec.samples} captions, ` +
        `1 true among ${r.rprec.candidates}, ${r.rprec.splits.length} splits |`,
    );
    const real = r.rprec.real.rprec;
    rows.push(
      `| ${real.label} | ${pctStd(real)} | the same captions with their real ` +
        `${r.rprec.real.side} px images; the generator's score is ${(r.rprec.mean / Math.max(real.mean, 1e-9)).toFixed(2)} of it |`,
    );
  }
  if (r.div)
    rows.push(
      `| ${r.div.label} | ${num(r.div.generated)} (real ${num(r.div.real)}, ratio ${r.div.ratio.toFixed(2)}) | ` +
        `${r.div.captions} captions × ${r.div.perCaption}; mode collapse (< ${r.div.threshold}): ` +
        `${r.div.modeCollapse ? '**yes**' : 'no'} |`,
    );
  if (r.detail)
    rows.push(
      `| ${r.detail.label} | ${r.detail.generated.toExponential(2)} (real ${r.detail.real.toExponential(2)}, ` +
        `ratio ${r.detail.ratio.toPrecision(2)}) | ` +
        `mean square of each ${r.detail.side} px image minus its ${r.detail.base} px copy; ` +
        `${r.detail.images} generated, ${r.detail.realImages} real |`,
    );
  if (r.attr)
    rows.push(
      `| ${r.attr.label} (hair / eyes / both) | ${pct(r.attr.hair)} / ${pct(r.attr.eyes)} / ${pct(r.attr.both)} | ` +
        `${r.attr.n} images, classifier ${r.attr.classifier} |`,
    );
  const ref = r.reference;
  if (ref) {
    const what = `${ref.images} real ${ref.split} images in place of generated ones`;
    if (ref.fid) rows.push(`| ${ref.fid.label}, real ${ref.split} | ${num(ref.fid.value)} | ${what} |`);
    if (ref.kid)
      rows.push(`| ${ref.kid.label}, real ${ref.split} | ${num(ref.kid.mean)} ± ${num(ref.kid.std)} | ${what} |`);
    if (ref.is)
      rows.push(`| ${ref.is.label}, real ${ref.split} | ${num(ref.is.mean)} ± ${num(ref.is.std)} | ${what} |`);
  }
  const out = [...head, ...rows];
  if (r.attr) {
    const a = r.attr;
    out.push(
      '',
      `Attribute accuracy (${a.n} images, classifier ${a.classifier})`,
      '',
      '| combinations | hair | eyes | both |',
      '| --- | --- | --- | --- |',
      `| all ${a.perCombo.length} | ${pct(a.hair)} | ${pct(a.eyes)} | ${pct(a.both)} |`,
    );
    // Pooled by images, as the tables and cards pool them (every combination has the same count here).
    if (a.perCombo.some((c) => c.inTraining !== null)) {
      const groups = comboGroups(a.perCombo);
      for (const [group, label] of COMBO_GROUPS.slice(1)) {
        const p = pooledAccuracy(groups[group]);
        if (p) out.push(`| ${label} (${p.combos}) | ${pct(p.hair)} | ${pct(p.eyes)} | ${pct(p.both)} |`);
      }
    }
  }
  return out.join('\n');
}
