// Generation on a worker thread (generation-thread.ts), as sharp runs its work off the main thread:
// the HTTP thread only routes, schedules and answers, so /healthz, static files and queue status
// answer in milliseconds whatever is being generated. If the thread dies, its calls fail (500,
// logged) and a new thread is started.
import { Worker } from 'node:worker_threads';

import type { Device } from '../engine/index.js';
import { HttpError } from './errors.js';
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
  InterpolateResult,
  InvertRequest,
  InvertResult,
} from './service.js';
import { imagesOf } from './service.js';
import { rememberBase64 } from './json-images.js';
import { PNG_TAG, type ThreadCall, type ThreadMessage, type ThreadOptions } from './thread-protocol.js';

export interface ThreadServiceOptions {
  device?: Device;
  memoryLimitBytes?: number;
  maxBatchImages?: number;
  onLoad?: (name: string, seconds: number) => void;
  onBatch?: (model: string, images: number, seconds: number) => void;
  log?: (message: string) => void;
}

interface Call {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  images: number;
}

const asBuffer = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Buffers cross threads as Uint8Arrays: make them Buffers again, without copying. */
function revive(v: unknown): unknown {
  if (v instanceof Uint8Array) return asBuffer(v);
  if (Array.isArray(v)) return v.map(revive);
  if (v !== null && typeof v === 'object' && PNG_TAG in v) {
    const { [PNG_TAG]: png, base64 } = v as { [PNG_TAG]: Uint8Array; base64: Uint8Array };
    const b = asBuffer(png);
    rememberBase64(b, asBuffer(base64));
    return b;
  }
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  return v;
}

export class ThreadGenerationService implements GenerationService {
  private worker!: Worker;
  private readonly calls = new Map<number, Call>();
  private nextId = 1;
  private loaded: string[] = [];
  private up = false;
  private everUp = false;
  private closing = false;
  /** Settles when the current thread is up: calls wait on it, also while a dead thread is replaced. */
  private starting!: Promise<void>;
  private started!: { resolve: () => void; reject: (e: Error) => void };
  /** Threads started after the first one died. */
  restarts = 0;

  constructor(
    readonly registry: ModelRegistry,
    private readonly o: ThreadServiceOptions = {},
  ) {
    this.expectStart();
    this.start();
  }

  private expectStart(): void {
    this.starting = new Promise<void>((resolve, reject) => (this.started = { resolve, reject }));
    this.starting.catch(() => undefined);
  }

  private start(): void {
    const options: ThreadOptions = {
      dirs: [...this.registry.dirs],
      device: this.o.device ?? this.registry.device,
      memoryLimitBytes: this.o.memoryLimitBytes ?? 2 ** 31,
      maxBatchImages: this.o.maxBatchImages ?? 64,
    };
    const worker = new Worker(new URL('./generation-thread.js', import.meta.url), { workerData: options });
    this.worker = worker;
    let failure: Error | undefined;
    worker.on('message', (m: ThreadMessage) => {
      if ('event' in m && m.event === 'ready') {
        this.up = this.everUp = true;
        this.started.resolve();
      } else this.onMessage(m);
    });
    worker.on('error', (e) => {
      failure = e;
      this.o.log?.(`generation thread failed: ${e.stack ?? e.message}`);
    });
    worker.once('exit', (code) => {
      this.up = false;
      this.loaded = [];
      for (const [id, c] of this.calls) {
        this.calls.delete(id);
        c.reject(new Error(`the generation thread stopped (exit code ${code}) before answering`));
      }
      if (this.closing) return;
      // A thread that never came up will not come up on a retry (bad model folder, no libtorch): say so.
      if (!this.everUp) {
        this.started.reject(failure ?? new Error(`the generation thread exited with code ${code} before it was ready`));
        return;
      }
      this.restarts++;
      this.o.log?.(`generation thread exited with code ${code}; starting a new one`);
      this.expectStart();
      // Not unref'd: callers may be waiting for the new thread with nothing else keeping the loop alive.
      setTimeout(() => {
        if (!this.closing) this.start();
      }, 200);
    });
  }

  /** Resolves once the thread has scanned the models and takes calls. */
  ready(): Promise<void> {
    return this.starting;
  }

  private onMessage(m: ThreadMessage): void {
    if ('event' in m) {
      if (m.event === 'load') this.o.onLoad?.(m.name, m.seconds);
      else if (m.event === 'batch') this.o.onBatch?.(m.model, m.images, m.seconds);
      else if (m.event === 'loaded') this.loaded = m.names;
      else if (m.event === 'log') this.o.log?.(m.message);
      return;
    }
    const c = this.calls.get(m.id);
    if (c === undefined) return;
    this.calls.delete(m.id);
    if (m.ok) c.resolve(revive(m.value));
    else if (m.error.statusCode !== undefined)
      c.reject(new HttpError(m.error.statusCode, m.error.message, m.error.headers ?? {}));
    else {
      const e = new Error(m.error.message);
      e.stack = `${m.error.stack ?? m.error.message}\n    (in the generation thread)`;
      c.reject(e);
    }
  }

  private call(call: Omit<ThreadCall, 'id'>, images: number): Promise<unknown> {
    if (this.closing) return Promise.reject(new HttpError(503, 'the server is shutting down', { 'retry-after': '5' }));
    this.registry.card(call.req.model); // 404 without a round trip
    return this.starting.then(
      () =>
        new Promise((resolve, reject) => {
          const id = this.nextId++;
          this.calls.set(id, { resolve, reject, images });
          this.worker.postMessage({ ...call, id } as ThreadCall);
        }),
    );
  }

  models(): ModelCard[] {
    return this.registry.list();
  }
  card(name: string): ModelCard {
    return this.registry.card(name);
  }
  /** Images sent to the thread and not answered yet. */
  queueDepth(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c.images;
    return n;
  }
  loadedModels(): string[] {
    return this.loaded;
  }
  health(): { ok: boolean; reason?: string } {
    return this.up ? { ok: true } : { ok: false, reason: 'the generation thread is starting' };
  }

  generate(req: GenerateRequest): Promise<GenerateResult> {
    return this.call({ method: 'generate', req }, imagesOf(req)) as Promise<GenerateResult>;
  }
  interpolate(req: InterpolateRequest): Promise<InterpolateResult> {
    return this.call({ method: 'interpolate', req }, req.steps) as Promise<InterpolateResult>;
  }
  grid(req: GridRequest): Promise<Buffer> {
    return this.call({ method: 'grid', req }, 1) as Promise<Buffer>;
  }
  attention(req: AttentionRequest): Promise<AttentionResult> {
    return this.call({ method: 'attention', req }, 1) as Promise<AttentionResult>;
  }
  invert(req: InvertRequest): Promise<InvertResult> {
    return this.call({ method: 'invert', req }, 1) as Promise<InvertResult>;
  }

  /**
   * Ends the generation thread with an uncaught error, as a bug in it would, to test recovery: calls it
   * holds fail and a new thread starts. (Not Worker.terminate(): stopping a thread while libtorch or
   * sharp is working in it can abort the process.)
   */
  crashForTests(): void {
    this.worker.postMessage({ crash: true });
  }

  /** Lets the thread finish what it was given, free its models and exit (terminated after 10 s). */
  async close(): Promise<void> {
    this.closing = true;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    if (this.worker.threadId === -1) return; // already gone
    this.worker.postMessage({ close: true });
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
