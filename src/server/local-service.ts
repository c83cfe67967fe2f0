// Generation in this process. Requests wait in one queue; the loop takes the oldest and, when it is a
// generate request, every other queued generate request for the same model up to `maxBatchImages`,
// and runs them as one forward pass with each request's own noise (interpolation, the grid and word
// attention run alone). Between batches it yields to the event loop so HTTP keeps flowing; past
// `maxQueueImages` new work is refused (503 + Retry-After) instead of growing memory without bound.
import { cat, tensor, type Tensor } from '../engine/index.js';
import { attentionOverlays, imageToTensor, makeGrid, tensorToImage } from '../io/index.js';
import { project } from '../inference/projection.js';
import type { TextToImagePipeline } from '../inference/pipeline.js';
import { QueueFullError, badRequest, noAttention } from './errors.js';
import { gridCaptions } from './grid.js';
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
import { imagesOf } from './service.js';

export interface LocalServiceOptions {
  maxBatchImages?: number;
  maxQueueImages?: number;
  /** Told about every forward pass, for /metrics. */
  onBatch?: (model: string, images: number, seconds: number) => void;
}

type Work =
  | { kind: 'generate'; req: GenerateRequest; done: Settle<GenerateResult> }
  | { kind: 'interpolate'; req: InterpolateRequest; done: Settle<InterpolateResult> }
  | { kind: 'grid'; req: GridRequest; captions: string[]; done: Settle<Buffer> }
  | { kind: 'attention'; req: AttentionRequest; done: Settle<AttentionResult> }
  | { kind: 'invert'; req: InvertRequest; done: Settle<InvertResult> };

/** Whether a generate request moves its noise (a given latent, directions, ψ): it then runs alone. */
const edited = (r: GenerateRequest): boolean =>
  r.latent !== undefined || r.psi !== undefined || Object.keys(r.directions ?? {}).length > 0;

interface Settle<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  images: number;
  enqueued: number;
}

/** Encodes [N, 3, R, R] as N PNGs; pixels are copied synchronously, so `images` may be freed at once. */
function encodeAll(images: Tensor): Promise<Buffer>[] {
  const out: Promise<Buffer>[] = [];
  for (let i = 0; i < images.size(0); i++) {
    using one = images.select(0, i);
    out.push(tensorToImage(one));
  }
  return out;
}

/** Per stage (smallest first): its side and its images' PNGs; frees the tensors. */
function encodeStages(stages: Tensor[]): { resolution: number; pngs: Promise<Buffer>[] }[] {
  const out = stages.map((s) => ({ resolution: s.size(-1), pngs: encodeAll(s) }));
  stages.forEach((s) => s.dispose());
  return out;
}

/** Row 0 of noise [N, D] as numbers. */
function latentRow(z: Tensor): number[] {
  using row = z.narrow(0, 0, 1);
  using cpu = row.to('cpu');
  return Array.from(cpu.toTypedArray() as Float32Array);
}

/** Why a request's latent does not fit the model, or undefined. */
function latentProblem(r: GenerateRequest, noiseDim: number): string | undefined {
  if (r.latent === undefined) return undefined;
  if (r.count !== 1) return `a latent is one image: count must be 1, got ${r.count}`;
  if (r.latent.length !== noiseDim)
    return `the latent holds ${r.latent.length} numbers; this model's noise is ${noiseDim} wide (a latent of another model?)`;
  return undefined;
}

export class LocalGenerationService implements GenerationService {
  private readonly queue: Work[] = [];
  private pending = 0;
  private running = false;
  private closed = false;
  readonly maxBatchImages: number;
  readonly maxQueueImages: number;

  constructor(
    readonly registry: ModelRegistry,
    private readonly o: LocalServiceOptions = {},
  ) {
    this.maxBatchImages = o.maxBatchImages ?? 64;
    this.maxQueueImages = o.maxQueueImages ?? 512;
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
    return this.registry.loadedNames();
  }

