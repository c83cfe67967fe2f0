// `creativeai serve`: the web page and HTTP API on port 8050 (the seed demo's port), and
// `creativeai worker`: a model worker taking generation jobs from Redis.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import {
  LocalGenerationService,
  ModelRegistry,
  PACKAGE_ROOT,
  QueueGenerationService,
  buildApp,
  startWorker,
  ThreadGenerationService,
  type GenerationService,
  ServerMetrics,
} from '../server/index.js';
import { pickDevice } from '../engine/index.js';
import { serveHelp, workerHelp } from './serve-help.js';
import { UsageError, intOption } from './usage.js';

const commonOptions = {
  models: { type: 'string', multiple: true },
  device: { type: 'string' },
  'memory-limit': { type: 'string', default: '2048' },
  'max-batch': { type: 'string', default: '64' },
} as const;

interface Common {
  models?: string[] | undefined;
  device?: string | undefined;
  'memory-limit'?: string | undefined;
  'max-batch'?: string | undefined;
}

function positive(name: string, v: string, help: string): number {
  const n = intOption(name, v);
  if (n < 1) throw new UsageError(`${name} must be at least 1, got ${n}`, help);
  return n;
}

function modelDirs(values: Common): string[] {
  if (values.models !== undefined && values.models.length > 0) return values.models;
  const env = process.env.CREATIVEAI_MODELS;
  if (env !== undefined && env !== '') return env.split(':');
  return [path.join(PACKAGE_ROOT, 'models')];
}

function registryOf(values: Common, help: string, metrics?: ServerMetrics): ModelRegistry {
  const registry = new ModelRegistry(modelDirs(values), {
    device: pickDevice(values.device),
    memoryLimitBytes: positive('--memory-limit', values['memory-limit']!, help) * 2 ** 20,
    onLoad: (name, s) => metrics?.modelLoadSeconds.observe({ model: name }, s),
    log: (m) => console.error(m),
  });
  if (registry.list().length === 0)
    throw new Error(`no models found in ${registry.dirs.join(', ')} (${registry.problems.join('; ') || 'empty'})`);
  return registry;
}

/** Generation on a thread of this process: the HTTP thread never waits on a forward pass. */
async function threadService(values: Common, metrics: ServerMetrics): Promise<ThreadGenerationService> {
  const registry = registryOf(values, serveHelp);
  const service = new ThreadGenerationService(registry, {
    memoryLimitBytes: positive('--memory-limit', values['memory-limit']!, serveHelp) * 2 ** 20,
    maxBatchImages: positive('--max-batch', values['max-batch']!, serveHelp),
    onLoad: (name, s) => metrics.modelLoadSeconds.observe({ model: name }, s),
    onBatch: (model, images, s) => metrics.onBatch(model, images, s),
    log: (m) => console.error(m),
  });
  await service.ready();
  return service;
}

/**
 * Resolves on SIGINT/SIGTERM, after `close`. The process then exits even if a client library still
 * holds a handle (ioredis retrying an unreachable Redis), so one signal always stops it.
 */
function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      console.error(`${sig}: shutting down`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void close().then(() => {
        setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...commonOptions,
      port: { type: 'string', default: process.env.PORT ?? '8050' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      redis: { type: 'string', default: process.env.REDIS_URL },
      'game-stats': { type: 'string', default: 'runs/game-stats.json' },
      log: { type: 'boolean', default: false },
      'max-queue': { type: 'string', default: '4096' },
      'max-client': { type: 'string', default: '1024' },
      slice: { type: 'string', default: '48' },
      'trust-proxy': { type: 'string' },
    },
  });
  const scheduling = {
    maxQueueCost: positive('--max-queue', values['max-queue']!, serveHelp),
    maxClientCost: positive('--max-client', values['max-client']!, serveHelp),
    sliceCost: positive('--slice', values.slice!, serveHelp),
  };
  const proxy = values['trust-proxy'];
  const trustProxy = proxy === undefined || proxy === 'false' ? undefined : proxy === 'true' ? true : proxy;
  const port = intOption('--port', values.port!);
  if (port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, got ${port}`, serveHelp);
  // The metrics read the service and the service reports to the metrics.
  let service: GenerationService | undefined;
  const metrics = new ServerMetrics(
    () => service?.queueDepth() ?? 0,
    () => service?.loadedModels().length ?? 0,
  );
  const redis = values.redis === '' ? undefined : values.redis;
  if (redis !== undefined) {
    const registry = new ModelRegistry(modelDirs(values), { log: (m) => console.error(m) });
    // Admission and fair shares are decided here; Redis holds only what is dispatched.
    service = await QueueGenerationService.connect(registry, redis, { maxQueueImages: Number.MAX_SAFE_INTEGER });
  } else service = await threadService(values, metrics);
  const app = await buildApp({
    service,
    metrics,
    mode: redis !== undefined ? 'queue' : 'local',
    game: { statsFile: values['game-stats']! },
    logger: values.log!,
    // Several Redis workers take several slices at once; one generation thread takes one.
    scheduling: { ...scheduling, concurrency: redis !== undefined ? 8 : 1 },
    ...(trustProxy !== undefined ? { trustProxy } : {}),
  });
  await app.listen({ port, host: values.host! });
  const address = app.server.address();
  const shown = typeof address === 'object' && address !== null ? address.port : port;
  console.error(
    `CreativeAI on http://${values.host === '0.0.0.0' ? 'localhost' : values.host}:${shown}/ — ${service.models().length} models (${service
      .models()
      .map((m) => m.name)
      .join(
        ', ',
      )}), ${redis !== undefined ? `jobs queued on ${redis}` : 'generating on a thread of this process'}; API docs at /docs`,
  );
  await untilSignal(async () => {
    await app.close();
    await service!.close();
  });
}

export async function workerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...commonOptions,
      redis: { type: 'string', default: process.env.REDIS_URL },
      concurrency: { type: 'string', default: '16' },
      heartbeat: { type: 'string' },
      'max-queue': { type: 'string', default: '512' },
    },
  });
  if (values.redis === undefined || values.redis === '')
    throw new UsageError('--redis <url> (or $REDIS_URL) is required', workerHelp);
  const service = new LocalGenerationService(registryOf(values, workerHelp), {
    maxBatchImages: positive('--max-batch', values['max-batch']!, workerHelp),
    maxQueueImages: positive('--max-queue', values['max-queue']!, workerHelp),
  });
  const w = await startWorker(service, values.redis, {
    concurrency: positive('--concurrency', values.concurrency!, workerHelp),
  });
  console.error(`worker ready on ${values.redis}: ${service.models().length} models on ${service.registry.device}`);
  const heartbeatFile = values.heartbeat;
  const beat = (): void => {
    if (heartbeatFile !== undefined && w.worker.isRunning() && w.connected())
      fs.writeFileSync(heartbeatFile, String(Date.now()));
  };
  beat();
  const timer = setInterval(beat, 5000);
  await untilSignal(async () => {
    clearInterval(timer);
    await w.close();
  });
}
