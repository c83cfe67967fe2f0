// The generation API: models, generate, interpolate, AttnGAN's word attention and the HW3-2 grid,
// each answered when the images are ready, and the same as jobs (/api/jobs/…) that answer at once
// and are polled for queue position, progress, ETA and the result, or cancelled.
import crypto from 'node:crypto';

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

import { notFound } from '../errors.js';
import type { FairScheduler, JobKind } from '../scheduler.js';
import type {
  AttentionRequest,
  AttentionResult,
  GenerateRequest,
  GenerateResult,
  InterpolateRequest,
  InterpolateResult,
  StageImages,
} from '../service.js';
import {
  attentionJobSchema,
  attentionSchema,
  cancelJobSchema,
  generateJobSchema,
  generateSchema,
  gridSchema,
  interpolateJobSchema,
  interpolateSchema,
  jobSchema,
  modelsSchema,
  type AttentionBody,
  type AttentionReply,
  type GenerateBody,
  type GenerateReply,
  type GridBody,
  type InterpolateBody,
  type InterpolateReply,
  type JobParams,
  type JobStatus,
  type ModelsReply,
} from '../schemas.js';
import { JsonWithImages } from '../json-images.js';
import { cleanText } from '../text-input.js';

const stagesJson = (img: JsonWithImages, stages: StageImages[]) =>
  stages.map((s) => ({ resolution: s.resolution, images: s.images.map((png) => img.dataUrl(png)) }));
const newSeed = (): number => crypto.randomInt(2 ** 32);
const round1 = (ms: number): number => Math.round(ms * 10) / 10;
const truncation = (t: number | undefined) => (t !== undefined ? { truncation: t } : {});

// Each kind: the body with its defaults filled in, and the reply built from the result.

function generateRequest(b: GenerateBody): GenerateRequest {
  return {
    model: b.model,
    text: cleanText('text', b.text),
    seed: b.seed ?? newSeed(),
    count: b.count ?? 1,
    ...truncation(b.truncation),
  };
}
const generateReply = (img: JsonWithImages, q: GenerateRequest, r: GenerateResult): GenerateReply => ({
  model: q.model,
  text: q.text,
  seed: q.seed,
  count: q.count,
  truncation: q.truncation ?? null,
  stages: stagesJson(img, r.stages),
  unknownWords: r.unknownWords,
  timings: { queueMs: round1(r.queueMs), generateMs: round1(r.generateMs) },
  batchImages: r.batchImages,
});

function interpolateRequest(b: InterpolateBody): InterpolateRequest {
  return {
    model: b.model,
    from: cleanText('from', b.from),
    to: cleanText('to', b.to),
    steps: b.steps ?? 8,
    seed: b.seed ?? newSeed(),
    ...truncation(b.truncation),
  };
}
const interpolateReply = (img: JsonWithImages, q: InterpolateRequest, r: InterpolateResult): InterpolateReply => ({
  model: q.model,
  from: q.from,
  to: q.to,
  steps: q.steps,
  seed: q.seed,
  truncation: q.truncation ?? null,
  stages: stagesJson(img, r.stages),
  unknownWords: r.unknownWords,
  timings: { queueMs: round1(r.queueMs), generateMs: round1(r.generateMs) },
});

function attentionRequest(b: AttentionBody): AttentionRequest {
  return { model: b.model, text: cleanText('text', b.text), seed: b.seed ?? newSeed(), ...truncation(b.truncation) };
}
const attentionReply = (img: JsonWithImages, q: AttentionRequest, r: AttentionResult): AttentionReply => ({
  model: q.model,
  text: q.text,
  seed: q.seed,
  truncation: q.truncation ?? null,
  words: r.words,
  stages: r.stages.map((s) => ({ resolution: s.resolution, image: img.dataUrl(s.images[0]!) })),
  attention: r.attention.map((a) => ({ resolution: a.resolution, maps: a.maps.map((png) => img.dataUrl(png)) })),
  unknownWords: r.unknownWords,
  timings: { queueMs: round1(r.queueMs), generateMs: round1(r.generateMs) },
});

/** A reply with images, as bytes (json-images.ts). */
function sendJson(reply: FastifyReply, img: JsonWithImages, value: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(img.toBuffer(value));
}

/** A job's result as a polling client reads it: the synchronous route's reply, and its images. */
interface Rendered {
  body: unknown;
  img: JsonWithImages;
}
function render<Q, R>(q: Q, build: (img: JsonWithImages, q: Q, r: R) => unknown): (r: unknown) => Rendered {
  return (r) => {
    const img = new JsonWithImages();
    return { body: build(img, q, r as R), img };
  };
}

/** Who a request is from, for fair shares and limits: the address (behind a proxy: see --trust-proxy). */
export const clientOf = (req: FastifyRequest): string => req.ip;

