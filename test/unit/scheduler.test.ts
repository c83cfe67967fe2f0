// The fair scheduler against a stand-in executor whose work finishes when the test says so: which
// slice goes next, how requests are cut and joined, fair shares by cost, limits, cancel and status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { HttpError } from '../../src/server/errors.js';
import type { ModelCard } from '../../src/server/model-card.js';
import { FairScheduler } from '../../src/server/scheduler.js';
import type {
  GenerateRequest,
  GenerateResult,
  GenerationService,
  InterpolateResult,
} from '../../src/server/service.js';

const card = (name: string, resolutions: number[]): ModelCard => ({
  name,
  title: name,
  family: 'test',
  dataset: 'test',
  description: '',
  condition: 'caption',
  resolutions,
  examples: [],
  metrics: [],
  training: {},
  attention: false,
  invert: resolutions.length === 1,
  default: false,
  directions: [],
  memoryBytes: 0,
});

/** 64 px costs 1 unit an image; 64 + 256 px costs 17. */
const CARDS = [card('small', [64]), card('stacked', [64, 256])];

interface Call {
  req: GenerateRequest;
  finish: () => void;
  fail: (e: Error) => void;
}

/** An executor that answers each call only when the test finishes it; images name their row. */
class Manual implements GenerationService {
  readonly calls: Call[] = [];
  readonly open: Call[] = [];
  models(): ModelCard[] {
    return CARDS;
  }
  card(name: string): ModelCard {
    const c = CARDS.find((x) => x.name === name);
    if (c === undefined) throw new HttpError(404, `unknown model ${name}`);
    return c;
  }
  generate(req: GenerateRequest): Promise<GenerateResult> {
    return new Promise((resolve, reject) => {
      const [from, to] = req.rows ?? [0, req.count];
      const rows = Array.from({ length: to - from }, (_, i) => Buffer.from(`${req.text}#${from + i}`));
      const call: Call = {
        req,
        finish: () => {
          this.open.splice(this.open.indexOf(call), 1);
          resolve({
            stages: this.card(req.model).resolutions.map((resolution) => ({ resolution, images: rows })),
            unknownWords: [],
            queueMs: 0,
            generateMs: 0,
            batchImages: to - from,
          });
        },
        fail: (e) => {
          this.open.splice(this.open.indexOf(call), 1);
          reject(e);
        },
      };
      this.calls.push(call);
      this.open.push(call);
    });
  }
  interpolate(): Promise<InterpolateResult> {
    return Promise.reject(new Error('not used'));
  }
  grid(): Promise<Buffer> {
    return Promise.reject(new Error('not used'));
  }
  attention(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }
  invert(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }
  queueDepth(): number {
    return 0;
  }
  loadedModels(): string[] {
    return [];
  }
  async close(): Promise<void> {}
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const req = (model: string, text: string, count: number): GenerateRequest => ({ model, text, seed: 1, count });

/** Finishes whatever is running, one dispatch at a time, until nothing is left; returns the order. */
async function runAll(m: Manual): Promise<string[]> {
  const order: string[] = [];
  await tick();
  while (m.open.length > 0) {
    for (const c of [...m.open]) {
      order.push(`${c.req.text}[${c.req.rows?.join('-') ?? 'all'}]`);
      c.finish();
    }
    await tick();
    await tick();
  }
  return order;
}

describe('fair scheduler', () => {
  test('a large request runs in slices of at most sliceCost, joined back in row order', async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { sliceCost: 48 });
    const p = s.generate(req('stacked', 'big', 7), 'a');
    const order = await runAll(m);
    // 17 units an image: two images a slice.
    assert.deepEqual(order, ['big[0-2]', 'big[2-4]', 'big[4-6]', 'big[6-7]']);
    const r = await p;
    assert.deepEqual(
      r.stages.map((st) => st.images.map(String)),
      [0, 1].map(() => Array.from({ length: 7 }, (_, i) => `big#${i}`)),
    );
  });

