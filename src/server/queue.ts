// Scale-out: with a Redis URL the API process puts generation jobs on a BullMQ queue and any number
// of `creativeai worker` processes, on any machines, take them and answer with PNGs. Workers run the
// same LocalGenerationService, so jobs that arrive together are batched there too.
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';

import { HttpError, QueueFullError, badRequest, noAttention } from './errors.js';
import type { LocalGenerationService } from './local-service.js';
import type { ModelCard } from './model-card.js';
import type { ModelRegistry } from './registry.js';
import type {
  AttentionRequest,
  AttentionResult,
  GenerateRequest,
  GenerateResult,
  GenerationService,
  GridRequest,
  InterpolateRequest,
  InvertRequest,
  InvertResult,
  InterpolateResult,
  StageImages,
} from './service.js';

export const QUEUE_NAME = 'creativeai-generate';

type JobData =
  | { kind: 'generate'; req: GenerateRequest }
  | { kind: 'interpolate'; req: InterpolateRequest }
  | { kind: 'grid'; req: GridRequest }
  | { kind: 'attention'; req: AttentionRequest }
  | { kind: 'invert'; req: Omit<InvertRequest, 'image'> & { image: string } };

type InvertJson = Omit<InvertResult, 'reconstruction'> & { reconstruction: string };

/** What a worker answers: PNGs as base64 (job results travel as JSON), or the client's error. */
type JobResult =
  { ok: true; value: unknown } | { ok: false; statusCode: number; message: string; headers?: Record<string, string> };

interface StagesJson {
  resolution: number;
  images: string[];
}

const toJson = (stages: StageImages[]): StagesJson[] =>
  stages.map((s) => ({ resolution: s.resolution, images: s.images.map((b) => b.toString('base64')) }));
const fromJson = (stages: StagesJson[]): StageImages[] =>
  stages.map((s) => ({ resolution: s.resolution, images: s.images.map((b) => Buffer.from(b, 'base64')) }));

type AttentionJson = Omit<AttentionResult, 'stages' | 'attention'> & {
  stages: StagesJson[];
  attention: { resolution: number; maps: string[] }[];
};

const attentionToJson = (r: AttentionResult): AttentionJson => ({
  ...r,
  stages: toJson(r.stages),
  attention: r.attention.map((a) => ({ resolution: a.resolution, maps: a.maps.map((b) => b.toString('base64')) })),
});
const attentionFromJson = (v: AttentionJson): AttentionResult => ({
  ...v,
  stages: fromJson(v.stages),
  attention: v.attention.map((a) => ({ resolution: a.resolution, maps: a.maps.map((b) => Buffer.from(b, 'base64')) })),
});

/** A Redis connection as BullMQ wants it (blocking commands must not give up). */
export function redisConnection(url: string, log: (m: string) => void = console.error): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  // ioredis reconnects by itself; say so once per outage instead of an unhandled 'error' per retry.
  let down = false;
  r.on('error', (e: Error) => {
    if (!down) log(`redis ${url}: ${e.message} (reconnecting)`);
    down = true;
  });
  r.on('ready', () => {
    down = false;
  });
  return r;
}

/**
 * BullMQ's queues and workers report each failed reconnect as an 'error' event (a stack trace per
 * retry when nobody listens); say each distinct message once instead.
 */
function reportOnce(
  emitters: { on(event: 'error', f: (e: Error) => void): unknown }[],
  log: (m: string) => void = console.error,
): void {
  let last = '';
  for (const e of emitters)
    e.on('error', (err: Error) => {
      if (err.message !== last) log(`redis: ${err.message}`);
      last = err.message;
    });
}

export interface QueueServiceOptions {
  /** Images this API process lets wait for workers before answering 503 (default 512). */
  maxQueueImages?: number;
  /** A job not finished after this long is answered 503 (default 60 s). */
  timeoutMs?: number;
  /** How often the connected workers are counted, for /healthz and failing fast (default 1 s). */
  workerPollMs?: number;
}

