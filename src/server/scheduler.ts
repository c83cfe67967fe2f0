// Fair scheduling of generation work between clients, in front of whatever makes the images (the
// generation thread, an in-process batcher or Redis workers).
//
// A request's cost is its images × pixels, counted in 64×64-image units summed over the model's
// stages (a StackGAN 64+256 px image costs 17). Large requests are cut into slices of at most
// `sliceCost`, so nothing light ever waits behind more than one slice. Slices are ordered by
// start-time fair queueing (Goyal et al. 1996): each client's slices get virtual start tags that
// follow on from its own previous work, or from now, whichever is later, so every client with work
// waiting gets an equal share of generation time by cost, whatever the others ask for. Slices of one
// model that are due together go out together, and the executor batches them into one forward pass.
//
// Work is a job with an id: the synchronous routes wait for it; the /api/jobs routes return the id
// at once and clients poll its position, progress and ETA, or cancel it.
import crypto from 'node:crypto';

import { HttpError, QueueFullError, badRequest, noAttention, tooManyRequests } from './errors.js';
import { gridCaptions } from './grid.js';
import type { ModelCard } from './model-card.js';
import type {
  AttentionRequest,
  AttentionResult,
  GenerateRequest,
  GenerateResult,
  GenerationService,
  GridRequest,
  InterpolateRequest,
  InterpolateResult,
  InvertRequest,
  InvertResult,
} from './service.js';

export type JobKind = 'generate' | 'interpolate' | 'attention' | 'grid' | 'invert';

/**
 * An invert step (forward and backward through G for every start, batch ≤ 4) in 64×64-image units:
 * a small batch's backward pass costs about as much per step as (2 + starts) images in a large
 * forward batch on the CPU. An estimate for fair shares; the measured speed corrects the ETA.
 */
const invertUnitsPerStep = (starts: number): number => 2 + starts;
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface SchedulerOptions {
  /** Queued cost past which new work is refused with 503 + Retry-After (default 4096 units). */
  maxQueueCost?: number;
  /** One client's queued cost past which its new work is refused with 429 + Retry-After (default 1024). */
  maxClientCost?: number;
  /** The most cost dispatched at once; bounds how long light work waits behind heavy (default 48). */
  sliceCost?: number;
  /** Dispatches in flight at once: 1 for one generation thread, more for several Redis workers. */
  concurrency?: number;
  /** How long a finished job stays readable at GET /api/jobs/:id (default 5 minutes). */
  keepMs?: number;
  /** Where failures that are not the client's fault are reported (they answer 500). */
  log?: (message: string) => void;
}

/** What GET /api/jobs/:id says about a job while it waits or runs. */
export interface JobStatus {
  id: string;
  kind: JobKind;
  model: string;
  state: JobState;
  /** Jobs of any client that will run before this one's next slice (0 once it runs). */
  position: number;
  /** Images finished and in all. */
  done: number;
  total: number;
  /** Estimated milliseconds until it finishes, from the measured speed of each model. */
  etaMs: number;
  /** The client's error (statusCode < 500) or that the server failed. */
  error?: { statusCode: number; message: string };
}

type Result = GenerateResult | InterpolateResult | AttentionResult | InvertResult | Buffer;

interface Slice {
  job: Job;
  /** Its place in the job: parts are joined in this order whatever order they finish in. */
  index: number;
  /** The request this slice runs (a generate request's rows, or the whole request). */
  run: () => Promise<unknown>;
  images: number;
  cost: number;
  /** Virtual start and finish tags. */
  start: number;
  finish: number;
  /** Arrival order, which breaks ties between equal start tags. */
  seq: number;
}

/** Whether slice a runs before slice b. */
const before = (a: Slice, b: Slice): boolean => a.start < b.start || (a.start === b.start && a.seq < b.seq);