  test('a light request waits behind at most one slice of a heavy one queued before it', async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { sliceCost: 48, maxClientCost: 10_000 });
    const heavy = [1, 2, 3, 4].map((i) => s.generate(req('stacked', `heavy${i}`, 16), 'heavy'));
    await tick();
    const light = s.generate(req('small', 'light', 1), 'light');
    const order = await runAll(m);
    assert.equal(order[0], 'heavy1[0-2]', 'the slice already running');
    assert.equal(order[1], 'light[0-1]', 'then the light request, before the other 31 heavy slices');
    await Promise.all([...heavy, light]);
  });

  test('clients with work waiting share generation equally by cost, whatever their request sizes', async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { sliceCost: 16 });
    // a: one image per request (1 unit), 40 requests; b: 16-image requests (16 units), 3 of them.
    const all = [
      ...Array.from({ length: 40 }, () => s.generate(req('small', 'a', 1), 'a')),
      ...Array.from({ length: 3 }, () => s.generate(req('small', 'b', 16), 'b')),
    ];
    await tick();
    // Count each client's units over the first 48 units dispatched.
    const served = { a: 0, b: 0 };
    let total = 0;
    while (total < 48 && m.open.length > 0) {
      for (const c of [...m.open]) {
        const n = (c.req.rows ?? [0, c.req.count])[1] - (c.req.rows ?? [0, c.req.count])[0];
        served[c.req.text as 'a' | 'b'] += n;
        total += n;
        c.finish();
      }
      await tick();
      await tick();
    }
    assert.ok(Math.abs(served.a - served.b) <= 16, `a ${served.a} units, b ${served.b} units`);
    await runAll(m);
    await Promise.all(all);
  });

  test('requests of one model due together go out as one dispatch, up to sliceCost', async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { sliceCost: 8 });
    const all = Array.from({ length: 20 }, (_, i) => s.generate(req('small', `c${i}`, 1), `client${i}`));
    await tick();
    assert.equal(m.open.length, 1, 'the first request went out alone, as it arrived');
    m.open[0]!.finish();
    await tick();
    await tick();
    assert.equal(m.open.length, 8, 'then eight 1-unit requests that waited, in one dispatch');
    await runAll(m);
    assert.equal((await Promise.all(all)).length, 20);
  });

  test("past a client's limit its new work gets 429, past the queue's 503, both with Retry-After", async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { maxClientCost: 40, maxQueueCost: 80, sliceCost: 17 });
    const first = s.generate(req('stacked', 'x', 2), 'greedy'); // 34 units
    await tick();
    const second = s.generate(req('stacked', 'x', 1), 'greedy'); // 17 queued: fine (nothing else queued)
    assert.throws(
      () => s.submit('generate', req('stacked', 'x', 2), 'greedy'),
      (e: HttpError) => e.statusCode === 429 && Number(e.headers['retry-after']) >= 1,
    );
    // Queued now: greedy's 17 + 17, other's 34: 68 of 80, and 16 more do not fit.
    const other = s.generate(req('stacked', 'y', 2), 'other');
    assert.throws(
      () => s.submit('generate', req('small', 'z', 16), 'third'),
      (e: HttpError) => e.statusCode === 503 && e.headers['retry-after'] !== undefined,
    );
    assert.throws(
      () => s.submit('generate', req('stacked', 'z', 5), 'fourth'),
      (e: HttpError) => e.statusCode === 400 && /more than this server queues at once/.test(e.message),
      'a request larger than the whole queue can never run: 400, not a Retry-After that never helps',
    );
    await runAll(m);
    await Promise.all([first, second, other]);
  });

  test('status gives position, progress and an ETA; cancel drops the queued rest', async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { sliceCost: 17 });
    const a = s.submit('generate', req('stacked', 'a', 3), 'a', (r) => r);
    const b = s.submit('generate', req('stacked', 'b', 2), 'b', (r) => r);
    const c = s.submit('generate', req('stacked', 'c', 1), 'c', (r) => r);
    await tick();
    const sa = s.status(a.id)!;
    assert.equal(sa.state, 'running');
    assert.equal(sa.position, 0);
    assert.deepEqual([sa.done, sa.total], [0, 3]);
    // Newcomers start at the current virtual time, ahead of a's later slices: b, then c.
    const sb = s.status(b.id)!;
    assert.equal(sb.state, 'queued');
    assert.equal(sb.position, 0);
    assert.equal(s.status(c.id)!.position, 1, "b's first slice comes before c's");
    m.open[0]!.finish();
    await tick();
    await tick();
    assert.deepEqual([s.status(a.id)!.done, s.status(a.id)!.total], [1, 3]);
    assert.ok(s.status(b.id)!.etaMs >= 0);
    const cancelled = s.cancel(a.id)!;
    assert.equal(cancelled.state, 'cancelled');
    const order = await runAll(m);
    assert.ok(!order.slice(1).some((x) => x.startsWith('a[')), `a's remaining slices never ran: ${order.join(' ')}`);
    await assert.rejects(a.promise, (e: HttpError) => e.statusCode === 409);
    assert.equal(s.status(c.id)!.state, 'done');
    const done = s.status(b.id)!;
    assert.equal(done.state, 'done');
    assert.ok(done.result !== undefined);
    assert.equal(s.status('no-such-job'), undefined);
  });

  test('a failed slice fails its job once; an unknown model is 404 before queueing', async () => {
    const m = new Manual();
    const logged: string[] = [];
    const s = new FairScheduler(m, { sliceCost: 17, log: (x) => logged.push(x) });
    assert.throws(
      () => s.submit('generate', req('nope', 'x', 1), 'a'),
      (e: HttpError) => e.statusCode === 404,
    );
    const job = s.submit('generate', req('stacked', 'x', 3), 'a', (r) => r);
    await tick();
    m.open[0]!.fail(new Error('boom'));
    await tick();
    await assert.rejects(job.promise, /boom/);
    const st = s.status(job.id)!;
    assert.equal(st.state, 'failed');
    assert.deepEqual(st.error, { statusCode: 500, message: 'the server failed; the error was logged' });
    assert.equal(logged.length, 1, 'a polled job that fails is logged (nobody else sees its cause)');
    assert.equal(m.open.length, 0, 'its other slices were dropped');
  });

  test('close fails what is queued with 503 and waits for what runs', async () => {
    const m = new Manual();
    const s = new FairScheduler(m, { sliceCost: 17 });
    const running = s.generate(req('stacked', 'a', 1), 'a');
    const queued = s.generate(req('stacked', 'b', 1), 'b');
    await tick();
    const closing = s.close();
    await assert.rejects(queued, (e: HttpError) => e.statusCode === 503);
    m.open[0]!.finish();
    await closing;
    assert.equal((await running).stages[0]!.images.length, 1);
    assert.throws(
      () => s.submit('generate', req('small', 'c', 1), 'c'),
      (e: HttpError) => e.statusCode === 503,
    );
  });
});
