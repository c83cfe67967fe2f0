// Prometheus metrics for /metrics: one registry per app (so tests can run several apps side by side).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;
  readonly queueDepth: Gauge;
  readonly modelLoadSeconds: Histogram<'model'>;
  readonly batchImages: Histogram<'model'>;
  readonly batchSeconds: Histogram<'model'>;
  readonly imagesGenerated: Counter<'model'>;
  readonly modelsLoaded: Gauge;

  constructor(
    /** Read at each scrape; the app points it at its scheduler (queued and running images). */
    public queueDepthOf: () => number,
    modelsLoaded: () => number,
  ) {
    const registers = [this.registry];
    const queue = (): number => this.queueDepthOf();
    collectDefaultMetrics({ register: this.registry, prefix: 'creativeai_' });
    this.requests = new Counter({
      name: 'creativeai_http_requests_total',
      help: 'HTTP requests answered, by route and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'creativeai_http_request_duration_seconds',
      help: 'Time from request to response',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'creativeai_generation_queue_images',
      help: 'Images waiting for or in generation',
      registers,
      collect() {
        this.set(queue());
      },
    });
    this.modelsLoaded = new Gauge({
      name: 'creativeai_models_loaded',
      help: 'Models held in memory by this process',
      registers,
      collect() {
        this.set(modelsLoaded());
      },
    });
    this.modelLoadSeconds = new Histogram({
      name: 'creativeai_model_load_seconds',
      help: 'Time to load a model into memory',
      labelNames: ['model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.batchImages = new Histogram({
      name: 'creativeai_batch_images',
      help: 'Images per forward pass (requests are batched per model)',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'creativeai_batch_seconds',
      help: 'Time per forward pass including PNG encoding',
      labelNames: ['model'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.imagesGenerated = new Counter({
      name: 'creativeai_images_generated_total',
      help: 'Images generated',
      labelNames: ['model'],
      registers,
    });
  }

  onBatch(model: string, images: number, seconds: number): void {
    this.batchImages.observe({ model }, images);
    this.batchSeconds.observe({ model }, seconds);
    this.imagesGenerated.inc({ model }, images);
  }
}