interface Job {
  id: string;
  client: string;
  kind: JobKind;
  model: string;
  state: JobState;
  total: number;
  done: number;
  cost: number;
  /** Cost of the slices still queued (not dispatched). */
  queuedCost: number;
  created: number;
  firstDispatch?: number;
  parts: unknown[];
  result?: Result;
  /** How a polling client reads the result (the synchronous route's reply); the result as is when absent. */
  view?: (r: Result) => unknown;
  reply?: unknown;
  error?: Error;
  settle: { resolve: (r: Result) => void; reject: (e: Error) => void };
  promise: Promise<Result>;
}

const UNIT = 64 * 64;

export class FairScheduler implements GenerationService {
  private readonly queue: Slice[] = [];
  private readonly jobs = new Map<string, Job>();
  /** Each client's virtual finish tag: where its next slice starts if it is behind. */
  private readonly clientFinish = new Map<string, number>();
  private readonly clientQueued = new Map<string, number>();
  /** Virtual time: the start tag of the latest dispatched slice. */
  private virtual = 0;
  private seq = 0;
  private inFlight = 0;
  private queuedCost = 0;
  private runningImages = 0;
  /** Estimated seconds of the slices being generated now. */
  private runningSeconds = 0;
  /** Measured seconds per cost unit, per model (exponential moving average). */
  private readonly speed = new Map<string, number>();
  private closed = false;
  readonly maxQueueCost: number;
  readonly maxClientCost: number;
  readonly sliceCost: number;
  readonly concurrency: number;
  private readonly keepMs: number;

  constructor(
    readonly executor: GenerationService,
    private readonly o: SchedulerOptions = {},
  ) {
    this.maxQueueCost = o.maxQueueCost ?? 4096;
    this.maxClientCost = o.maxClientCost ?? 1024;
    this.sliceCost = o.sliceCost ?? 48;
    this.concurrency = o.concurrency ?? 1;
    this.keepMs = o.keepMs ?? 5 * 60_000;
  }

  // ---- GenerationService: the synchronous routes -------------------------------------------------

  models(): ModelCard[] {
    return this.executor.models();
  }
  card(name: string): ModelCard {
    return this.executor.card(name);
  }
  loadedModels(): string[] {
    return this.executor.loadedModels();
  }
  /** Images queued or being generated. */
  queueDepth(): number {
    let images = this.runningImages;
    for (const s of this.queue) images += s.images;
    return images;
  }
  health(): { ok: boolean; reason?: string } {
    return this.executor.health?.() ?? { ok: true };
  }

  generate(req: GenerateRequest, client = 'anonymous'): Promise<GenerateResult> {
    return this.submit('generate', req, client).promise as Promise<GenerateResult>;
  }
  interpolate(req: InterpolateRequest, client = 'anonymous'): Promise<InterpolateResult> {
    return this.submit('interpolate', req, client).promise as Promise<InterpolateResult>;
  }
  grid(req: GridRequest, client = 'anonymous'): Promise<Buffer> {
    return this.submit('grid', req, client).promise as Promise<Buffer>;
  }
  attention(req: AttentionRequest, client = 'anonymous'): Promise<AttentionResult> {
    return this.submit('attention', req, client).promise as Promise<AttentionResult>;
  }
  invert(req: InvertRequest, client = 'anonymous'): Promise<InvertResult> {
    return this.submit('invert', req, client).promise as Promise<InvertResult>;
  }

  // ---- jobs ---------------------------------------------------------------------------------------