/** Resolves with `p`, or with undefined after `ms` (a close that waits on an unreachable Redis). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The API side: models are listed from the same directories the workers load them from. */
export class QueueGenerationService implements GenerationService {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly connections: Redis[];
  private pending = 0;
  /** Workers connected at the last count (-1 before the first). */
  private workers = -1;
  private counting = false;
  private poll?: NodeJS.Timeout;

  private constructor(
    private readonly registry: ModelRegistry,
    url: string,
    private readonly o: QueueServiceOptions,
  ) {
    this.connections = [redisConnection(url), redisConnection(url)];
    this.queue = new Queue(QUEUE_NAME, { connection: this.connections[0]! });
    this.events = new QueueEvents(QUEUE_NAME, { connection: this.connections[1]! });
    // Every waiting request listens for its job's end: as many listeners as requests in flight.
    this.queue.setMaxListeners(0);
    this.events.setMaxListeners(0);
    reportOnce([this.queue, this.events]);
  }

  static async connect(
    registry: ModelRegistry,
    url: string,
    o: QueueServiceOptions = {},
  ): Promise<QueueGenerationService> {
    const s = new QueueGenerationService(registry, url, o);
    await s.queue.waitUntilReady();
    await s.events.waitUntilReady();
    await s.countWorkers();
    s.poll = setInterval(() => void s.countWorkers(), o.workerPollMs ?? 1000).unref();
    return s;
  }

  private async countWorkers(): Promise<void> {
    if (this.counting) return; // the last count is still waiting on Redis
    this.counting = true;
    try {
      this.workers = (await this.queue.getWorkers()).length;
    } catch {
      this.workers = 0;
    } finally {
      this.counting = false;
    }
  }

  /** Degraded while Redis is unreachable or no worker is connected: requests then fail fast (503). */
  health(): { ok: boolean; reason?: string } {
    if (this.connections.some((c) => c.status !== 'ready')) return { ok: false, reason: 'Redis is unreachable' };
    if (this.workers === 0) return { ok: false, reason: 'no generation worker is connected to Redis' };
    return { ok: true };
  }

  models(): ModelCard[] {
    return this.registry.list();
  }
  card(name: string): ModelCard {
    return this.registry.card(name);
  }
  queueDepth(): number {
    return this.pending;
  }
  loadedModels(): string[] {
    return [];
  }

  /** Jobs waiting in Redis for any worker, from every API process. */
  async waiting(): Promise<number> {
    return this.queue.count();
  }

  private async run(data: JobData, images: number): Promise<unknown> {
    this.registry.card(data.req.model); // 404 before queueing
    const max = this.o.maxQueueImages ?? 512;
    if (this.pending + images > max) throw new QueueFullError(this.pending);
    this.pending += images;
    try {
      const job = await this.queue.add(data.kind, data, { removeOnComplete: { age: 60 }, removeOnFail: { age: 600 } });
      let result: JobResult;
      try {
        result = (await job.waitUntilFinished(this.events, this.o.timeoutMs ?? 60_000)) as JobResult;
      } catch (e) {
        const message = (e as Error).message;
        if (/timed out/i.test(message))
          throw new HttpError(503, 'no worker answered in time; try again later', { 'retry-after': '5' });
        throw new HttpError(503, `the worker failed: ${message}`, { 'retry-after': '1' });
      }
      if (!result.ok) throw new HttpError(result.statusCode, result.message, result.headers ?? {});
      return result.value;
    } finally {
      this.pending -= images;
    }
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const v = (await this.run({ kind: 'generate', req }, req.count)) as Omit<GenerateResult, 'stages'> & {
      stages: StagesJson[];
    };
    return { ...v, stages: fromJson(v.stages) };
  }

  async interpolate(req: InterpolateRequest): Promise<InterpolateResult> {
    const v = (await this.run({ kind: 'interpolate', req }, req.steps)) as Omit<InterpolateResult, 'stages'> & {
      stages: StagesJson[];
    };
    return { ...v, stages: fromJson(v.stages) };
  }