  generate(req: GenerateRequest): Promise<GenerateResult> {
    const rows = req.rows;
    if (
      rows !== undefined &&
      !(
        Number.isInteger(rows[0]) &&
        Number.isInteger(rows[1]) &&
        0 <= rows[0] &&
        rows[0] < rows[1] &&
        rows[1] <= req.count
      )
    )
      return Promise.reject(new Error(`rows [${rows.join(', ')}) is not a slice of ${req.count} images`));
    return this.submit((done) => ({ kind: 'generate', req, done }), req.model, imagesOf(req));
  }
  interpolate(req: InterpolateRequest): Promise<InterpolateResult> {
    return this.submit((done) => ({ kind: 'interpolate', req, done }), req.model, req.steps);
  }
  grid(req: GridRequest): Promise<Buffer> {
    // Parse before queueing: a bad file is the client's error and costs no queue slot.
    let captions: string[];
    try {
      captions = gridCaptions(req.tags);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.submit((done) => ({ kind: 'grid', req, captions, done }), req.model, captions.length);
  }

  attention(req: AttentionRequest): Promise<AttentionResult> {
    // A model without attention is the client's mistake: 400 now, without a queue slot.
    try {
      if (!this.registry.card(req.model).attention) throw noAttention(req.model);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.submit((done) => ({ kind: 'attention', req, done }), req.model, 1);
  }

  invert(req: InvertRequest): Promise<InvertResult> {
    try {
      if (!this.registry.card(req.model).invert)
        throw badRequest(`${req.model} has several stages: invert takes one-stage models`);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.submit((done) => ({ kind: 'invert', req, done }), req.model, 1);
  }

  private submit<T>(make: (done: Settle<T>) => Work, model: string, images: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the generation service is closed'));
    this.registry.card(model); // unknown model: 404 now, not after queueing
    if (this.pending + images > this.maxQueueImages) return Promise.reject(new QueueFullError(this.pending));
    return new Promise<T>((resolve, reject) => {
      this.pending += images;
      this.queue.push(make({ resolve, reject, images, enqueued: performance.now() }));
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.loop());
      }
    });
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        await this.run(batch);
      } catch (e) {
        for (const w of batch) w.done.reject(e as Error);
      } finally {
        for (const w of batch) this.pending -= w.done.images;
      }
      // Let sockets, timers and PNG callbacks run between forward passes.
      await new Promise<void>((r) => setImmediate(r));
    }
    this.running = false;
  }

  private takeBatch(): Work[] {
    const first = this.queue.shift()!;
    if (first.kind !== 'generate' || edited(first.req)) return [first];
    const batch: Work[] = [first];
    let images = imagesOf(first.req);
    for (let i = 0; i < this.queue.length;) {
      const w = this.queue[i]!;
      if (
        w.kind === 'generate' &&
        !edited(w.req) &&
        w.req.model === first.req.model &&
        images + imagesOf(w.req) <= this.maxBatchImages
      ) {
        batch.push(w);
        images += imagesOf(w.req);
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private async run(batch: Work[]): Promise<void> {
    const first = batch[0]!;
    const pipe = this.registry.acquire(first.req.model);
    const started = performance.now();
    if (first.kind === 'generate') await this.runGenerate(pipe, batch as Extract<Work, { kind: 'generate' }>[]);
    else if (first.kind === 'interpolate') await this.runInterpolate(pipe, first);
    else if (first.kind === 'attention') await this.runAttention(pipe, first);
    else if (first.kind === 'invert') await this.runInvert(pipe, first);
    else await this.runGrid(pipe, first);
    const images = batch.reduce((a, w) => a + w.done.images, 0);
    this.o.onBatch?.(first.req.model, images, (performance.now() - started) / 1000);
  }

  private async runGenerate(pipe: TextToImagePipeline, batch: Extract<Work, { kind: 'generate' }>[]): Promise<void> {
    const started = performance.now();
    // A request the model cannot read (bad tags) fails alone; the rest of the batch goes on.
    const ok: { w: (typeof batch)[number]; unknownWords: string[] }[] = [];
    for (const w of batch) {
      const check = pipe.check(w.req.text);
      const problem = check.error ?? pipe.checkEdit(w.req) ?? latentProblem(w.req, pipe.noiseDim);
      if (problem !== undefined) w.done.reject(badRequest(problem));
      else ok.push({ w, unknownWords: check.unknownWords });
    }
    if (ok.length === 0) return;
    const noises = ok.map(({ w }) => {
      if (w.req.latent !== undefined) return tensor(Float32Array.from(w.req.latent), { shape: [1, pipe.noiseDim] });
      const z = pipe.noise(w.req.count, w.req.seed, w.req.truncation);
      if (w.req.rows === undefined) return z;
      using all = z;
      return all.narrow(0, w.req.rows[0], imagesOf(w.req));
    });
    // The noise of each request's first image, so a client can edit it later (latent tokens).
    const firstRows = ok.map(({ w }, i) =>
      w.req.rows === undefined || w.req.rows[0] === 0 ? latentRow(noises[i]!) : undefined,
    );
    const captions = ok.flatMap(({ w }) => new Array<string>(imagesOf(w.req)).fill(w.req.text));
    // Edited requests run alone (takeBatch), so one edit applies to the whole batch.
    const edit = edited(ok[0]!.w.req) ? ok[0]!.w.req : undefined;
    let encoded: { resolution: number; pngs: Promise<Buffer>[] }[];
    {
      using z = cat(noises, 0);
      noises.forEach((n) => n.dispose());
      using zd = z.to(pipe.device);
      encoded = encodeStages(pipe.generateStagesFrom(zd, captions, edit));
    }
    const all = await Promise.all(
      encoded.map(async (s) => ({ resolution: s.resolution, images: await Promise.all(s.pngs) })),
    );
    const generateMs = performance.now() - started;
    let at = 0;
    for (const [i, { w, unknownWords }] of ok.entries()) {
      const n = imagesOf(w.req);
      const stages = all.map((s) => ({ resolution: s.resolution, images: s.images.slice(at, at + n) }));
      at += n;
      const latent = firstRows[i];
      w.done.resolve({
        stages,
        unknownWords,
        ...(latent !== undefined ? { latent } : {}),
        queueMs: started - w.done.enqueued,
        generateMs,
        batchImages: captions.length,
      });
    }
  }

  private async runInterpolate(pipe: TextToImagePipeline, w: Extract<Work, { kind: 'interpolate' }>): Promise<void> {
    const started = performance.now();
    const a = pipe.check(w.req.from);
    const b = pipe.check(w.req.to);
    if (a.error !== undefined || b.error !== undefined) throw badRequest((a.error ?? b.error)!);
    const encoded = encodeStages(
      pipe.interpolateStages(w.req.from, w.req.to, w.req.steps, {
        seed: w.req.seed,
        ...(w.req.truncation !== undefined ? { truncation: w.req.truncation } : {}),
      }),
    );
    const stages: StageImages[] = await Promise.all(
      encoded.map(async (s) => ({ resolution: s.resolution, images: await Promise.all(s.pngs) })),
    );
    w.done.resolve({
      stages,
      unknownWords: { from: a.unknownWords, to: b.unknownWords },
      queueMs: started - w.done.enqueued,
      generateMs: performance.now() - started,
    });
  }

  private async runInvert(pipe: TextToImagePipeline, w: Extract<Work, { kind: 'invert' }>): Promise<void> {
    const started = performance.now();
    const check = pipe.check(w.req.text);
    if (check.error !== undefined) throw badRequest(check.error);
    let target: Tensor;
    try {
      target = await imageToTensor(w.req.image, { size: pipe.resolution });
    } catch (e) {
      throw badRequest(`the image cannot be read: ${(e as Error).message}`);
    }
    let found: Awaited<ReturnType<typeof project>>;
    try {
      found = await project(pipe, target, w.req.text, { steps: w.req.steps, starts: w.req.starts, seed: w.req.seed });
    } finally {
      target.dispose();
    }
    let png: Promise<Buffer>;
    {
      using z = found.z;
      using zd = z.to(pipe.device);
      using image = pipe.generateFrom(zd, [w.req.text]);
      using one = image.select(0, 0);
      png = tensorToImage(one);
      w.done.resolve({
        latent: latentRow(z)!,
        mse: found.mse,
        reconstruction: await png,
        unknownWords: check.unknownWords,
        queueMs: started - w.done.enqueued,
        generateMs: performance.now() - started,
      });
    }
  }

  private async runGrid(pipe: TextToImagePipeline, w: Extract<Work, { kind: 'grid' }>): Promise<void> {
    const captions = w.captions;
    for (const c of captions) {
      const check = pipe.check(c);
      if (check.error !== undefined) throw badRequest(check.error);
    }
    let png: Promise<Buffer>;
    {
      using images = pipe.generate(captions, { seed: w.req.seed });
      // The assignment's format: 64×64 tiles, no padding, as square as the line count allows.
      using grid = makeGrid(images, { nrow: Math.ceil(Math.sqrt(captions.length)), padding: 0 });
      png = tensorToImage(grid);
    }
    w.done.resolve(await png);
  }

  private async runAttention(pipe: TextToImagePipeline, w: Extract<Work, { kind: 'attention' }>): Promise<void> {
    const started = performance.now();
    if (!pipe.hasAttention) throw noAttention(w.req.model);
    const check = pipe.check(w.req.text);
    if (check.error !== undefined) throw badRequest(check.error);
    let words: string[];
    let maps: { resolution: number; pngs: Promise<Buffer>[] }[];
    let encoded: { resolution: number; pngs: Promise<Buffer>[] }[];
    {
      using z = pipe.noise(1, w.req.seed, w.req.truncation);
      const r = pipe.generateWithAttention(z, [w.req.text]);
      try {
        words = r.words[0]!;
        // The maps of attentional stage a (over its input grid) drew the image of stage a + 1.
        maps = r.maps.map((m, a) => {
          const stage = r.stages[a + 1]!;
          using image = stage.select(0, 0);
          using wordMaps = m.select(0, 0);
          using lit = attentionOverlays(image, wordMaps, words);
          return { resolution: stage.size(-1), pngs: encodeAll(lit) };
        });
      } catch (e) {
        r.stages.forEach((t) => t.dispose());
        throw e;
      } finally {
        r.maps.forEach((t) => t.dispose());
      }
      encoded = encodeStages(r.stages);
    }
    const [stages, attention] = await Promise.all([
      Promise.all(encoded.map(async (s) => ({ resolution: s.resolution, images: await Promise.all(s.pngs) }))),
      Promise.all(maps.map(async (s) => ({ resolution: s.resolution, maps: await Promise.all(s.pngs) }))),
    ]);
    w.done.resolve({
      words,
      stages,
      attention,
      unknownWords: check.unknownWords,
      queueMs: started - w.done.enqueued,
      generateMs: performance.now() - started,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await new Promise((r) => setTimeout(r, 5));
    this.registry.dispose();
  }
}