  /**
   * Queues a request and returns its job id at once; throws (404, 429, 503) when it cannot be queued.
   * `promise` settles with the result (synchronous routes await it).
   */
  submit(
    kind: JobKind,
    req: GenerateRequest | InterpolateRequest | AttentionRequest | GridRequest | InvertRequest,
    client: string,
    /** view: how a polling client reads the result; without it the job is gone once it settles. */
    view?: (r: Result) => unknown,
  ): { id: string; promise: Promise<Result> } {
    if (this.closed) throw new HttpError(503, 'the server is shutting down', { 'retry-after': '5' });
    const health = this.health();
    if (!health.ok)
      throw new HttpError(503, `generation is unavailable: ${health.reason ?? 'no worker'}`, { 'retry-after': '5' });
    const card = this.executor.card(req.model); // 404 before queueing
    // The client's mistakes that need no model answer now, without a queue slot.
    if (kind === 'attention' && !card.attention) throw noAttention(req.model);
    if (kind === 'grid') gridCaptions((req as GridRequest).tags);
    if (kind === 'invert' && !card.invert)
      throw badRequest(`${req.model} has several stages: invert takes one-stage models`);
    const perImage = card.resolutions.reduce((a, r) => a + (r * r) / UNIT, 0);
    const images = imagesOfRequest(kind, req);
    const cost = images * perImage;

    if (cost > this.maxQueueCost)
      throw new HttpError(
        400,
        `this request costs ${cost} units, more than this server queues at once (${this.maxQueueCost}); ask for fewer images`,
      );
    const queuedByClient = this.clientQueued.get(client) ?? 0;
    if (queuedByClient > 0 && queuedByClient + cost > this.maxClientCost)
      throw tooManyRequests(
        `you have ${Math.round(queuedByClient)} units of work queued (limit ${this.maxClientCost}; ` +
          `a ${card.resolutions.at(-1)} px image costs ${perImage})`,
        this.retryAfter(queuedByClient),
      );
    if (this.queuedCost + cost > this.maxQueueCost)
      throw new QueueFullError(this.queueDepth(), this.retryAfter(this.queuedCost + cost - this.maxQueueCost));

    let settle!: Job['settle'];
    const promise = new Promise<Result>((resolve, reject) => (settle = { resolve, reject }));
    // Nobody may be awaiting a polled job's promise: its failure is read from the status instead.
    promise.catch(() => undefined);
    const job: Job = {
      id: crypto.randomBytes(12).toString('base64url'),
      client,
      kind,
      model: req.model,
      state: 'queued',
      total: images,
      done: 0,
      cost,
      queuedCost: cost,
      created: performance.now(),
      parts: [],
      ...(view !== undefined ? { view } : {}),
      settle,
      promise,
    };
    this.jobs.set(job.id, job);

    // Slices: a generate request's rows in runs of at most sliceCost; the other kinds run whole.
    const runs: { run: () => Promise<unknown>; images: number }[] = [];
    if (kind === 'generate') {
      const g = req as GenerateRequest;
      const step = Math.max(1, Math.floor(this.sliceCost / perImage));
      for (let from = 0; from < g.count; from += step) {
        const rows = [from, Math.min(g.count, from + step)] as const;
        runs.push({ run: () => this.executor.generate({ ...g, rows }), images: rows[1] - rows[0] });
      }
    } else if (kind === 'interpolate')
      runs.push({ run: () => this.executor.interpolate(req as InterpolateRequest), images });
    else if (kind === 'attention') runs.push({ run: () => this.executor.attention(req as AttentionRequest), images });
    else if (kind === 'invert') runs.push({ run: () => this.executor.invert(req as InvertRequest), images });
    else runs.push({ run: () => this.executor.grid(req as GridRequest), images });

    let tag = Math.max(this.virtual, this.clientFinish.get(client) ?? 0);
    for (const [index, r] of runs.entries()) {
      const c = r.images * perImage;
      this.queue.push({
        job,
        index,
        run: r.run,
        images: r.images,
        cost: c,
        start: tag,
        finish: tag + c,
        seq: this.seq++,
      });
      tag += c;
    }
    this.clientFinish.set(client, tag);
    this.clientQueued.set(client, queuedByClient + cost);
    this.queuedCost += cost;
    this.pump();
    return { id: job.id, promise };
  }

