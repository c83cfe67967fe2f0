// The generation API: models, generate, interpolate, AttnGAN's word attention and the HW3-2 grid,
// each answered when the images are ready, and the same as jobs (/api/jobs/…) that answer at once
// and are polled for queue position, progress, ETA and the result, or cancelled.
import crypto from 'node:crypto';

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

import sharp, { type Metadata } from 'sharp';

import { HttpError, badRequest, notFound } from '../errors.js';
import { psnrDb } from '../../inference/latent-file.js';
import { decodeLatent, encodeLatent } from '../latent-token.js';
import type { ModelCard } from '../model-card.js';
import type { FairScheduler, JobKind } from '../scheduler.js';
import type {
  AttentionRequest,
  AttentionResult,
  GenerateRequest,
  GenerateResult,
  InterpolateRequest,
  InterpolateResult,
  InvertRequest,
  InvertResult,
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
  invertJobSchema,
  invertSchema,
  jobSchema,
  MAX_UPLOAD_BYTES,
  MAX_UPLOAD_PIXELS,
  modelsSchema,
  type AttentionBody,
  type AttentionReply,
  type GenerateBody,
  type GenerateReply,
  type GridBody,
  type InterpolateBody,
  type InterpolateReply,
  type InvertBody,
  type InvertReply,
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

function generateRequest(b: GenerateBody, card: ModelCard): GenerateRequest {
  const count = b.count ?? 1;
  if (b.latent !== undefined && count !== 1) throw badRequest(`a latent is one image: count must be 1, got ${count}`);
  if (b.latent !== undefined && b.truncation !== undefined)
    throw badRequest('truncation draws new noise; a latent is given noise: use psi to truncate it');
  checkDirections(card, b.directions ?? {});
  return {
    model: b.model,
    text: cleanText('text', b.text),
    seed: b.seed ?? newSeed(),
    count,
    ...truncation(b.truncation),
    ...(b.latent !== undefined ? { latent: decodeLatent(b.latent) } : {}),
    ...(b.directions !== undefined && Object.keys(b.directions).length > 0 ? { directions: b.directions } : {}),
    ...(b.psi !== undefined ? { psi: b.psi } : {}),
  };
}

/** Unknown directions and strengths out of range are refused before anything is queued. */
function checkDirections(card: ModelCard, asked: Record<string, number>): void {
  for (const [name, strength] of Object.entries(asked)) {
    const d = card.directions.find((x) => x.name === name);
    if (d === undefined)
      throw badRequest(
        card.directions.length === 0
          ? `${card.name} has no attribute directions`
          : `unknown direction "${name}"; ${card.name} has ${card.directions.map((x) => x.name).join(', ')}`,
      );
    if (!(strength >= d.min && strength <= d.max))
      throw badRequest(`the strength of ${name} must be in [${d.min}, ${d.max}], got ${strength}`);
  }
}

const generateReply = (img: JsonWithImages, q: GenerateRequest, r: GenerateResult): GenerateReply => ({
  model: q.model,
  text: q.text,
  seed: q.seed,
  count: q.count,
  truncation: q.truncation ?? null,
  latent: r.latent !== undefined ? encodeLatent(r.latent) : null,
  directions: q.directions ?? {},
  psi: q.psi ?? null,
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

/** The upload's bytes: base64, or a data URL of a PNG or JPEG. */
function uploadBytes(image: string): Buffer {
  const m = /^data:([^;,]*)(;base64)?,/.exec(image);
  if (m !== null && !(m[1] === 'image/png' || m[1] === 'image/jpeg' || m[1] === 'image/jpg'))
    throw new HttpError(415, `the image must be PNG or JPEG, got a data URL of ${m[1] || 'no type'}`);
  if (m !== null && m[2] === undefined) throw badRequest('the image data URL must be base64 (";base64,")');
  const text = m === null ? image : image.slice(m[0].length);
  if (!/^[A-Za-z0-9+/=\s]*$/.test(text)) throw badRequest('the image is not base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) throw badRequest('the image is empty');
  if (bytes.length > MAX_UPLOAD_BYTES)
    throw new HttpError(413, `the image is ${bytes.length} bytes; the limit is ${MAX_UPLOAD_BYTES} (4 MiB)`);
  return bytes;
}

/** The upload scaled and centre-cropped to the model's side, as PNG; 4xx for anything else. */
async function targetImage(image: string, side: number): Promise<Buffer> {
  const bytes = uploadBytes(image);
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new HttpError(415, 'the upload is not an image (PNG or JPEG)');
  }
  if (meta.format !== 'png' && meta.format !== 'jpeg')
    throw new HttpError(415, `the image must be PNG or JPEG, got ${meta.format ?? 'an unknown format'}`);
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > MAX_UPLOAD_PIXELS)
    throw new HttpError(413, `the image is ${w}×${h}; the limit is ${MAX_UPLOAD_PIXELS} pixels (4096×4096)`);
  try {
    return await sharp(bytes, { limitInputPixels: MAX_UPLOAD_PIXELS })
      .rotate()
      .resize({ width: side, height: side, fit: 'cover', position: 'centre' })
      .removeAlpha()
      .png()
      .toBuffer();
  } catch (e) {
    throw badRequest(`the image cannot be decoded: ${(e as Error).message}`);
  }
}

async function invertRequest(b: InvertBody, card: ModelCard): Promise<InvertRequest> {
  if (!card.invert) throw badRequest(`${card.name} has several stages: invert takes one-stage models`);
  return {
    model: b.model,
    text: cleanText('text', b.text),
    image: await targetImage(b.image, card.resolutions.at(-1)!),
    steps: b.steps ?? 100,
    starts: b.starts ?? 4,
    seed: b.seed ?? 0,
  };
}
const invertReply = (img: JsonWithImages, q: InvertRequest, r: InvertResult): InvertReply => ({
  model: q.model,
  text: q.text,
  latent: encodeLatent(r.latent),
  z: r.latent,
  mse: r.mse,
  psnrDb: psnrDb(r.mse),
  target: img.dataUrl(q.image),
  reconstruction: img.dataUrl(r.reconstruction),
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
      const q = generateRequest(req.body, scheduler.card(req.body.model));
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

  // Uploads: the body limit fits a 4 MiB image as base64 (the app's default is 64 KiB).
  const uploadLimit = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 4096;

  app.post<{ Body: InvertBody; Reply: InvertReply }>(
    '/api/invert',
    { schema: invertSchema, bodyLimit: uploadLimit },
    async (req, reply) => {
      const q = await invertRequest(req.body, scheduler.card(req.body.model));
      const img = new JsonWithImages();
      return sendJson(reply, img, invertReply(img, q, await waitFor<InvertResult>(req, reply, 'invert', q)));
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
      const q = generateRequest(req.body, scheduler.card(req.body.model));
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

  app.post<{ Body: InvertBody; Reply: JobStatus }>(
    '/api/jobs/invert',
    { schema: invertJobSchema, bodyLimit: uploadLimit },
    async (req, reply) => {
      const q = await invertRequest(req.body, scheduler.card(req.body.model));
      const job = scheduler.submit('invert', q, clientOf(req), render(q, invertReply));
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
