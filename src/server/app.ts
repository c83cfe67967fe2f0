// The Fastify application: API routes, the game, ops endpoints, the OpenAPI document at /docs and
// the web page. It does not start listening (tests inject requests; the CLI calls listen()).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';

import { HttpError } from './errors.js';
import { RealOrFakeGame, type GameOptions } from './game.js';
import { ServerMetrics } from './metrics.js';
import { apiRoutes } from './routes/api.js';
import { gameRoutes } from './routes/game.js';
import { opsRoutes } from './routes/ops.js';
import { FairScheduler, type SchedulerOptions } from './scheduler.js';
import type { GenerationService } from './service.js';

/** The repository (or installed package) root: dist/src/server/app.js → ../../.. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface AppOptions {
  service: GenerationService;
  /** 'local' (generation in this process) or 'queue' (workers behind Redis), shown by /healthz. */
  mode?: string;
  game?: Omit<GameOptions, 'realDir'> & { realDir?: string };
  /** Request bodies above this many bytes are refused with 413 (default 64 KiB). */
  bodyLimit?: number;
  logger?: boolean;
  /**
   * Where a 500's cause goes when the request logger is off (default: stderr), so that no server
   * failure goes unrecorded whatever the logging settings.
   */
  logError?: (message: string) => void;
  /** Metrics to expose at /metrics (made here when not given; give one to count model loads too). */
  metrics?: ServerMetrics;
  /** Fair shares, slices and limits of the generation queue (scheduler.ts). */
  scheduling?: SchedulerOptions;
  /**
   * Behind a reverse proxy: take the client's address from X-Forwarded-For (Fastify's trustProxy:
   * true, or the proxies' addresses), so fair shares and rate limits are per client and
   * not all charged to the proxy. Leave off when clients connect directly: they could forge it.
   */
  trustProxy?: boolean | string;
  /** Folder of the web page (index.html, …), default web/public; the compiled scripts come from dist/web. */
  webRoot?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimit ?? 64 * 1024,
    // Wrong types and unknown fields are the client's mistake to hear about, not to have fixed silently.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
  });
  const logError = o.logError ?? ((m: string) => console.error(m));
  const scheduler = new FairScheduler(o.service, { log: logError, ...o.scheduling });
  // Queued work is refused when the server closes; what is running finishes (the caller closes the service).
  app.addHook('onClose', async () => scheduler.drain());
  const metrics =
    o.metrics ??
    new ServerMetrics(
      () => scheduler.queueDepth(),
      () => o.service.loadedModels().length,
    );
  metrics.queueDepthOf = () => scheduler.queueDepth();

  // JSON bodies must be valid UTF-8: the default parser would silently turn bad bytes into U+FFFD.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new HttpError(400, 'the request body is not valid UTF-8'), undefined);
      return;
    }
    if (text.trim() === '') {
      done(new HttpError(400, 'the request body is empty; expected a JSON object'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (e) {
      done(new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) {
      void reply.code(err.statusCode).headers(err.headers);
      return { statusCode: err.statusCode, error: statusText(err.statusCode), message: err.message };
    }
    const code = err.statusCode ?? 500;
    if (code >= 400 && code < 500) {
      void reply.code(code);
      return { statusCode: code, error: statusText(code), message: err.message };
    }
    if (o.logger) req.log.error(err);
    else logError(`500 on ${req.method} ${req.url}: ${err.stack ?? err.message}`);
    void reply.code(500);
    return { statusCode: 500, error: 'Internal Server Error', message: 'the server failed; the error was logged' };
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'CreativeAI',
        version: '0.1.0',
        description: 'Text-to-image GANs: caption or tags in, PNG images out.',
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(apiRoutes, { scheduler });
  await app.register(opsRoutes, { scheduler, metrics, mode: o.mode ?? 'local' });
  const game = new RealOrFakeGame(scheduler, {
    ...o.game,
    realDir: o.game?.realDir ?? path.join(PACKAGE_ROOT, 'assets/real'),
  });
  await app.register(gameRoutes, { game });

  const webRoot = o.webRoot ?? path.join(PACKAGE_ROOT, 'web/public');
  if (fs.existsSync(webRoot)) await app.register(fastifyStatic, { root: webRoot, prefix: '/' });
  const scripts = path.join(PACKAGE_ROOT, 'dist/web');
  if (fs.existsSync(scripts))
    await app.register(fastifyStatic, { root: scripts, prefix: '/js/', decorateReply: false });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404);
    return { statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.slice(0, 200)}` };
  });
  return app;
}

function statusText(code: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    405: 'Method Not Allowed',
    406: 'Not Acceptable',
    413: 'Payload Too Large',
    414: 'URI Too Long',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    431: 'Request Header Fields Too Large',
    503: 'Service Unavailable',
  };
  return texts[code] ?? 'Error';
}
