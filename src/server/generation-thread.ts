// The body of the generation thread (ThreadGenerationService starts it): the models and the
// in-process batcher live here, so forward passes never block the HTTP thread's event loop. It
// answers the main thread's calls one message each; load and batch events feed /metrics there.
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

import type { Device } from '../engine/index.js';
import { HttpError } from './errors.js';
import { LocalGenerationService } from './local-service.js';
import { ModelRegistry } from './registry.js';
import { PNG_TAG, type ThreadCall, type ThreadMessage, type ThreadOptions } from './thread-protocol.js';

if (parentPort === null) throw new Error('generation-thread.js runs as a worker thread (ThreadGenerationService)');
const port = parentPort;
// On Linux a thread's nice value is its own and the threads it starts inherit it (libtorch's
// OpenMP team, sharp's encoders): generation yields the CPU to the HTTP thread, which then answers
// /healthz, the page and queue status in milliseconds even when both cores are generating.
try {
  os.setPriority(10);
} catch {
  // Not permitted (some containers): generation then competes with the HTTP thread as an equal.
}
const o = workerData as ThreadOptions;
const post = (m: ThreadMessage): void => port.postMessage(m);

const registry = new ModelRegistry(o.dirs, {
  device: o.device as Device,
  memoryLimitBytes: o.memoryLimitBytes,
  onLoad: (name, seconds) => post({ event: 'load', name, seconds }),
  log: (message) => post({ event: 'log', message }),
});
const service = new LocalGenerationService(registry, {
  maxBatchImages: o.maxBatchImages,
  // The main thread's scheduler decides admission; this queue only holds what it dispatched.
  maxQueueImages: Number.MAX_SAFE_INTEGER,
  onBatch: (model, images, seconds) => {
    post({ event: 'batch', model, images, seconds });
    post({ event: 'loaded', names: registry.loadedNames() });
  },
});

async function answer(call: ThreadCall): Promise<unknown> {
  switch (call.method) {
    case 'generate':
      return service.generate(call.req);
    case 'interpolate':
      return service.interpolate(call.req);
    case 'grid':
      return service.grid(call.req);
    case 'attention':
      return service.attention(call.req);
    case 'invert':
      // A Buffer arrives as a plain Uint8Array (structured clone).
      return service.invert({ ...call.req, image: Buffer.from(call.req.image) });
  }
}

/** Every PNG with its base64 text beside it (the HTTP thread's replies need it; see json-images.ts). */
function withBase64(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { [PNG_TAG]: v, base64: Buffer.from(v.toString('base64'), 'latin1') };
  if (Array.isArray(v)) return v.map(withBase64);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withBase64(x)]));
  return v;
}

port.on('message', (m: ThreadCall | { close: true } | { crash: true }) => {
  if ('close' in m) {
    void service.close().then(() => port.close());
    return;
  }
  // The recovery path's test: an uncaught error ends this thread the way a bug would.
  if ('crash' in m) throw new Error('the generation thread was told to crash');
  answer(m).then(
    (value) => post({ id: m.id, ok: true, value: withBase64(value) }),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      post({
        id: m.id,
        ok: false,
        error:
          err instanceof HttpError
            ? { statusCode: err.statusCode, message: err.message, headers: err.headers }
            : { message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) },
      });
    },
  );
});

post({ event: 'ready', models: registry.list().length, problems: registry.problems });
