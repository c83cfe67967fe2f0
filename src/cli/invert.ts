// `creativeai invert`: the latent of an image (image → z by optimisation through the generator).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { cat, pickDevice, type Tensor } from '../engine/index.js';
import { imageToTensor, saveGrid } from '../io/index.js';
import { psnrDb, type LatentFile } from '../inference/latent-file.js';
import { TextToImagePipeline } from '../inference/pipeline.js';
import { project } from '../inference/projection.js';
import { measureInversion } from '../eval/inversion.js';
import { UsageError, intOption } from './usage.js';

export const invertHelp = `Usage: creativeai invert --model <run|checkpoint|export> --image face.png --text "…" --out latent.json

Finds the noise whose image, for the given caption or tags, reproduces an image: it optimises z
through the frozen generator (several starting points side by side, the closest kept). Re-render the
latent with other tags or another caption: creativeai sample --model … --latent latent.json --text "…".

  --model <path>       a run directory, a checkpoint or an exported model
  --image <file>       PNG, JPEG or WebP; scaled and centre-cropped to the model's side
  --text "<caption>"   what the image shows, as the model reads it ("blue hair red eyes" for tags)
  --out <file.json>    where the latent goes (default latent.json)
  --preview <file.png> also write the target and its reconstruction side by side
  --steps <n>          optimisation steps (default 300)
  --starts <n>         starting points optimised together (default 4)
  --seed <n>           seed of the starting points (default 0)
  --encoder <path>     a latent-encoder run or export for the first guess (default: the model's
                       <name>.encoder.safetensors when there is one)
  --no-encoder         start from random noise only
  --device <d>         cpu | cuda | cuda:N (default: cuda when available)

Measuring it (tag models): creativeai invert --model … --measure --dataset data/anime [--n 24] [--json f]
projects n held-out faces of the dataset's --split (default test) and n generated faces, with the
encoder's first guess and without, and prints the reconstruction error and the time per image.`;

export async function invertCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      image: { type: 'string' },
      text: { type: 'string' },
      out: { type: 'string', default: 'latent.json' },
      preview: { type: 'string' },
      steps: { type: 'string', default: '300' },
      starts: { type: 'string', default: '4' },
      seed: { type: 'string', default: '0' },
      encoder: { type: 'string' },
      'no-encoder': { type: 'boolean', default: false },
      measure: { type: 'boolean', default: false },
      dataset: { type: 'string' },
      split: { type: 'string', default: 'test' },
      n: { type: 'string', default: '24' },
      json: { type: 'string' },
      device: { type: 'string' },
    },
  });
  if (values.measure) return measureCommand(values);
  for (const k of ['model', 'image', 'text'] as const)
    if (values[k] === undefined || values[k].trim() === '') throw new UsageError(`--${k} is required`, invertHelp);
  const steps = intOption('--steps', values.steps!);
  const starts = intOption('--starts', values.starts!);
  const seed = intOption('--seed', values.seed!);
  if (steps < 1 || steps > 100_000) throw new UsageError(`--steps must be 1–100000, got ${steps}`, invertHelp);
  if (starts < 1 || starts > 64) throw new UsageError(`--starts must be 1–64, got ${starts}`, invertHelp);
  if (!fs.existsSync(values.image!)) throw new UsageError(`--image ${values.image}: no such file`, invertHelp);

  const started = Date.now();
  const pipe = TextToImagePipeline.load(values.model!, pickDevice(values.device), {
    ...(values.encoder !== undefined ? { encoder: values.encoder } : {}),
  });
  try {
    let target: Tensor;
    try {
      target = await imageToTensor(values.image!, { size: pipe.resolution });
    } catch (e) {
      throw new Error(`--image ${values.image}: not an image this can read (${(e as Error).message})`, { cause: e });
    }
    using x = target;
    let shown = 0;
    const r = await project(pipe, x, values.text!.trim(), {
      steps,
      starts,
      seed,
      encoder: !values['no-encoder'] && pipe.encoder !== undefined,
      onProgress: (step, total, loss) => {
        if (step === total || step >= shown + total / 10) {
          shown = step;
          process.stderr.write(
            `invert ${step}/${total}: mse ${loss.toFixed(4)} (PSNR ${psnrDb(loss).toFixed(1)} dB)\n`,
          );
        }
      },
    });
    if (r.encoderMse !== undefined)
      process.stderr.write(
        `the encoder's first guess: mse ${r.encoderMse.toFixed(4)} (PSNR ${psnrDb(r.encoderMse).toFixed(1)} dB)\n`,
      );
    using z = r.z;
    const seconds = (Date.now() - started) / 1000;
    const latent: LatentFile = {
      model: values.model!,
      text: values.text!.trim(),
      z: Array.from(z.toArray() as number[][])[0]!,
      mse: r.mse,
      psnrDb: psnrDb(r.mse),
      steps,
      starts,
      seconds,
    };
    fs.mkdirSync(path.dirname(path.resolve(values.out!)), { recursive: true });
    fs.writeFileSync(values.out!, `${JSON.stringify(latent)}\n`);
    if (values.preview !== undefined) {
      using zd = z.to(pipe.device);
      using back = pipe.generateFrom(zd, [latent.text]);
      using x4 = x.reshape(1, 3, pipe.resolution, pipe.resolution);
      using pair = cat([x4, back], 0);
      await saveGrid(pair, values.preview, { nrow: 2 });
    }
    console.error(
      `latent of ${values.image} → ${values.out}: mse ${r.mse.toFixed(4)}, PSNR ${latent.psnrDb.toFixed(1)} dB, ${seconds.toFixed(1)} s${values.preview !== undefined ? `; side by side: ${values.preview}` : ''}`,
    );
  } finally {
    pipe.dispose();
  }
}