  /** A job's status, or undefined for an id that never existed or has expired. */
  status(id: string): (JobStatus & { result?: unknown }) | undefined {
    const job = this.jobs.get(id);
    if (job === undefined) return undefined;
    const mine = this.queue.filter((s) => s.job === job);
    let position = 0;
    let etaSeconds = 0;
    if (mine.length > 0) {
      const first = mine.reduce((a, b) => (before(b, a) ? b : a));
      const last = mine.reduce((a, b) => (before(a, b) ? b : a));
      const ahead = new Set<Job>();
      for (const s of this.queue) {
        if (s.job !== job && before(s, first)) ahead.add(s.job);
        if (s === last || before(s, last)) etaSeconds += s.cost * this.secondsPerUnit(s.job.model);
      }
      position = job.state === 'running' ? 0 : ahead.size;
    }
    // Whatever is under way now is half done, on average.
    if (job.state === 'running' || job.state === 'queued') etaSeconds += this.runningSeconds / 2;
    const s: JobStatus & { result?: unknown } = {
      id: job.id,
      kind: job.kind,
      model: job.model,
      state: job.state,
      position,
      done: job.done,
      total: job.total,
      etaMs: job.state === 'queued' || job.state === 'running' ? Math.round(etaSeconds * 1000) : 0,
    };
    if (job.error !== undefined)
      s.error =
        job.error instanceof HttpError
          ? { statusCode: job.error.statusCode, message: job.error.message }
          : { statusCode: 500, message: 'the server failed; the error was logged' };
    if (job.result !== undefined) s.result = job.reply ??= job.view?.(job.result) ?? job.result;
    return s;
  }

  /** Cancels a queued or running job (its running slice finishes and is thrown away). */
  cancel(id: string): JobStatus | undefined {
    const job = this.jobs.get(id);
    if (job === undefined) return undefined;
    if (job.state === 'queued' || job.state === 'running') {
      this.dropQueued(job);
      this.finish(job, 'cancelled', undefined, new HttpError(409, 'the job was cancelled'));
    }
    return this.status(id);
  }

  // ---- dispatch -----------------------------------------------------------------------------------

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const group = this.takeGroup();
      this.inFlight++;
      void this.dispatch(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /**
   * The slice with the earliest start tag, and the next-earliest generate slices of the same model up
   * to `sliceCost` in all: one forward pass for many small requests, and whatever it passes over waits
   * at most this one group.
   */
  private takeGroup(): Slice[] {
    let best = 0;
    for (let i = 1; i < this.queue.length; i++) if (before(this.queue[i]!, this.queue[best]!)) best = i;
    const head = this.queue.splice(best, 1)[0]!;
    this.virtual = Math.max(this.virtual, head.start);
    const group = [head];
    if (head.job.kind !== 'generate') return group;
    let cost = head.cost;
    const due = this.queue
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => s.job.kind === 'generate' && s.job.model === head.job.model)
      .sort((a, b) => (before(a.s, b.s) ? -1 : 1));
    const taken: number[] = [];
    for (const { s, i } of due) {
      if (cost + s.cost > this.sliceCost) break;
      group.push(s);
      taken.push(i);
      cost += s.cost;
    }
    for (const i of taken.sort((a, b) => b - a)) this.queue.splice(i, 1);
    return group;
  }

