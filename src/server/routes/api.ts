// The generation API: models, generate, interpolate, AttnGAN's word attention and the HW3-2 grid.
import crypto from 'node:crypto';

import type { FastifyPluginAsync } from 'fastify';

import type { GenerationService, StageImages } from '../service.js';
import {
  attentionSchema,
  generateSchema,
  gridSchema,
  interpolateSchema,
  modelsSchema,
  type AttentionBody,
  type AttentionReply,
  type GenerateBody,
  type GenerateReply,
  type GridBody,
  type InterpolateBody,
  type InterpolateReply,
  type ModelsReply,
} from '../schemas.js';
import { cleanText } from '../text-input.js';

const dataUrl = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;
const stagesJson = (stages: StageImages[]) =>
  stages.map((s) => ({ resolution: s.resolution, images: s.images.map(dataUrl) }));
const newSeed = (): number => crypto.randomInt(2 ** 32);
const round1 = (ms: number): number => Math.round(ms * 10) / 10;

export const apiRoutes: FastifyPluginAsync<{ service: GenerationService }> = async (app, { service }) => {
  app.get<{ Reply: ModelsReply }>('/api/models', { schema: modelsSchema }, async () => {
    const loaded = new Set(service.loadedModels());
    return { models: service.models().map((c) => ({ ...c, loaded: loaded.has(c.name) })) };
  });

  app.post<{ Body: GenerateBody; Reply: GenerateReply }>('/api/generate', { schema: generateSchema }, async (req) => {
    const b = req.body;
    const text = cleanText('text', b.text);
    const seed = b.seed ?? newSeed();
    const count = b.count ?? 1;
    const r = await service.generate({
      model: b.model,
      text,
      seed,
      count,
      ...(b.truncation !== undefined ? { truncation: b.truncation } : {}),
    });
    return {
      model: b.model,
      text,
      seed,
      count,
      truncation: b.truncation ?? null,
      stages: stagesJson(r.stages),
      unknownWords: r.unknownWords,
      timings: { queueMs: round1(r.queueMs), generateMs: round1(r.generateMs) },
      batchImages: r.batchImages,
    };
  });

  app.post<{ Body: InterpolateBody; Reply: InterpolateReply }>(
    '/api/interpolate',
    { schema: interpolateSchema },
    async (req) => {
      const b = req.body;
      const from = cleanText('from', b.from);
      const to = cleanText('to', b.to);
      const seed = b.seed ?? newSeed();
      const steps = b.steps ?? 8;
      const r = await service.interpolate({
        model: b.model,
        from,
        to,
        steps,
        seed,
        ...(b.truncation !== undefined ? { truncation: b.truncation } : {}),
      });
      return {
        model: b.model,
        from,
        to,
        steps,
        seed,
        truncation: b.truncation ?? null,
        stages: stagesJson(r.stages),
        unknownWords: r.unknownWords,
        timings: { queueMs: round1(r.queueMs), generateMs: round1(r.generateMs) },
      };
    },
  );

  app.post<{ Body: AttentionBody; Reply: AttentionReply }>(
    '/api/attention',
    { schema: attentionSchema },
    async (req) => {
      const b = req.body;
      const text = cleanText('text', b.text);
      const seed = b.seed ?? newSeed();
      const r = await service.attention({
        model: b.model,
        text,
        seed,
        ...(b.truncation !== undefined ? { truncation: b.truncation } : {}),
      });
      return {
        model: b.model,
        text,
        seed,
        truncation: b.truncation ?? null,
        words: r.words,
        stages: r.stages.map((s) => ({ resolution: s.resolution, image: dataUrl(s.images[0]!) })),
        attention: r.attention.map((a) => ({ resolution: a.resolution, maps: a.maps.map(dataUrl) })),
        unknownWords: r.unknownWords,
        timings: { queueMs: round1(r.queueMs), generateMs: round1(r.generateMs) },
      };
    },
  );

  app.post<{ Body: GridBody }>('/api/grid', { schema: gridSchema }, async (req, reply) => {
    const b = req.body;
    const png = await service.grid({ model: b.model, tags: b.tags, seed: b.seed ?? 42 });
    return reply.type('image/png').send(png);
  });
};
