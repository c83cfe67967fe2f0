// `creativeai sample`: images from a trained model for captions, tags or an interpolation.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { pickDevice, retainFreedCpuMemory, type Tensor } from '../engine/index.js';
import { saveAttentionFigure, saveGrid } from '../io/index.js';
import { stageRows } from '../inference/stage-rows.js';
import { parseTagsFile, tagText } from '../text/index.js';
import { latentTensor, readLatentFile, type LatentFile } from '../inference/latent-file.js';
import { TextToImagePipeline } from '../inference/pipeline.js';
import { UsageError, intOption } from './usage.js';

export const sampleHelp = `Usage: creativeai sample --model <run|checkpoint> --text "…" [options]
       creativeai sample --model <run|checkpoint> --tags-file testing_tags.txt --out samples/cgan.png

Draws images from a trained generator; the same seed gives the same images. For a stacked model
(StackGAN Stage II, StackGAN++, AttnGAN) every stage is written, the side appended to the file
name: --out x.png writes x-64.png, x-128.png, x-256.png (the same noise and captions in the same
places), and x-stages.png with each image's stages side by side. For AttnGAN, x-attention-<side>.png
shows, per image (the first 8), where each word's attention fell in the stage that drew <side> px.

  --model <path>       a run directory (newest checkpoint), a checkpoint or an exported model
  --text "<caption>"   caption or tag text ("blue hair red eyes"); repeat for several (one row each)
  --tags-file <file>   HW3-2 testing tags (id,<colour> hair <colour> eyes per line): one image per line
  --interpolate        with two --text: manifold interpolation from the first to the second
  --latent <file.json> the noise of \`creativeai invert\` instead of a seed: one image per --text, the
                       same face (or bird) with each caption or tags ("this face, but with blue hair")
  --direction <d=s>    an attribute direction and its strength, e.g. hair:blue=0.5 (tag blend, 0–1) or
                       noise:hair:blue=2 (models/<name>.directions.json); repeat for several
  --psi <ψ>            truncation of the noise, z·ψ with ψ in (0, 1]
  --n <count>          images per caption (default 16; --interpolate: steps, default 8)
  --seed <n>           noise seed (default 42)
  --nrow <n>           images per grid row (default: n per caption; 5 for a 25-line tags file)
  --out <file.png>     output grid (default samples.png; stacked models: one per stage, see above)
  --device <d>         cpu | cuda | cuda:N (default: cuda when available)`;

