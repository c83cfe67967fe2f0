// `creativeai export`: a compact, self-contained model file for sampling and serving: the
// generator (its moving average when trained with one), the frozen Stage I of a StackGAN Stage-II
// model, the frozen text encoder and the metadata needed to use them, optionally in float16 (half
// the size; computed in float32 when loaded).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import type { Tensor } from '../engine/index.js';
import { TENSORS_DIGEST_KEY, saveSafetensors, tensorsDigest } from '../io/index.js';
import { imagesBefore, loadCheckpoint, resolveRunCheckpoint } from '../artifacts/checkpoint.js';
import { CacheReader } from '../data/index.js';
import { TagVocabulary } from '../text/index.js';

import { UsageError } from './usage.js';

export const exportHelp = `Usage: creativeai export --model <run|checkpoint> --out <file.safetensors> [--fp16]

Writes the generator (for StackGAN Stage II: both stages) and text encoder of a trained model into
one .safetensors file; for a latent-encoder run, the encoder (ship it as models/<model>.encoder.safetensors).

  --model <path>   a run directory (its newest checkpoint, or --best) or a checkpoint
  --best           use the run's best checkpoint instead of the newest
  --out <file>     output .safetensors
  --fp16           store weights as float16
  --discriminator  keep the discriminator(s) too (sampling ignores them): a run can then go on from the
                   file with its D (init.from) when the run's checkpoints are gone
  --dataset <cache> for a tag model trained before checkpoints recorded it: the cache it was trained
                   on, whose training faces' colours the model file then records (requests for a
                   colour none of them has, such as gray eyes, are refused with the reason)`;

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      fp16: { type: 'boolean', default: false },
      discriminator: { type: 'boolean', default: false },
      best: { type: 'boolean', default: false },
      dataset: { type: 'string' },
    },
  });
  if (values.model === undefined || values.out === undefined)
    throw new UsageError('--model and --out are required', exportHelp);
  const ck = loadCheckpoint(resolveRunCheckpoint(values.model, values.best!));
  const owned: Tensor[] = [];
  try {
    const hasEma = [...ck.tensors.keys()].some((k) => k.startsWith('G_ema.'));
    const gPrefix = hasEma ? 'G_ema.' : 'G.';
    const keep = new Map<string, Tensor>();
    for (const [k, t] of ck.tensors) {
      let name: string | null = null;
      if (k.startsWith(gPrefix)) name = `G.${k.slice(gPrefix.length)}`;
      else if (k.startsWith('text.') || k.startsWith('stage1.') || k.startsWith('encoder.')) name = k;
      else if (values.discriminator && /^D\d*\./.test(k)) name = k;
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
    // A run that started from another model's weights: the file records the images its G had seen
    // before this run, so that a run started from this file counts them too.
    const before = imagesBefore(ck);
    if (before > 0) meta.imagesBefore = String(before);
    if (values.dataset !== undefined) {
      if (meta.condition !== 'tags') throw new UsageError('--dataset is for tag models (condition: tags)', exportHelp);
      const train = CacheReader.open(values.dataset).records.filter((r) => r.split === 'train');
      const inData = TagVocabulary.fromRecords(train);
      if (meta.tagsInData !== undefined && meta.tagsInData !== JSON.stringify(inData.toJSON()))
        throw new Error(`${ck.path} records other training colours than ${values.dataset}'s training split`);
      meta.tagsInData = JSON.stringify(inData.toJSON());
    }
    meta.step = String(ck.manifest.step);
    meta.exportedFrom = path.relative(process.cwd(), ck.path);
    meta.weights = hasEma ? 'ema' : 'last';
    fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
    // Written twice: the digest of the tensors as stored goes into the file's own metadata, so a
    // damaged or altered model is refused when it is loaded (checkTensorsDigest).
    saveSafetensors(values.out, keep, meta);
    saveSafetensors(values.out, keep, { ...meta, [TENSORS_DIGEST_KEY]: tensorsDigest(values.out) });
    console.error(
      `${values.out}: ${keep.size} tensors, ${(fs.statSync(values.out).size / 1e6).toFixed(1)} MB (step ${ck.manifest.step}, ${meta.weights} weights${values.fp16 ? ', fp16' : ''})`,
    );
  } finally {
    for (const t of owned) t.dispose();
    for (const t of ck.tensors.values()) t.dispose();
  }
}
