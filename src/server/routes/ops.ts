// Health and Prometheus metrics, for load balancers, compose health checks and dashboards.
import type { FastifyPluginAsync } from 'fastify';

import type { ServerMetrics } from '../metrics.js';
import type { FairScheduler } from '../scheduler.js';

export const opsRoutes: FastifyPluginAsync<{
  scheduler: FairScheduler;
  metrics: ServerMetrics;
  mode: string;
}> = async (app, { scheduler, metrics, mode }) => {
  // 503 while nothing can generate (no Redis worker, the generation thread restarting), so a load
  // balancer stops sending work here; it answers without waiting on generation either way.
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness, and whether generation is available (503 "degraded" when not)' } },
    async (_req, reply) => {
      const health = scheduler.health();
      if (!health.ok) void reply.code(503);
      return {
        status: health.ok ? 'ok' : 'degraded',
        ...(health.reason !== undefined ? { reason: health.reason } : {}),
        mode,
        models: scheduler.models().length,
        loaded: scheduler.loadedModels(),
        queueImages: scheduler.queueDepth(),
      };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)' } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
