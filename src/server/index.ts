// server: the HTTP API, web page, Real-or-Fake game and scale-out workers.
export { buildApp, PACKAGE_ROOT, type AppOptions } from './app.js';
export { HttpError, QueueFullError } from './errors.js';
export { RealOrFakeGame } from './game.js';
export { LocalGenerationService, type LocalServiceOptions } from './local-service.js';
export { ServerMetrics } from './metrics.js';
export { readModelCard, type ModelCard, type ModelMetric } from './model-card.js';
export { QueueGenerationService, startWorker, QUEUE_NAME } from './queue.js';
export { FairScheduler, type JobStatus, type SchedulerOptions } from './scheduler.js';
export { ThreadGenerationService, type ThreadServiceOptions } from './thread-service.js';
export { ModelRegistry, MODEL_NAME, type RegistryOptions } from './registry.js';
export type * from './service.js';
