// `creativeai train`: a new run from a config, or the continuation of one.
import { parseArgs } from 'node:util';

import { describeSchema } from '../train/config.js';
import { MODELS } from '../train/recipes/index.js';
import { fullSchema } from '../train/schema.js';
import { train } from '../train/trainer.js';
import { UsageError } from './usage.js';

export const trainHelp = `Usage: creativeai train --config <file.yaml> [options]
       creativeai train --resume <run dir | checkpoint> [options]
       creativeai train --keys <model>

Trains a model from a versioned config (configs/*.yaml) in a run directory holding the resolved
config, seed, git commit, metrics, TensorBoard events, sample grids and checkpoints.

  --config <file>       a config file (see configs/)
  --resume <path>       continue a run exactly (its newest valid checkpoint, or the one given)
  --restart             with --resume: train from step 0 when every checkpoint is corrupt
  --device <d>          cpu | cuda | cuda:N (default: cuda when available)
  --set key=value       override a config value, e.g. --set train.steps=2000 (repeatable)
  --runs <dir>          parent folder of new runs (default runs)
  --run-dir <dir>       exact folder of a new run
  --time-limit <min>    stop with a checkpoint after this many minutes (resume to continue)
  --no-progress         no progress bar (log lines only)
  --keys <model>        list every config key of a model (type, default, meaning) and exit

Often set: train.steps, data.batchSize, train.precision (auto | fp32 | tf32 | bf16 | fp16; auto: bf16
on a CPU with native bfloat16, else fp32), train.memoryFormat (auto | contiguous | channelsLast),
optim.ema, train.standingStats (the EMA's batch-norm statistics recomputed for its own weights),
eval.samples (R-precision picks the best checkpoint), eval.classifier (tag GANs).
Every key and its meaning: creativeai train --keys <model>.

Ctrl-C finishes the current step, writes a checkpoint and exits; resume with --resume.`;

export async function trainCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      resume: { type: 'string' },
      restart: { type: 'boolean' },
      device: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      runs: { type: 'string' },
      'run-dir': { type: 'string' },
      'time-limit': { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
      keys: { type: 'string' },
    },
  });
  if (values.keys !== undefined) {
    if (!MODELS.includes(values.keys))
      throw new UsageError(`--keys: unknown model '${values.keys}' (known: ${MODELS.join(', ')})`, trainHelp);
    console.log(describeSchema(fullSchema(values.keys)).join('\n'));
    return;
  }
  if ((values.config === undefined) === (values.resume === undefined))
    throw new UsageError('give either --config (a new run) or --resume (an existing run)', trainHelp);
  if (values.restart && values.resume === undefined)
    throw new UsageError('--restart goes with --resume (a run whose checkpoints are all corrupt)', trainHelp);
  const limit = values['time-limit'] === undefined ? undefined : Number(values['time-limit']);
  if (limit !== undefined && !(limit > 0))
    throw new UsageError(`--time-limit must be a positive number of minutes, got '${values['time-limit']}'`, trainHelp);
  const result = await train({
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.resume !== undefined ? { resume: values.resume } : {}),
    ...(values.restart ? { restart: true } : {}),
    ...(values.device !== undefined ? { device: values.device as 'cpu' } : {}),
    sets: values.set!,
    ...(values.runs !== undefined ? { runsRoot: values.runs } : {}),
    ...(values['run-dir'] !== undefined ? { runDir: values['run-dir'] } : {}),
    ...(limit !== undefined ? { timeLimitMinutes: limit } : {}),
    progress: !values['no-progress'],
  });
  console.log(result.runDir);
  if (result.interrupted) process.exitCode = 130;
}