export const apiRoutes: FastifyPluginAsync<{ scheduler: FairScheduler }> = async (app, { scheduler }) => {
  /** Runs a job for a waiting client; a client that hangs up cancels it. */
  async function waitFor<T>(req: FastifyRequest, reply: FastifyReply, kind: JobKind, q: object): Promise<T> {
    const job = scheduler.submit(kind, q as GenerateRequest, clientOf(req));
    const gone = (): void => {
      if (!reply.raw.writableFinished) scheduler.cancel(job.id);
    };
    reply.raw.once('close', gone);
    try {
      return (await job.promise) as T;
    } finally {
      reply.raw.off('close', gone);
    }
  }

  app.get<{ Reply: ModelsReply }>('/api/models', { schema: modelsSchema }, async () => {
    const loaded = new Set(scheduler.loadedModels());
    return { models: scheduler.models().map((c) => ({ ...c, loaded: loaded.has(c.name) })) };
  });

  app.post<{ Body: GenerateBody; Reply: GenerateReply }>(
    '/api/generate',
    { schema: generateSchema },
    async (req, reply) => {
      const q = generateRequest(req.body);
      const img = new JsonWithImages();
      return sendJson(reply, img, generateReply(img, q, await waitFor<GenerateResult>(req, reply, 'generate', q)));
    },
  );

  app.post<{ Body: InterpolateBody; Reply: InterpolateReply }>(
    '/api/interpolate',
    { schema: interpolateSchema },
    async (req, reply) => {
      const q = interpolateRequest(req.body);
      const img = new JsonWithImages();
      return sendJson(
        reply,
        img,
        interpolateReply(img, q, await waitFor<InterpolateResult>(req, reply, 'interpolate', q)),
      );
    },
  );

  app.post<{ Body: AttentionBody; Reply: AttentionReply }>(
    '/api/attention',
    { schema: attentionSchema },
    async (req, reply) => {
      const q = attentionRequest(req.body);
      const img = new JsonWithImages();
      return sendJson(reply, img, attentionReply(img, q, await waitFor<AttentionResult>(req, reply, 'attention', q)));
    },
  );

  app.post<{ Body: GridBody }>('/api/grid', { schema: gridSchema }, async (req, reply) => {
    const b = req.body;
    const png = await waitFor<Buffer>(req, reply, 'grid', { model: b.model, tags: b.tags, seed: b.seed ?? 42 });
    return reply.type('image/png').send(png);
  });

  // ---- jobs ---------------------------------------------------------------------------------------

  const queued = (reply: FastifyReply, id: string): JobStatus => {
    void reply.code(202).header('location', `/api/jobs/${id}`);
    return scheduler.status(id) as JobStatus;
  };

  app.post<{ Body: GenerateBody; Reply: JobStatus }>(
    '/api/jobs/generate',
    { schema: generateJobSchema },
    async (req, reply) => {
      const q = generateRequest(req.body);
      const job = scheduler.submit('generate', q, clientOf(req), render(q, generateReply));
      return queued(reply, job.id);
    },
  );

  app.post<{ Body: InterpolateBody; Reply: JobStatus }>(
    '/api/jobs/interpolate',
    { schema: interpolateJobSchema },
    async (req, reply) => {
      const q = interpolateRequest(req.body);
      const job = scheduler.submit('interpolate', q, clientOf(req), render(q, interpolateReply));
      return queued(reply, job.id);
    },
  );

  app.post<{ Body: AttentionBody; Reply: JobStatus }>(
    '/api/jobs/attention',
    { schema: attentionJobSchema },
    async (req, reply) => {
      const q = attentionRequest(req.body);
      const job = scheduler.submit('attention', q, clientOf(req), render(q, attentionReply));
      return queued(reply, job.id);
    },
  );

  /** A job's status; once done, with its result rendered as the synchronous route renders it. */
  const sendStatus = (reply: FastifyReply, s: NonNullable<ReturnType<FairScheduler['status']>>) => {
    const { result, ...status } = s;
    if (result === undefined) return status;
    const { body, img } = result as Rendered;
    return sendJson(reply, img, { ...status, result: body });
  };

  const unknownJob = (id: string) => notFound(`no job "${id}" (jobs are kept 5 minutes after they finish)`);

  app.get<{ Params: JobParams; Reply: JobStatus }>('/api/jobs/:id', { schema: jobSchema }, async (req, reply) => {
    const s = scheduler.status(req.params.id);
    if (s === undefined) throw unknownJob(req.params.id);
    return sendStatus(reply, s);
  });

  app.delete<{ Params: JobParams; Reply: JobStatus }>(
    '/api/jobs/:id',
    { schema: cancelJobSchema },
    async (req, reply) => {
      // A job that finished before the cancel arrived stays done, and says so with its result.
      const s = scheduler.cancel(req.params.id);
      if (s === undefined) throw unknownJob(req.params.id);
      return sendStatus(reply, scheduler.status(req.params.id) ?? s);
    },
  );
};
