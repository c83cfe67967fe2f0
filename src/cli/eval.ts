// `creativeai eval`: measures a trained generator. Implemented so far: attribute accuracy for tag
// models (hair/eye classifiers trained on real faces); the other metrics of docs/results.md land
// with the evaluation issue.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { CacheReader } from '../data/index.js';
import { attributeAccuracy, comboKeys, loadAttributeClassifier } from '../eval/attribute-accuracy.js';
import { TextToImagePipeline } from '../train/pipeline.js';
import { pickDevice } from '../train/trainer.js';
import { UsageError, intOption } from './usage.js';

export const evalHelp = `Usage: creativeai eval --model <run|checkpoint> --metrics attr --classifier <run> [options]

Measures a trained generator and prints a markdown table (and JSON with --json).

  --model <path>        a run directory, checkpoint or exported model
  --metrics attr        attr: attribute accuracy of a tag model (the only metric implemented so far)
  --classifier <path>   an attribute-classifier run (configs/attribute-classifier-anime.yaml) or checkpoint
  --dataset <cache>     the generator's training cache: combinations absent from its train split are
                        reported separately (default: none)
  --per-combo <n>       images per hair/eyes combination (default 16)
  --seed <n>            noise seed (default 0)
  --json <file>         also write the full result as JSON
  --device <d>          cpu | cuda | cuda:N`;

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      metrics: { type: 'string', default: 'attr' },
      classifier: { type: 'string' },
      dataset: { type: 'string' },
      'per-combo': { type: 'string', default: '16' },
      seed: { type: 'string', default: '0' },
      json: { type: 'string' },
      device: { type: 'string' },
    },
  });
  if (values.model === undefined) throw new UsageError('--model is required', evalHelp);
  const metrics = values.metrics!.split(',').map((m) => m.trim());
  const unknown = metrics.filter((m) => m !== 'attr');
  if (unknown.length > 0)
    throw new UsageError(`unsupported metric(s) ${unknown.join(', ')}: implemented so far: attr`, evalHelp);
  if (values.classifier === undefined)
    throw new UsageError('--metrics attr needs --classifier <run|checkpoint>', evalHelp);
  const device = pickDevice(values.device);
  const pipe = TextToImagePipeline.load(values.model, device);
  const cls = loadAttributeClassifier(values.classifier, device);
  try {
    if (pipe.conditioner.kind !== 'tags')
      throw new Error(`${pipe.source} is not a tag model: attribute accuracy needs one`);
    const combos = cls.vocabulary.hair.flatMap((hair) => cls.vocabulary.eyes.map((eyes) => ({ hair, eyes })));
    let trainCombos: Set<string> | undefined;
    if (values.dataset !== undefined) {
      const reader = CacheReader.open(values.dataset);
      trainCombos = comboKeys(reader.records);
      reader.close();
    }
    const started = Date.now();
    const r = attributeAccuracy(pipe, cls, {
      combos,
      perCombo: intOption('--per-combo', values['per-combo']!),
      seed: intOption('--seed', values.seed!),
      ...(trainCombos ? { trainCombos } : {}),
    });
    const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
    const lines = [
      `Attribute accuracy of ${pipe.source} (${r.n} images, classifier ${cls.source}, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      '',
      '| combinations | hair | eyes | both |',
      '| --- | --- | --- | --- |',
      `| all ${combos.length} | ${pct(r.hair)} | ${pct(r.eyes)} | ${pct(r.both)} |`,
    ];
    if (trainCombos) {
      const seen = r.perCombo.filter((c) => c.inTraining);
      const avg = (k: 'hair' | 'eyes' | 'both'): number =>
        seen.reduce((a, c) => a + c.accuracy[k], 0) / Math.max(1, seen.length);
      lines.push(
        `| in the training data (${seen.length}) | ${pct(avg('hair'))} | ${pct(avg('eyes'))} | ${pct(avg('both'))} |`,
      );
      if (r.unseen)
        lines.push(
          `| absent from it (${r.unseen.combos}) | ${pct(r.unseen.hair)} | ${pct(r.unseen.eyes)} | ${pct(r.unseen.both)} |`,
        );
    }
    console.log(lines.join('\n'));
    if (values.json !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
      fs.writeFileSync(
        values.json,
        JSON.stringify({ model: pipe.source, classifier: cls.source, ...r }, null, 2) + '\n',
      );
    }
  } finally {
    pipe.dispose();
    cls.dispose();
  }
}
