// `creativeai export`: a compact, self-contained model file for sampling and serving: the
// generator (its moving average when trained with one), the frozen Stage I of a StackGAN Stage-II
// model, the frozen text encoder and the metadata needed to use them, optionally in float16 (half
// the size; computed in float32 when loaded).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { tidy, type Tensor } from '../engine/index.js';
import { TENSORS_DIGEST_KEY, saveSafetensors, tensorsDigest } from '../io/index.js';
import { imagesBefore, loadCheckpoint, resolveRunCheckpoint, type LoadedCheckpoint } from '../artifacts/checkpoint.js';
import { CacheReader, randomCaptions, type CacheRecord } from '../data/index.js';
import { TextToImagePipeline } from '../inference/pipeline.js';
import { Prng } from '../util/prng.js';
import { TagVocabulary } from '../text/index.js';

import { UsageError, intOption, list } from './usage.js';

export const exportHelp = `Usage: creativeai export --model <run|checkpoint> --out <file.safetensors> [--fp16]

Writes the generator (for StackGAN Stage II: both stages) and text encoder of a trained model into
one .safetensors file; for a latent-encoder run, the encoder (ship it as models/<model>.encoder.safetensors).

  --model <path>   a run directory (its newest checkpoint, or --best) or a checkpoint
  --best           use the run's best checkpoint instead of the newest
  --out <file>     output .safetensors
  --fp16           store weights as float16
  --discriminator  keep the discriminator(s) too (sampling ignores them): a run can then go on from the
                   file with its D (init.from) when the run's checkpoints are gone
  --image-encoder  for a DAMSM run: keep its image encoder too, so the file scores R-precision and FID
                   (eval --damsm <file>) on the same encoders after the run is gone
  --average <a,b,…> average the generator's weights (its moving average when it has one) with those of
                   these checkpoints of the same run: a longer window than the run's EMA
  --dataset <cache> the cache the model was trained on: for --standing-stats, and for a tag model
                   trained before checkpoints recorded it, whose training faces' colours the model
                   file then records (requests for a colour none of them has, such as gray eyes,
                   are refused with the reason)
  --standing-stats <n> recompute the generator's batch-norm statistics for the weights exported
                   (BigGAN's standing statistics): the mean over n batches of the training split's
                   captions (or tags) with fresh noise; needs --dataset
  --seed <n>       noise and captions for --standing-stats (default 0)`;

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      fp16: { type: 'boolean', default: false },
      discriminator: { type: 'boolean', default: false },
      'image-encoder': { type: 'boolean', default: false },
      best: { type: 'boolean', default: false },
      dataset: { type: 'string' },
      average: { type: 'string' },
      'standing-stats': { type: 'string' },
      seed: { type: 'string', default: '0' },
    },
  });
  if (values.model === undefined || values.out === undefined)
    throw new UsageError('--model and --out are required', exportHelp);
  const averageWith = list(values.average ?? '');
  if (values.average !== undefined && averageWith.length === 0)
    throw new UsageError('--average names no checkpoint', exportHelp);
  const standingBatches =
    values['standing-stats'] === undefined ? undefined : intOption('--standing-stats', values['standing-stats']);
  if (standingBatches !== undefined && standingBatches < 1)
    throw new UsageError('--standing-stats needs at least one batch', exportHelp);
  if (standingBatches !== undefined && values.dataset === undefined)
    throw new UsageError(
      '--standing-stats needs --dataset: the captions (or tags) to draw the batches from',
      exportHelp,
    );
  const seed = intOption('--seed', values.seed!);
  const ck = loadCheckpoint(resolveRunCheckpoint(values.model, values.best!));
  const withImage = values['image-encoder']!;
  if (withImage && ck.metadata.model !== 'damsm') {
    for (const t of ck.tensors.values()) t.dispose();
    throw new UsageError(
      `--image-encoder is for DAMSM runs; ${ck.path} holds a ${ck.metadata.model} model`,
      exportHelp,
    );
  }
  const others: LoadedCheckpoint[] = [];
  const owned: Tensor[] = [];
  try {
    for (const p of averageWith) others.push(loadCheckpoint(resolveRunCheckpoint(p, false)));
    const hasEma = [...ck.tensors.keys()].some((k) => k.startsWith('G_ema.'));
    const gPrefix = hasEma ? 'G_ema.' : 'G.';
    const averaged = averageGenerator(ck, others, gPrefix);
    owned.push(...averaged.values());
    const keep = new Map<string, Tensor>();
    for (const [k, t0] of ck.tensors) {
      let name: string | null = null;
      const t = averaged.get(k) ?? t0;
      if (k.startsWith(gPrefix)) name = `G.${k.slice(gPrefix.length)}`;
      else if (k.startsWith('text.') || k.startsWith('stage1.') || k.startsWith('encoder.')) name = k;
      else if (values.discriminator && /^D\d*\./.test(k)) name = k;
      else if (withImage && k.startsWith('image.')) name = k;
      if (name === null) continue;
      let v = t;
      if (values.fp16 && t.dtype === 'float32') {
        v = t.to('float16');
        owned.push(v);
      }
      keep.set(name, v);
    }
    if (keep.size === 0) throw new Error(`${ck.path} holds no generator (or encoder) weights`);
    const meta: Record<string, string> = {};
    for (const k of [
      'model',
      'generator',
      'condition',
      'vocabulary',
      'textEncoder',
      'tags',
      'config',
      'sampleCaptions',
      'stages',
      'stage1Model',
      'stage1Generator',
      'encoder',
      'generatorSource',
      'tagsInData',
    ])
      if (ck.metadata[k] !== undefined) meta[k] = ck.metadata[k]!;
    if (withImage) meta.imageEncoder = ck.metadata.imageEncoder!;
    // A run that started from another model's weights: the file records the images its G had seen
    // before this run, so that a run started from this file counts them too.
    const before = imagesBefore(ck);
    if (before > 0) meta.imagesBefore = String(before);
    const train =
      values.dataset === undefined ? [] : CacheReader.open(values.dataset).records.filter((r) => r.split === 'train');
    if (values.dataset !== undefined && train.length === 0) throw new Error(`${values.dataset} has no training split`);
    if (values.dataset !== undefined && standingBatches === undefined && meta.condition !== 'tags')
      throw new UsageError('--dataset is for tag models (condition: tags) or --standing-stats', exportHelp);
    if (values.dataset !== undefined && meta.condition === 'tags') {
      const inData = TagVocabulary.fromRecords(train);
      if (meta.tagsInData !== undefined && meta.tagsInData !== JSON.stringify(inData.toJSON()))
        throw new Error(`${ck.path} records other training colours than ${values.dataset}'s training split`);
      meta.tagsInData = JSON.stringify(inData.toJSON());
    }
    if (standingBatches !== undefined) {
      const batch = trainingBatch(meta.config);
      const stats = standingStatistics(
        { path: ck.path, tensors: keep, metadata: meta },
        train,
        standingBatches,
        batch,
        seed,
      );
      if (stats.size === 0)
        throw new Error(`${ck.path}: the generator has no batch norm, so no statistics to recompute`);
      for (const [k, b] of stats) {
        const old = keep.get(k);
        if (old === undefined) throw new Error(`the generator's buffer ${k} is not in ${ck.path}`);
        keep.set(k, b.to(old.dtype));
        owned.push(keep.get(k)!);
        b.dispose();
      }
      meta.standingStatistics = JSON.stringify({ dataset: values.dataset, batches: standingBatches, batch, seed });
    }
    meta.step = String(ck.manifest.step);
    meta.exportedFrom = path.relative(process.cwd(), ck.path);
    meta.weights = hasEma ? 'ema' : 'last';
    if (others.length > 0) meta.averagedSteps = JSON.stringify([ck, ...others].map((c) => c.manifest.step));
    fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
    // Written twice: the digest of the tensors as stored goes into the file's own metadata, so a
    // damaged or altered model is refused when it is loaded (checkTensorsDigest).
    saveSafetensors(values.out, keep, meta);
    saveSafetensors(values.out, keep, { ...meta, [TENSORS_DIGEST_KEY]: tensorsDigest(values.out) });
    console.error(
      `${values.out}: ${keep.size} tensors, ${(fs.statSync(values.out).size / 1e6).toFixed(1)} MB (step ${ck.manifest.step}, ${meta.weights} weights${others.length > 0 ? ` averaged over steps ${meta.averagedSteps}` : ''}${values.fp16 ? ', fp16' : ''})`,
    );
  } finally {
    for (const t of owned) t.dispose();
    for (const c of [ck, ...others]) for (const t of c.tensors.values()) t.dispose();
  }
}