type Values = { [k: string]: string | boolean | undefined };

/** --measure: reconstruction error and time on held-out and generated faces, with and without the encoder. */
async function measureCommand(values: Values): Promise<void> {
  const model = values.model as string | undefined;
  const dataset = values.dataset as string | undefined;
  if (model === undefined || dataset === undefined)
    throw new UsageError('--measure needs --model and --dataset', invertHelp);
  const split = values.split as string;
  if (split !== 'train' && split !== 'val' && split !== 'test')
    throw new UsageError(`--split must be train, val or test, got ${split}`, invertHelp);
  const n = intOption('--n', values.n as string);
  const steps = intOption('--steps', values.steps as string);
  const starts = intOption('--starts', values.starts as string);
  const pipe = TextToImagePipeline.load(model, pickDevice(values.device as string | undefined), {
    ...(values.encoder !== undefined ? { encoder: values.encoder as string } : {}),
  });
  try {
    const settings = pipe.encoder !== undefined && !values['no-encoder'] ? [true, false] : [false];
    const results = [];
    for (const encoder of settings) {
      const r = await measureInversion(pipe, {
        dataset,
        split,
        n,
        steps,
        starts,
        encoder,
        onImage: (set, done, total) => {
          if (done === total || done % 8 === 0)
            process.stderr.write(`${encoder ? 'encoder + ' : ''}optimisation, ${set}: ${done}/${total}\n`);
        },
      });
      results.push(r);
    }
    console.log(
      `| start | faces | images | PSNR of the guess | PSNR after ${steps} steps × ${starts} starts | s per image |`,
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const r of results)
      for (const set of ['real', 'generated'] as const) {
        const s = r[set];
        console.log(
          `| ${r.encoder ? 'encoder' : 'random'} | ${set === 'real' ? `held-out (${r.split})` : 'generated'} | ${s.images} | ${s.encoderPsnrDb === null ? '–' : `${s.encoderPsnrDb.toFixed(1)} dB`} | ${s.psnrDb.toFixed(1)} dB (mse ${s.mse.toFixed(4)}) | ${s.secondsPerImage.toFixed(1)} |`,
        );
      }
    if (values.json !== undefined) {
      const file = values.json as string;
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      fs.writeFileSync(
        file,
        `${JSON.stringify({ command: `creativeai invert ${process.argv.slice(3).join(' ')}`, results }, null, 2)}\n`,
      );
    }
  } finally {
    pipe.dispose();
  }
}