export async function sampleCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      text: { type: 'string', multiple: true, default: [] },
      'tags-file': { type: 'string' },
      interpolate: { type: 'boolean', default: false },
      latent: { type: 'string' },
      direction: { type: 'string', multiple: true, default: [] },
      psi: { type: 'string' },
      n: { type: 'string' },
      seed: { type: 'string', default: '42' },
      nrow: { type: 'string' },
      out: { type: 'string', default: 'samples.png' },
      device: { type: 'string' },
    },
  });
  if (values.model === undefined) throw new UsageError('--model is required', sampleHelp);
  const texts = values.text!;
  const tagsFile = values['tags-file'];
  if (texts.length > 0 === (tagsFile !== undefined))
    throw new UsageError('give --text or --tags-file (not both)', sampleHelp);
  if (values.interpolate && texts.length !== 2)
    throw new UsageError('--interpolate needs exactly two --text captions', sampleHelp);
  if (values.latent !== undefined && (texts.length === 0 || values.interpolate))
    throw new UsageError(
      '--latent needs --text (one image per text), without --tags-file or --interpolate',
      sampleHelp,
    );
  const latent = values.latent === undefined ? undefined : readLatentFile(values.latent);
  const directions: Record<string, number> = {};
  for (const d of values.direction!) {
    const m = /^(.+)=(-?[0-9.]+)$/.exec(d);
    if (m === null || !Number.isFinite(Number(m[2])))
      throw new UsageError(`--direction ${d}: write it as name=strength, e.g. hair:blue=0.5`, sampleHelp);
    directions[m[1]!] = Number(m[2]);
  }
  const psi = values.psi === undefined ? undefined : Number(values.psi);
  if (psi !== undefined && !(psi > 0 && psi <= 1))
    throw new UsageError(`--psi must be in (0, 1], got ${values.psi}`, sampleHelp);
  const edit =
    Object.keys(directions).length > 0 || psi !== undefined
      ? { directions, ...(psi !== undefined ? { psi } : {}) }
      : undefined;
  if (edit !== undefined && values.interpolate)
    throw new UsageError('--direction and --psi apply to sampled or given noise, not to --interpolate', sampleHelp);
  const seed = intOption('--seed', values.seed!);
  if (seed < 0) throw new UsageError('--seed must be ≥ 0', sampleHelp);
  const n = values.n === undefined ? (values.interpolate ? 8 : 16) : intOption('--n', values.n);
  if (n < 1 || n > 1024) throw new UsageError(`--n must be between 1 and 1024, got ${n}`, sampleHelp);

  const started = Date.now();
  retainFreedCpuMemory(); // a batch job: reuse large buffers rather than page them in afresh
  if (texts.some((t) => t.trim() === '')) throw new UsageError('--text is empty: give a caption or tags', sampleHelp);
  const pipe = TextToImagePipeline.load(values.model, pickDevice(values.device));
  try {
    if (edit !== undefined) {
      const problem = pipe.checkEdit(edit);
      if (problem !== undefined) throw new UsageError(problem, sampleHelp);
    }
    // What the model makes of each text: a text it cannot read is an error, unknown words a warning.
    for (const t of new Set(texts)) {
      const check = pipe.check(t);
      if (check.error !== undefined) throw new Error(`--text "${t}": ${check.error}`);
      if (check.unknownWords.length > 0)
        process.stderr.write(
          `warning: the model does not know ${check.unknownWords.join(', ')} (in "${t}"): ignored\n`,
        );
    }
    let captions: string[];
    let nrow: number;
    if (tagsFile !== undefined) {
      const lines = parseTagsFile(fs.readFileSync(tagsFile, 'utf8'));
      if (lines.length === 0) throw new UsageError(`${tagsFile} has no tag lines`, sampleHelp);
      captions = lines.map(tagText);
      nrow = values.nrow === undefined ? Math.ceil(Math.sqrt(captions.length)) : intOption('--nrow', values.nrow);
    } else if (latent !== undefined) {
      captions = texts;
      nrow = values.nrow === undefined ? texts.length : intOption('--nrow', values.nrow);
    } else {
      captions = texts.flatMap((t) => new Array<string>(n).fill(t));
      nrow = values.nrow === undefined ? n : intOption('--nrow', values.nrow);
    }
    let attention: { maps: Tensor[]; words: string[][] } | null = null;
    let stages: Tensor[];
    if (values.interpolate) stages = pipe.interpolateStages(texts[0]!, texts[1]!, n, { seed });
    else {
      using z =
        latent === undefined
          ? pipe.noise(captions.length, seed)
          : latentRows(latent, captions.length, pipe, values.latent!);
      if (pipe.hasAttention && edit === undefined) {
        const r = pipe.generateWithAttention(z, captions);
        stages = r.stages;
        attention = { maps: r.maps, words: r.words };
      } else stages = pipe.generateStagesFrom(z, captions, edit);
    }
    try {
      fs.mkdirSync(path.dirname(path.resolve(values.out!)), { recursive: true });
      const files = stages.length === 1 ? [values.out!] : pipe.stages.map((side) => stageFile(values.out!, side));
      for (let s = 0; s < stages.length; s++)
        // The assignment's format: tiles of exactly the model's size, no padding between them.
        await saveGrid(stages[s]!, files[s]!, { nrow, padding: tagsFile !== undefined ? 0 : 2 });
      if (stages.length > 1) {
        const side = stageFile(values.out!, 'stages');
        using rows = stageRows(stages, 1);
        await saveGrid(rows, side, { nrow: stages.length });
        files.push(side);
      }
      if (attention !== null)
        for (let a = 0; a < attention.maps.length; a++) {
          // The maps of attentional stage a (over its input grid) drew the images of stage a + 1.
          const images = stages[a + 1]!;
          const maps = attention.maps[a]!;
          const count = Math.min(8, images.size(0));
          const rows = Array.from({ length: count }, (_, i) => ({
            image: images.select(0, i),
            maps: maps.select(0, i),
            words: attention!.words[i]!,
          }));
          const file = stageFile(values.out!, `attention-${pipe.stages[a + 1]}`);
          try {
            await saveAttentionFigure(rows, file);
          } finally {
            rows.forEach((r) => {
              r.image.dispose();
              r.maps.dispose();
            });
          }
          files.push(file);
        }
      console.error(
        `${stages[0]!.size(0)} images of ${pipe.stages.map((r) => `${r}×${r}`).join(' and ')} from ${pipe.source}${pipe.usedEma ? ' (EMA weights)' : ''} → ${files.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      stages.forEach((t) => t.dispose());
      attention?.maps.forEach((t) => t.dispose());
    }
  } finally {
    pipe.dispose();
  }
}

/** The latent's noise, once per caption, on the pipeline's device. */
function latentRows(l: LatentFile, n: number, pipe: TextToImagePipeline, file: string): Tensor {
  using one = latentTensor(l, pipe.noiseDim, file);
  using rows = one.expand(n, pipe.noiseDim);
  using c = rows.contiguous();
  return c.to(pipe.device);
}

/** x.png → x-256.png: where one stage of a stacked model (or a figure of it) goes. */
function stageFile(out: string, side: number | string): string {
  const ext = path.extname(out);
  return `${out.slice(0, out.length - ext.length)}-${side}${ext}`;
}
