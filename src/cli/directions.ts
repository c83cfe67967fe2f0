// `creativeai directions`: attribute directions in a tag model's noise space, found and measured with
// the attribute classifier (eval/directions.ts), written where the server and `sample` find them.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import { pickDevice } from '../engine/index.js';
import { loadAttributeClassifier } from '../artifacts/attribute-classifier.js';
import { findDirections } from '../eval/directions.js';
import { directionsFileOf, TextToImagePipeline } from '../inference/pipeline.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { UsageError, intOption } from './usage.js';

export const directionsHelp = `Usage: creativeai directions --model models/x.safetensors --classifier <run> [--out file.json]

Finds attribute directions in a tag model's noise space: one per hair and eye colour, along which the
attribute classifier reads that colour more often, the tags unchanged; then measures each on fresh
latents at every strength (how often the colour appears where the tags ask for another, and how often
the other attribute stays); tag blends (hair:blue at 0–1) are measured beside them. The server and
\`sample --direction\` read models/x.directions.json.

  --model <path>        a tag model: an export (default --out beside it), a run or a checkpoint
  --classifier <run>    attribute-classifier run or checkpoint
  --out <file.json>     where the directions go (default: the export's <name>.directions.json)
  --samples <n>         latents sampled to find them (default 4096)
  --measure <n>         latents per strength to measure them on (default 128)
  --strengths <list>    strengths measured, each with its negative; the largest is the range offered
                        (default 2,4)
  --seed <n>            (default 0)
  --device <d>          cpu | cuda | cuda:N (default: cuda when available)`;

export async function directionsCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      classifier: { type: 'string' },
      out: { type: 'string' },
      samples: { type: 'string', default: '4096' },
      measure: { type: 'string', default: '128' },
      strengths: { type: 'string', default: '2,4' },
      seed: { type: 'string', default: '0' },
      device: { type: 'string' },
    },
  });
  if (values.model === undefined) throw new UsageError('--model is required', directionsHelp);
  if (values.classifier === undefined) throw new UsageError('--classifier is required', directionsHelp);
  const out = values.out ?? (values.model.endsWith('.safetensors') ? directionsFileOf(values.model) : undefined);
  if (out === undefined) throw new UsageError('--out is required when --model is not an export', directionsHelp);
  const magnitudes = values.strengths!.split(',').map((s) => Number(s.trim()));
  if (magnitudes.some((s) => !(Number.isFinite(s) && s > 0)))
    throw new UsageError(
      `--strengths must be positive numbers separated by commas, got ${values.strengths}`,
      directionsHelp,
    );
  const strengths = [...magnitudes.map((s) => -s), ...magnitudes];
  const samples = intOption('--samples', values.samples!);
  const measure = intOption('--measure', values.measure!);
  const seed = intOption('--seed', values.seed!);
  for (const p of [values.model, values.classifier])
    if (!fs.existsSync(p)) throw new UsageError(`${p}: no such file or directory`, directionsHelp);

  const device = pickDevice(values.device);
  const started = Date.now();
  // Directions of an older file must not steer the search: load the model without them.
  const pipe = TextToImagePipeline.load(values.model, device);
  pipe.directions = undefined;
  const classifier = loadAttributeClassifier(values.classifier, device);
  try {
    if (!pipe.model.startsWith('tag-'))
      throw new UsageError(`${values.model} is a ${pipe.model} model; directions need a tag model`, directionsHelp);
    let last = 0;
    const d = findDirections(pipe, classifier, {
      samples,
      measureSamples: measure,
      strengths,
      seed,
      onProgress: (phase, done, total) => {
        if (Date.now() - last < 2000 && done < total) return;
        last = Date.now();
        process.stderr.write(`directions: ${phase} ${done}/${total}\n`);
      },
    });
    writeFileAtomicSync(out, [Buffer.from(`${JSON.stringify(d)}\n`)]);
    console.log(`${d.directions.length} directions → ${out} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    console.log('direction              strength  target  others kept');
    for (const dir of [...d.directions, ...d.blends])
      for (const m of dir.measured)
        console.log(
          `${dir.name.padEnd(22)} ${m.strength.toFixed(2).padStart(8)}  ${(100 * m.target).toFixed(1).padStart(5)} %  ${(100 * m.othersKept).toFixed(1).padStart(5)} %`,
        );
    for (const t of d.truncation ?? [])
      console.log(
        `truncation ψ ${t.psi}: both colours right ${(100 * t.both).toFixed(1)} %, pixel spread ${t.pixelStd.toFixed(3)}`,
      );
  } finally {
    pipe.dispose();
    classifier.dispose();
  }
}