  async grid(req: GridRequest): Promise<Buffer> {
    // One image per non-blank line; the worker checks the file itself.
    const lines = req.tags.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '').length;
    const v = (await this.run({ kind: 'grid', req }, Math.max(1, lines))) as string;
    return Buffer.from(v, 'base64');
  }

  async attention(req: AttentionRequest): Promise<AttentionResult> {
    // The cards come from the same model folders the workers read: refuse here, without a job.
    if (!this.registry.card(req.model).attention) throw noAttention(req.model);
    return attentionFromJson((await this.run({ kind: 'attention', req }, 1)) as AttentionJson);
  }

  async invert(req: InvertRequest): Promise<InvertResult> {
    if (!this.registry.card(req.model).invert)
      throw badRequest(`${req.model} has several stages: invert takes one-stage models`);
    const v = (await this.run(
      { kind: 'invert', req: { ...req, image: req.image.toString('base64') } },
      1,
    )) as InvertJson;
    return { ...v, reconstruction: Buffer.from(v.reconstruction, 'base64') };
  }

  /** Closes the queue; with Redis unreachable it gives up waiting after a few seconds. */
  async close(): Promise<void> {
    clearInterval(this.poll);
    if (this.connections.some((c) => c.status !== 'ready')) for (const c of this.connections) c.disconnect();
    await within(Promise.all([this.queue.close(), this.events.close()]), 3000);
    for (const c of this.connections) c.disconnect();
  }
}

export interface WorkerOptions {
  /** Jobs taken at once; the local service batches those for the same model (default 16). */
  concurrency?: number;
  /**
   * A worker holds a lock on each job it runs and renews it; a job whose lock lapses (its worker was
   * killed) is put back for another worker by the next stall check. So a killed worker's jobs run
   * again within lockMs + stalledCheckMs (defaults 6 s and 2 s). lockMs must exceed the longest
   * forward pass, which blocks renewal.
   */
  lockMs?: number;
  stalledCheckMs?: number;
}

/** The worker side: takes jobs from Redis and runs them on this machine's LocalGenerationService. */
export async function startWorker(
  service: LocalGenerationService,
  url: string,
  o: WorkerOptions = {},
): Promise<{ worker: Worker; connected: () => boolean; close: () => Promise<void> }> {
  const connection = redisConnection(url);
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job<JobData>): Promise<JobResult> => {
      try {
        const d = job.data;
        if (d.kind === 'generate') {
          const r = await service.generate(d.req);
          return { ok: true, value: { ...r, stages: toJson(r.stages) } };
        }
        if (d.kind === 'interpolate') {
          const r = await service.interpolate(d.req);
          return { ok: true, value: { ...r, stages: toJson(r.stages) } };
        }
        if (d.kind === 'attention') return { ok: true, value: attentionToJson(await service.attention(d.req)) };
        if (d.kind === 'invert') {
          const r = await service.invert({ ...d.req, image: Buffer.from(d.req.image, 'base64') });
          return { ok: true, value: { ...r, reconstruction: r.reconstruction.toString('base64') } };
        }
        return { ok: true, value: (await service.grid(d.req)).toString('base64') };
      } catch (e) {
        // The client's mistakes go back as answers; anything else fails the job (and is logged).
        if (e instanceof HttpError)
          return { ok: false, statusCode: e.statusCode, message: e.message, headers: e.headers };
        throw e;
      }
    },
    {
      connection,
      concurrency: o.concurrency ?? 16,
      lockDuration: o.lockMs ?? 6000,
      stalledInterval: o.stalledCheckMs ?? 2000,
      // A job that stalls twice (killed two workers) fails, rather than killing every worker in turn.
      maxStalledCount: 2,
    },
  );
  reportOnce([worker]);
  await worker.waitUntilReady();
  return {
    worker,
    connected: () => connection.status === 'ready',
    close: async () => {
      // Finishes the jobs in hand; with Redis unreachable there is nobody to hand them to, so it stops.
      const down = connection.status !== 'ready';
      await within(worker.close(down), down ? 3000 : 60_000);
      connection.disconnect();
      await service.close();
    },
  };
}
