// Serving under load (issue 21) on the bundled models: jobs with position, progress and cancel; large
// requests cut into slices give the images the whole request gives; generation on its own thread
// leaves the HTTP thread free, and a dead generation thread is replaced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance } from 'fastify';

import { LocalGenerationService, ModelRegistry, ThreadGenerationService, buildApp } from '../../src/server/index.js';
import { decodeLatent } from '../../src/server/latent-token.js';
import type { JobStatus } from '../../src/server/schemas.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const models = path.join(root, 'models');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-serving-'));
const STACK = 'stackgan-cub';
const TAGS = 'tag-gan-anime';
const CAPTION = 'this bird is red with white and has a very short beak';

interface Generated {
  stages: { resolution: number; images: string[] }[];
}

const post = (app: FastifyInstance, url: string, body: unknown) =>
  app.inject({ method: 'POST', url, payload: body as Record<string, unknown> });

async function until(app: FastifyInstance, id: string, done: (s: JobStatus) => boolean): Promise<JobStatus> {
  for (;;) {
    const r = await app.inject(`/api/jobs/${id}`);
    assert.equal(r.statusCode, 200, r.body);
    const s = r.json<JobStatus>();
    if (done(s)) return s;
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe('jobs and slices (in-process generation)', () => {
  let app: FastifyInstance;
  let service: LocalGenerationService;
  before(async () => {
    service = new LocalGenerationService(new ModelRegistry([models]));
    app = await buildApp({ service, game: { statsFile: path.join(tmp, 'game.json') } });
  });
  after(async () => {
    await app.close();
    await service.close();
  });

  test('a job answers 202 at once, reports progress, and ends with what the synchronous route gives', async () => {
    const body = { model: STACK, text: CAPTION, seed: 11, count: 6 };
    const q = await post(app, '/api/jobs/generate', body);
    assert.equal(q.statusCode, 202, q.body);
    const job = q.json<JobStatus>();
    assert.equal(q.headers.location, `/api/jobs/${job.id}`);
    assert.deepEqual([job.kind, job.model, job.total], ['generate', STACK, 6]);
    assert.ok(['queued', 'running'].includes(job.state));
    const seen = new Set<number>();
    const done = await until(app, job.id, (s) => {
      seen.add(s.done);
      return s.state === 'done';
    });
    assert.ok(seen.size >= 2, `progress was visible on the way: ${[...seen].join(', ')} images done`);
    assert.equal(done.done, 6);
    const sync = await post(app, '/api/generate', body);
    assert.equal(sync.statusCode, 200);
    const result = done.result as Generated;
    assert.deepEqual(
      result.stages.map((s) => s.images),
      sync.json<Generated>().stages.map((s) => s.images),
    );
  });

  test('a request cut into slices gives the same images as one forward pass for all of it', async () => {
    // StackGAN images cost 17 units; the default slice is 48, so 16 images run as 8 slices of 2.
    const sliced = await post(app, '/api/generate', { model: STACK, text: CAPTION, seed: 5, count: 16 });
    assert.equal(sliced.statusCode, 200);
    const whole = await service.generate({ model: STACK, text: CAPTION, seed: 5, count: 16 });
    const got = sliced.json<Generated>().stages.map((s) => s.images);
    const want = whole.stages.map((s) => s.images.map((b) => `data:image/png;base64,${b.toString('base64')}`));
    assert.equal(got[1]!.length, 16);
    assert.deepEqual(got, want);
  });

  test('cancel stops a job; failures and unknown jobs are clear', async () => {
    const big = await post(app, '/api/jobs/generate', { model: STACK, text: CAPTION, seed: 1, count: 16 });
    const queued = await post(app, '/api/jobs/generate', { model: STACK, text: CAPTION, seed: 2, count: 16 });
    const id = queued.json<JobStatus>().id;
    const c = await app.inject({ method: 'DELETE', url: `/api/jobs/${id}` });
    assert.equal(c.statusCode, 200);
    assert.equal(c.json<JobStatus>().state, 'cancelled');
    assert.ok(c.json<JobStatus>().done < 16);
    assert.equal((await app.inject(`/api/jobs/${id}`)).json<JobStatus>().state, 'cancelled');
    await until(app, big.json<JobStatus>().id, (s) => s.state === 'done');

    const bad = await post(app, '/api/jobs/generate', { model: TAGS, text: 'blue hair', seed: 1 });
    assert.equal(bad.statusCode, 202);
    const failed = await until(app, bad.json<JobStatus>().id, (s) => s.state !== 'queued' && s.state !== 'running');
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.statusCode, 400);
    assert.match(failed.error?.message ?? '', /no eye colour/);

    assert.equal((await app.inject('/api/jobs/nosuchjob')).statusCode, 404);
    assert.equal((await app.inject('/api/jobs/not%20an%20id')).statusCode, 400);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/jobs/nosuchjob' })).statusCode, 404);
    assert.equal((await post(app, '/api/jobs/generate', { model: 'nope', text: 'a bird' })).statusCode, 404);
  });

  test('interpolation and word attention run as jobs too', async () => {
    const i = await post(app, '/api/jobs/interpolate', {
      model: TAGS,
      from: 'blue hair red eyes',
      to: 'red hair blue eyes',
      steps: 4,
      seed: 3,
    });
    assert.equal(i.statusCode, 202);
    const s = await until(app, i.json<JobStatus>().id, (x) => x.state === 'done');
    assert.equal((s.result as Generated).stages[0]!.images.length, 4);
    const a = await post(app, '/api/jobs/attention', { model: TAGS, text: 'blue hair red eyes' });
    assert.equal(a.statusCode, 400, 'a model without attention is refused before queueing');
  });
});

describe('generation on its own thread', () => {
  let thread: ThreadGenerationService;
  let app: FastifyInstance;
  const logged: string[] = [];
  before(async () => {
    thread = new ThreadGenerationService(new ModelRegistry([models]), { log: (m) => logged.push(m) });
    await thread.ready();
    app = await buildApp({
      service: thread,
      game: { statsFile: path.join(tmp, 'game-thread.json') },
      logError: (m) => logged.push(m),
    });
  });
  after(async () => {
    await app.close();
    await thread.close();
  });

  test('gives the bytes in-process generation gives', async () => {
    const local = new LocalGenerationService(new ModelRegistry([models]));
    try {
      const body = { model: STACK, text: CAPTION, seed: 21, count: 3 };
      const r = await post(app, '/api/generate', body);
      assert.equal(r.statusCode, 200, r.body);
      const want = await local.generate(body);
      assert.deepEqual(
        r.json<Generated>().stages.map((s) => s.images),
        want.stages.map((s) => s.images.map((b) => `data:image/png;base64,${b.toString('base64')}`)),
      );
      assert.deepEqual(thread.loadedModels(), [STACK]);
    } finally {
      await local.close();
    }
  });

  test('latents, directions and invert work across the thread, the images in-process ones', async () => {
    const tags = 'tag-gan-anime';
    const g = await post(app, '/api/generate', { model: tags, text: 'red hair blue eyes', seed: 4 });
    assert.equal(g.statusCode, 200, g.body);
    const { latent, stages } = g.json<Generated & { latent: string }>();
    const inv = await post(app, '/api/invert', {
      model: tags,
      text: 'red hair blue eyes',
      image: stages[0]!.images[0],
      steps: 3,
      starts: 1,
    });
    assert.equal(inv.statusCode, 200, inv.body);
    const found = inv.json<{ latent: string; reconstruction: string; target: string }>();
    assert.equal(found.target, stages[0]!.images[0]);
    const local = new LocalGenerationService(new ModelRegistry([models]));
    try {
      const edit = { directions: { 'hair:green': 0.5 }, psi: 0.8 };
      const r = await post(app, '/api/generate', { model: tags, text: 'red hair blue eyes', latent, ...edit });
      assert.equal(r.statusCode, 200, r.body);
      const z = decodeLatent(latent);
      const want = await local.generate({
        model: tags,
        text: 'red hair blue eyes',
        seed: 0,
        count: 1,
        latent: z,
        ...edit,
      });
      assert.equal(
        r.json<Generated>().stages[0]!.images[0],
        `data:image/png;base64,${want.stages[0]!.images[0]!.toString('base64')}`,
      );
    } finally {
      await local.close();
    }
  });

  test('/healthz and job status answer while a large request is being generated', async () => {
    const heavy = post(app, '/api/generate', { model: STACK, text: CAPTION, seed: 3, count: 16 });
    let heavyDone = false;
    void heavy.then(() => (heavyDone = true));
    await new Promise((r) => setTimeout(r, 50));
    const health = await app.inject('/healthz');
    assert.equal(health.statusCode, 200);
    assert.equal(heavyDone, false, '/healthz answered before the generation finished: it did not wait on it');
    assert.ok(health.json<{ queueImages: number }>().queueImages > 0);
    assert.equal((await heavy).statusCode, 200);
  });

  test('a generation thread that dies fails the calls it holds (logged) and is replaced', async () => {
    // The crash goes first and the request right behind it: the thread dies with the request sent to
    // it and unanswered, whatever the machine's load.
    thread.crashForTests();
    const pending = thread.generate({ model: TAGS, text: 'blue hair red eyes', seed: 4, count: 1 });
    await assert.rejects(pending, /the generation thread stopped \(exit code 1\) before answering/);
    assert.ok(
      logged.some((m) => /generation thread exited/.test(m)),
      logged.join('\n'),
    );
    assert.ok(
      logged.some((m) => /told to crash/.test(m)),
      'the cause is logged',
    );
    assert.equal(thread.health().ok, false, 'degraded until the new thread is up');
    assert.equal((await app.inject('/healthz')).statusCode, 503);
    // A call made meanwhile waits for the new thread instead of being lost with the old one.
    const meanwhile = thread.generate({ model: TAGS, text: 'blue hair red eyes', seed: 5, count: 1 });
    await thread.ready();
    assert.equal(thread.health().ok, true);
    assert.equal(thread.restarts, 1);
    assert.equal((await meanwhile).stages[0]!.images.length, 1);
    const again = await post(app, '/api/generate', { model: TAGS, text: 'blue hair red eyes', seed: 1 });
    assert.equal(again.statusCode, 200, again.body);
  });
});
