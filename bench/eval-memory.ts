// `npm run bench:eval-memory -- --model <checkpoint|run|export> --damsm <DAMSM> --dataset <cache>`:
// peak memory and time of the checkpoint evaluation a caption GAN's training runs (R-precision and
// FID, src/eval/checkpoint-metric.ts) with images generated 64 at a time (the reference: what it did
// before) and EVAL_CHUNK at a time (what it does). Each runs in a fresh process that keeps freed
// memory as the trainer does (retainFreedCpuMemory), so its peak resident size (maxRSS) is what an
// evaluation adds to a training process. The scores are printed beside: the noise is the same.
// Options: --samples N (R-precision captions, default 500), --fid N (images, default 500),
//   --threads N (default 1, as the long runs train), --chunks 64,16 (default 64 and EVAL_CHUNK).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { CacheReader } from '../src/data/index.js';
import { retainFreedCpuMemory, setNumThreads } from '../src/engine/index.js';
import { EVAL_CHUNK, rPrecisionMetric, withFid, type Sampler } from '../src/eval/checkpoint-metric.js';
import { loadDamsmNetwork } from '../src/eval/feature-network.js';
import { TextToImagePipeline } from '../src/inference/pipeline.js';
import { peakRssBytes } from './peak-rss.js';

interface Measured {
  chunk: number;
  seconds: number;
  peakGB: number;
  scores: Record<string, number>;
}

/** The process's peak resident memory in GB. */
function peakGB(): number {
  return peakRssBytes() / 1e9;
}

async function child(v: Record<string, string>): Promise<Measured> {
  setNumThreads(Number(v.threads));
  retainFreedCpuMemory();
  const chunk = Number(v.chunk);
  const pipeline = TextToImagePipeline.load(v.model!, 'cpu', { precision: 'fp32' });
  const records = CacheReader.open(v.dataset!).records;
  const { conditioner, image, network } = loadDamsmNetwork(v.damsm!);
  const side = pipeline.resolution;
  const metric = withFid(
    rPrecisionMetric({ text: conditioner, image: image! }, { samples: Number(v.samples), seed: 2000, records, chunk }),
    network,
    { dataset: v.dataset!, side, samples: Number(v.fid), seed: 4000, records, chunk },
  );
  const sampler: Sampler = {
    noiseDim: pipeline.noiseDim,
    device: 'cpu',
    conditioner: pipeline.conditioner,
    images: (z, captions) => pipeline.generateFrom(z, captions),
    inEvalMode: (fn) => fn(), // the pipeline samples in eval mode
  };
  const t0 = performance.now();
  const scores = await metric.measure(sampler);
  const seconds = (performance.now() - t0) / 1000;
  metric.dispose();
  pipeline.dispose();
  return { chunk, seconds, peakGB: peakGB(), scores };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      damsm: { type: 'string', default: 'assets/damsm-cub-species.safetensors' },
      dataset: { type: 'string', default: 'data/cub' },
      samples: { type: 'string', default: '500' },
      fid: { type: 'string', default: '500' },
      threads: { type: 'string', default: '1' },
      chunks: { type: 'string', default: `64,${EVAL_CHUNK}` },
      chunk: { type: 'string' },
    },
    strict: true,
  });
  if (values.model === undefined) throw new TypeError('--model <checkpoint | run | export> is required');
  if (values.chunk !== undefined) {
    process.stdout.write(JSON.stringify(await child(values as Record<string, string>)));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const runs: Measured[] = values.chunks.split(',').map((c) => {
    const args = Object.entries(values).flatMap(([k, x]) => (k === 'chunks' ? [] : [`--${k}`, String(x)]));
    const out = execFileSync(process.execPath, [self, ...args, '--chunk', c], { encoding: 'utf8' });
    return JSON.parse(out) as Measured;
  });
  const ref = runs[0]!;
  console.log(
    `checkpoint evaluation of ${values.model}: ${values.samples} R-precision captions, ${values.fid} FID images`,
  );
  for (const r of runs)
    console.log(
      `  ${String(r.chunk).padStart(3)} at a time: peak ${r.peakGB.toFixed(2)} GB (${(r.peakGB / ref.peakGB).toFixed(2)} ×), ` +
        `${r.seconds.toFixed(1)} s (${(r.seconds / ref.seconds).toFixed(2)} ×); ` +
        Object.entries(r.scores)
          .map(([k, x]) => `${k} ${x.toFixed(5)}`)
          .join(', '),
    );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