/**
 * The mean of the generator's float tensors (weights and batch-norm statistics) over `ck` and
 * `others`, keyed as in the checkpoints; empty when there are no others. The checkpoints must hold
 * the same model with the same generator layout.
 */
function averageGenerator(ck: LoadedCheckpoint, others: LoadedCheckpoint[], gPrefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  if (others.length === 0) return out;
  for (const o of others)
    if (o.metadata.model !== ck.metadata.model || o.metadata.generator !== ck.metadata.generator)
      throw new Error(
        `${o.path} holds another model or generator layout than ${ck.path}: only checkpoints of one run can be averaged`,
      );
  for (const [k, t] of ck.tensors) {
    if (!k.startsWith(gPrefix) || t.dtype !== 'float32') continue;
    const rest = others.map((o) => {
      const v = o.tensors.get(k);
      if (v === undefined || v.shape.join() !== t.shape.join())
        throw new Error(`${o.path} has no ${k} of shape [${t.shape.join(', ')}]: not the same generator`);
      return v;
    });
    out.set(
      k,
      tidy(() => rest.reduce((sum, v) => sum.add(v), t).div(others.length + 1)),
    );
  }
  return out;
}

/** The batch size a run trained with (its config's data.batchSize), else 64. */
function trainingBatch(config: string | undefined): number {
  try {
    const b = (JSON.parse(config ?? '{}') as { data?: { batchSize?: unknown } }).data?.batchSize;
    return typeof b === 'number' && Number.isSafeInteger(b) && b > 0 ? b : 64;
  } catch {
    return 64;
  }
}

/**
 * The generator's buffers after standing statistics over `batches` batches of `batch` training
 * records' captions (one caption of each, at random), computed in float32 from the weights as
 * exported (float16 ones included); copies, the caller's to dispose.
 */
function standingStatistics(
  ck: { path: string; tensors: Map<string, Tensor>; metadata: Record<string, string> },
  records: readonly CacheRecord[],
  batches: number,
  batch: number,
  seed: number,
): Map<string, Tensor> {
  const rng = new Prng(seed);
  const captions = Array.from({ length: batches }, () => randomCaptions(records, batch, rng));
  // The generator alone: no directions or encoder from beside the source file.
  const pipe = TextToImagePipeline.fromCheckpoint(ck, 'cpu', {
    precision: 'fp32',
    memoryFormat: 'contiguous',
    companions: false,
  });
  try {
    const stats = pipe.recomputeStandingStatistics(captions, seed);
    return new Map([...stats].map(([k, t]) => [k, t.clone()]));
  } finally {
    pipe.dispose();
  }
}
