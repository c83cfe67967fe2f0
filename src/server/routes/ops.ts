// Health and Prometheus metrics, for load balancers, compose health checks and dashboards.
import type { FastifyPluginAsync } from 'fastify';

import type { ServerMetrics } from '../metrics.js';
import type { GenerationService } from '../service.js';

export const opsRoutes: FastifyPluginAsync<{
  service: GenerationService;
  metrics: ServerMetrics;
  mode: string;
}> = async (app, { service, metrics, mode }) => {
  app.get('/healthz', { schema: { summary: 'Liveness and what this process serves', hide: false } }, async () => ({
    status: 'ok',
    mode,
    models: service.models().length,
    loaded: service.loadedModels(),
    queueImages: service.queueDepth(),
  }));

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)' } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