  private async dispatch(group: Slice[]): Promise<void> {
    const started = performance.now();
    let cost = 0;
    for (const s of group) {
      const job = s.job;
      job.queuedCost -= s.cost;
      this.queuedCost -= s.cost;
      this.clientQueued.set(job.client, (this.clientQueued.get(job.client) ?? 0) - s.cost);
      if (this.clientQueued.get(job.client)! <= 1e-9) this.clientQueued.delete(job.client);
      if (job.state === 'queued') {
        job.state = 'running';
        job.firstDispatch = started;
      }
      this.runningImages += s.images;
      cost += s.cost;
    }
    const estimate = cost * this.secondsPerUnit(group[0]!.job.model);
    this.runningSeconds += estimate;
    const outcomes = await Promise.allSettled(group.map((s) => s.run()));
    this.runningSeconds -= estimate;
    const seconds = (performance.now() - started) / 1000;
    const model = group[0]!.job.model;
    const before = this.speed.get(model);
    const measured = seconds / cost;
    this.speed.set(model, before === undefined ? measured : 0.7 * before + 0.3 * measured);
    group.forEach((s, k) => {
      this.runningImages -= s.images;
      const job = s.job;
      if (job.state !== 'running') return; // cancelled or failed meanwhile: the result is dropped
      const outcome = outcomes[k]!;
      if (outcome.status === 'rejected') {
        this.dropQueued(job);
        const e = outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason));
        // A waiting client's route logs its 500; nobody waits on a polled job, so it is logged here.
        if (!(e instanceof HttpError) && job.view !== undefined)
          this.o.log?.(`job ${job.id} (${job.kind} on ${job.model}) failed: ${e.stack ?? e.message}`);
        this.finish(job, 'failed', undefined, e);
        return;
      }
      job.parts[s.index] = outcome.value;
      job.done += s.images;
      if (job.done >= job.total) this.finish(job, 'done', this.assemble(job));
    });
  }

  private dropQueued(job: Job): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const s = this.queue[i]!;
      if (s.job !== job) continue;
      this.queue.splice(i, 1);
      this.queuedCost -= s.cost;
      const left = (this.clientQueued.get(job.client) ?? 0) - s.cost;
      if (left <= 1e-9) this.clientQueued.delete(job.client);
      else this.clientQueued.set(job.client, left);
    }
    job.queuedCost = 0;
  }

  private finish(job: Job, state: JobState, result?: Result, error?: Error): void {
    job.state = state;
    job.parts = [];
    if (result !== undefined) {
      job.result = result;
      job.settle.resolve(result);
    } else {
      job.error = error;
      job.settle.reject(error!);
    }
    // A polled job is kept for its client to read; one that somebody awaits needs no keeping.
    if (job.view === undefined) this.jobs.delete(job.id);
    else setTimeout(() => this.jobs.delete(job.id), this.keepMs).unref();
  }

  /** A generate job's slices joined back into one result, in row order. */
  private assemble(job: Job): Result {
    if (job.kind !== 'generate') return job.parts[0] as Result;
    const parts = job.parts as GenerateResult[];
    const first = parts[0]!;
    const now = performance.now();
    return {
      stages: first.stages.map((st, i) => ({
        resolution: st.resolution,
        images: parts.flatMap((p) => p.stages[i]!.images),
      })),
      unknownWords: first.unknownWords,
      queueMs: (job.firstDispatch ?? now) - job.created,
      generateMs: now - (job.firstDispatch ?? now),
      batchImages: Math.max(...parts.map((p) => p.batchImages)),
      ...(first.latent !== undefined ? { latent: first.latent } : {}),
    };
  }

  private secondsPerUnit(model: string): number {
    const known = this.speed.get(model);
    if (known !== undefined) return known;
    const all = [...this.speed.values()];
    return all.length > 0 ? Math.max(...all) : 0.01;
  }

  /** Seconds until `cost` units of queued work have run, at the slowest measured speed; 1–60. */
  private retryAfter(cost: number): number {
    const all = [...this.speed.values()];
    const rate = all.length > 0 ? Math.max(...all) : 0.01;
    return Math.min(60, Math.max(1, Math.ceil((cost * rate) / this.concurrency)));
  }

  /** Refuses new work, fails what is queued (503) and waits for what is running. */
  async drain(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) {
      // A job with parts still queued would never finish: it fails now, like the queued ones.
      const waiting = this.queue.some((s) => s.job === job);
      if (!waiting) continue;
      this.dropQueued(job);
      this.finish(job, 'failed', undefined, new HttpError(503, 'the server is shutting down', { 'retry-after': '5' }));
    }
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  }

  async close(): Promise<void> {
    await this.drain();
    await this.executor.close();
  }
}

function imagesOfRequest(
  kind: JobKind,
  req: GenerateRequest | InterpolateRequest | AttentionRequest | GridRequest | InvertRequest,
): number {
  if (kind === 'generate') return (req as GenerateRequest).count;
  if (kind === 'invert') {
    const r = req as InvertRequest;
    return r.steps * invertUnitsPerStep(r.starts);
  }
  if (kind === 'interpolate') return (req as InterpolateRequest).steps;
  if (kind === 'attention') return 1;
  return gridCaptions((req as GridRequest).tags).length;
}
