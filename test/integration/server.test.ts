// The HTTP API on the bundled models: generation, seeds, batching, interpolation, the HW3-2 grid, the
// game, metrics, and thousands of bad requests that must all get a 4xx, never a 5xx.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';

import { liveTensors } from '../../src/engine/index.js';
import { checkTensorsDigest } from '../../src/io/index.js';
import { LocalGenerationService, ModelRegistry, buildApp } from '../../src/server/index.js';
import { Prng } from '../../src/util/prng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const models = path.join(root, 'models');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-server-'));
const TAGS = 'tag-gan-anime';
const CUB = 'gan-int-cls-cub';
const ACGAN = 'tag-acgan-anime';
const STACK = 'stackgan-cub';
/** Every bundled model's name, sorted: what the API lists and the game plays. */
const BUNDLED = [
  'attngan-cub',
  'dfgan-cub',
  'dfgan-cub-256',
  CUB,
  STACK,
  'stackgan-pp-cub',
  ACGAN,
  TAGS,
  'tag-projection-anime',
  'wgan-cls-cub',
  'wgan-cls-stage2-cub',
];

/** The raw RGB bytes of a PNG data URL. */
async function pixels(dataUrl: string): Promise<Buffer> {
  return sharp(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'))
    .removeAlpha()
    .raw()
    .toBuffer();
}

interface Generated {
  seed: number;
  stages: { resolution: number; images: string[] }[];
  unknownWords: string[];
  batchImages: number;
}

const png = (dataUrl: string): Buffer => Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');

async function makeApp(o: { maxQueueImages?: number; memoryLimitBytes?: number } = {}) {
  const registry = new ModelRegistry([models], {
    ...(o.memoryLimitBytes !== undefined ? { memoryLimitBytes: o.memoryLimitBytes } : {}),
  });
  const service = new LocalGenerationService(registry, {
    ...(o.maxQueueImages !== undefined ? { maxQueueImages: o.maxQueueImages } : {}),
  });
  const app = await buildApp({ service, game: { statsFile: path.join(tmp, `game-${Date.now()}.json`) } });
  return { app, service, registry };
}

/** A guess sent with a player's cookie ('' for none). */
function guessAs(app: FastifyInstance, cookie: string, id: string, guess: 'real' | 'fake') {
  return app.inject({
    method: 'POST',
    url: '/api/game/guess',
    payload: { id, guess },
    headers: cookie ? { cookie } : {},
  });
}

function post(app: FastifyInstance, url: string, body: unknown) {
  return app.inject({ method: 'POST', url, payload: body as Record<string, unknown> });
}

describe('HTTP API', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await makeApp());
  });
  after(async () => {
    await app.close();
  });

  test('lists the bundled models with their cards', async () => {
    const r = await app.inject('/api/models');
    assert.equal(r.statusCode, 200);
    const { models: list } = r.json<{
      models: {
        name: string;
        condition: string;
        metrics: unknown[];
        examples: string[];
        default: boolean;
        resolutions: number[];
      }[];
    }>();
    const names = list.map((m) => m.name);
    assert.deepEqual(names.sort(), BUNDLED);
    const tags = list.find((m) => m.name === TAGS)!;
    assert.equal(tags.condition, 'tags');
    assert.ok(tags.metrics.length > 0 && tags.examples.length > 0);
    assert.equal(list.find((m) => m.name === CUB)!.condition, 'caption');
    // The default bird model: a caption model with its card's examples and the seed's caption first.
    const df = list.find((m) => m.name === 'dfgan-cub')!;
    assert.equal(df.condition, 'caption');
    assert.equal(df.examples[0], 'this bird is red with white and has a very short beak');
    // DF-GAN grown to 256 px draws at that side alone (one stage, no Stage-I image).
    assert.deepEqual(list.find((m) => m.name === 'dfgan-cub-256')!.resolutions, [256]);
    // Its card makes it the page's first model, whatever the file names sort to.
    assert.deepEqual(
      list.filter((m) => m.default).map((m) => m.name),
      ['dfgan-cub'],
    );
  });

  test("the bundled AttnGAN answers the seed's caption with a word-attention map per word at 128 and 256 px", async () => {
    const listed = (await app.inject('/api/models')).json<{ models: { name: string; attention: boolean }[] }>();
    assert.deepEqual(
      listed.models.filter((m) => m.attention).map((m) => m.name),
      ['attngan-cub'],
    );
    const text = 'this bird is red with white and has a very short beak';
    const r = await post(app, '/api/attention', { model: 'attngan-cub', text, seed: 3 });
    assert.equal(r.statusCode, 200, r.body);
    const a = r.json<{
      words: string[];
      unknownWords: string[];
      stages: { resolution: number; image: string }[];
      attention: { resolution: number; maps: string[] }[];
    }>();
    assert.deepEqual(a.words, text.split(' '));
    assert.deepEqual(a.unknownWords, []);
    assert.deepEqual(
      a.stages.map((s) => s.resolution),
      [64, 128, 256],
    );
    // Each attentional stage attends over the grid of the stage below: one map per word, drawn over its image.
    assert.deepEqual(
      a.attention.map((s) => [s.resolution, s.maps.length]),
      [
        [128, 12],
        [256, 12],
      ],
    );
    for (const stage of a.attention) {
      for (const m of stage.maps) {
        const meta = await sharp(png(m)).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['png', stage.resolution, stage.resolution]);
      }
      assert.ok(new Set(stage.maps).size > 1, 'the words look at different places');
    }
  });

  test('generate: 64×64 PNGs, the seed returned, the same seed gives the same bytes', async () => {
    const a = await post(app, '/api/generate', { model: TAGS, text: 'blue hair red eyes', seed: 7, count: 3 });
    assert.equal(a.statusCode, 200, a.body);
    const ga = a.json<Generated>();
    assert.equal(ga.seed, 7);
    assert.equal(ga.stages.length, 1);
    assert.equal(ga.stages[0]!.resolution, 64);
    assert.equal(ga.stages[0]!.images.length, 3);
    const meta = await sharp(png(ga.stages[0]!.images[0]!)).metadata();
    assert.equal(meta.width, 64);
    assert.equal(meta.height, 64);
    const b = (
      await post(app, '/api/generate', { model: TAGS, text: 'Blue hair,  RED eyes', seed: 7, count: 3 })
    ).json<Generated>();
    assert.deepEqual(b.stages[0]!.images, ga.stages[0]!.images);
    assert.notEqual(ga.stages[0]!.images[0], ga.stages[0]!.images[1], 'three samples of one seed differ');
    const c = (
      await post(app, '/api/generate', { model: TAGS, text: 'blue hair red eyes', seed: 8 })
    ).json<Generated>();
    assert.notEqual(c.stages[0]!.images[0], ga.stages[0]!.images[0]);
    const d = (await post(app, '/api/generate', { model: TAGS, text: 'blue hair red eyes' })).json<Generated>();
    assert.ok(Number.isInteger(d.seed) && d.seed >= 0, 'a random seed is returned');
  });

  test('truncation changes the noise, deterministically', async () => {
    const body = { model: CUB, text: 'a small yellow bird with black wings', seed: 3 };
    const plain = (await post(app, '/api/generate', body)).json<Generated>();
    const t1 = (await post(app, '/api/generate', { ...body, truncation: 0.5 })).json<Generated>();
    const t2 = (await post(app, '/api/generate', { ...body, truncation: 0.5 })).json<Generated>();
    assert.notEqual(t1.stages[0]!.images[0], plain.stages[0]!.images[0]);
    assert.equal(t1.stages[0]!.images[0], t2.stages[0]!.images[0]);
  });

  test('unknown words are reported for caption models; unreadable tags are a 400 that says why', async () => {
    const r = await post(app, '/api/generate', { model: CUB, text: 'this bird is zorglub red', seed: 1 });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json<Generated>().unknownWords, ['zorglub']);
    const bad = await post(app, '/api/generate', { model: TAGS, text: 'blue hair', seed: 1 });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ message: string }>().message, /no eye colour/);
    const colour = await post(app, '/api/generate', { model: TAGS, text: 'plaid hair red eyes', seed: 1 });
    assert.equal(colour.statusCode, 400);
    assert.match(colour.json<{ message: string }>().message, /unknown hair colour "plaid"/);
  });

  test('a caption with no word the model knows is a 400 naming them, emoji-only included', async () => {
    const none = await post(app, '/api/generate', { model: CUB, text: 'zorglub quux', seed: 1 });
    assert.equal(none.statusCode, 400);
    assert.match(none.json<{ message: string }>().message, /knows none of the words of this caption \(zorglub, quux\)/);
    const emoji = await post(app, '/api/generate', { model: CUB, text: '🐦🐦 !!', seed: 1 });
    assert.equal(emoji.statusCode, 400);
    assert.match(emoji.json<{ message: string }>().message, /no words, only symbols or punctuation/);
    const interp = await post(app, '/api/interpolate', { model: CUB, from: '🐦', to: 'a red bird', steps: 2 });
    assert.equal(interp.statusCode, 400);
  });

  test('concurrent requests are batched and give the same images as alone', async () => {
    const texts = ['blue hair red eyes', 'pink hair green eyes', 'white hair aqua eyes', 'black hair yellow eyes'];
    const alone: Generated[] = [];
    for (const [i, text] of texts.entries())
      alone.push((await post(app, '/api/generate', { model: TAGS, text, seed: 100 + i, count: 2 })).json<Generated>());
    const together = await Promise.all(
      texts.map((text, i) => post(app, '/api/generate', { model: TAGS, text, seed: 100 + i, count: 2 })),
    );
    const results = together.map((r) => r.json<Generated>());
    assert.ok(
      results.some((r) => r.batchImages > 2),
      `expected batching, got batch sizes ${results.map((r) => r.batchImages).join(',')}`,
    );
    // The CPU kernels may sum in another order for another batch size (differences of ~5e-7): a pixel
    // right at a rounding boundary can then come out one grey level apart, nothing more.
    for (const [i, r] of results.entries()) {
      const got = r.stages[0]!.images;
      const want = alone[i]!.stages[0]!.images;
      assert.equal(got.length, want.length);
      for (let k = 0; k < got.length; k++) {
        if (got[k] === want[k]) continue;
        const [a, b] = await Promise.all([got[k]!, want[k]!].map((u) => pixels(u)));
        let worst = 0;
        let differing = 0;
        for (let j = 0; j < a!.length; j++) {
          const d = Math.abs(a![j]! - b![j]!);
          worst = Math.max(worst, d);
          differing += Number(d > 0);
        }
        assert.ok(
          worst <= 1 && differing <= a!.length / 1000,
          `${texts[i]}: ${differing} values differ, by up to ${worst}`,
        );
      }
    }
  });

  test('interpolation: steps images, the same noise, starting at the first caption', async () => {
    const from = 'a small bright yellow bird with black wings';
    const to = 'a large dark blue bird with a long tail';
    const r = await post(app, '/api/interpolate', { model: CUB, from, to, steps: 5, seed: 11 });
    assert.equal(r.statusCode, 200, r.body);
    const frames = r.json<Generated>().stages[0]!.images;
    assert.equal(frames.length, 5);
    assert.equal(new Set(frames).size, 5);
    const first = (await post(app, '/api/generate', { model: CUB, text: from, seed: 11 })).json<Generated>();
    assert.equal(frames[0], first.stages[0]!.images[0]);
    const last = (await post(app, '/api/generate', { model: CUB, text: to, seed: 11 })).json<Generated>();
    assert.equal(frames[4], last.stages[0]!.images[0]);
  });

  test('grid: the HW3-2 testing tags as one 5×5 PNG of 64×64 faces; bad lines are named', async () => {
    const tags = fs.readFileSync(path.join(root, 'samples/testing_tags.txt'), 'utf8');
    const r = await post(app, '/api/grid', { model: TAGS, tags });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    const meta = await sharp(r.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [320, 320]);
    const bad = await post(app, '/api/grid', { model: TAGS, tags: '1,blue hair red eyes\n2,blue hair\n' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ message: string }>().message, /line 2: no eye colour/);
  });

  test('health, Prometheus metrics and the OpenAPI document', async () => {
    const h = await app.inject('/healthz');
    assert.equal(h.statusCode, 200);
    assert.equal(h.json<{ status: string }>().status, 'ok');
    const m = await app.inject('/metrics');
    assert.equal(m.statusCode, 200);
    assert.match(m.headers['content-type'] as string, /text\/plain/);
    assert.match(m.body, /creativeai_http_requests_total\{method="POST",route="\/api\/generate",status="200"\} \d+/);
    assert.match(m.body, /creativeai_generation_queue_images 0/);
    assert.match(m.body, /creativeai_http_request_duration_seconds_bucket/);
    const docs = await app.inject('/docs/json');
    assert.equal(docs.statusCode, 200);
    const spec = docs.json<{ openapi: string; paths: Record<string, unknown> }>();
    assert.match(spec.openapi, /^3\./);
    for (const p of ['/api/models', '/api/generate', '/api/interpolate', '/api/grid', '/api/game/round'])
      assert.ok(p in spec.paths, `${p} in OpenAPI`);
  });

  test('no tensors are left behind by requests', async () => {
    await post(app, '/api/generate', { model: CUB, text: 'a red bird', seed: 1 });
    const before = liveTensors();
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post(app, '/api/generate', { model: TAGS, text: 'red hair blue eyes', seed: i }),
      ),
    );
    await post(app, '/api/interpolate', { model: CUB, from: 'a red bird', to: 'a blue bird', steps: 3, seed: 1 });
    await post(app, '/api/generate', { model: TAGS, text: 'blue hair', seed: 1 });
    assert.equal(liveTensors(), before);
  });
});

describe('bad input gets a 4xx that says what is wrong', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await makeApp());
  });
  after(async () => {
    await app.close();
  });

  const ok = { model: TAGS, text: 'blue hair red eyes' };
  const cases: [string, unknown, number, RegExp][] = [
    ['empty text', { ...ok, text: '' }, 400, /text must NOT have fewer than 1 characters/],
    ['blank text', { ...ok, text: '  \n ' }, 400, /text is empty/],
    ['10,000 characters', { ...ok, text: 'a'.repeat(10_000) }, 400, /more than 500 characters/],
    ['control character', { ...ok, text: 'blue\u0007 hair' }, 400, /control character \(U\+0007\)/],
    ['lone surrogate', { ...ok, text: 'blue \ud800 hair' }, 400, /lone surrogate/],
    ['unknown model', { ...ok, model: 'stackgan-9000' }, 404, /unknown model "stackgan-9000"; available: /],
    ['count 10^6', { ...ok, count: 1e6 }, 400, /count must be <= 16/],
    ['count 0', { ...ok, count: 0 }, 400, /count must be >= 1/],
    ['count 2.5', { ...ok, count: 2.5 }, 400, /count must be integer/],
    ['negative seed', { ...ok, seed: -1 }, 400, /seed must be >= 0/],
    ['huge seed', { ...ok, seed: 2 ** 40 }, 400, /seed must be <= 4294967295/],
    ['seed as string', { ...ok, seed: '5' }, 400, /seed must be integer/],
    ['text as number', { ...ok, text: 5 }, 400, /text must be string/],
    ['missing text', { model: TAGS }, 400, /must have required property 'text'/],
    ['unknown field', { ...ok, colour: 'red' }, 400, /must NOT have additional properties/],
    ['truncation 0', { ...ok, truncation: 0 }, 400, /truncation must be > 0/],
    ['array body', [ok], 400, /body must be object/],
    ['null body', null, 400, /body must be object/],
  ];
  for (const [name, body, code, message] of cases)
    test(name, async () => {
      const r = await app.inject({
        method: 'POST',
        url: '/api/generate',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      assert.equal(r.statusCode, code, r.body);
      assert.match(r.json<{ message: string }>().message, message);
    });

  test('raw bodies: invalid UTF-8, broken JSON, empty, wrong type, oversized', async () => {
    const send = (payload: Buffer | string, type = 'application/json') =>
      app.inject({ method: 'POST', url: '/api/generate', headers: { 'content-type': type }, payload });
    const utf8 = await send(
      Buffer.concat([
        Buffer.from('{"model":"tag-gan-anime","text":"blue '),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(' hair red eyes"}'),
      ]),
    );
    assert.equal(utf8.statusCode, 400);
    assert.match(utf8.json<{ message: string }>().message, /not valid UTF-8/);
    const broken = await send('{"model": "tag-gan-anime", ');
    assert.equal(broken.statusCode, 400);
    assert.match(broken.json<{ message: string }>().message, /not valid JSON/);
    assert.equal((await send('')).statusCode, 400);
    const xml = await send('<x/>', 'application/xml');
    assert.equal(xml.statusCode, 415);
    const big = await send(JSON.stringify({ ...ok, text: 'a'.repeat(200_000) }));
    assert.equal(big.statusCode, 413);
  });

  test('model names cannot reach files outside the model directories', async () => {
    const outside = path.join(tmp, 'outside.safetensors');
    fs.copyFileSync(path.join(models, `${TAGS}.safetensors`), outside);
    for (const model of [
      '../models/tag-gan-anime',
      `..${path.sep}${path.relative(models, outside).replace(/\.safetensors$/, '')}`,
      outside,
      outside.replace(/\.safetensors$/, ''),
      '/etc/passwd',
      'tag-gan-anime.safetensors',
      'tag-gan-anime/../tag-gan-anime',
      '%2e%2e%2fmodels%2ftag-gan-anime',
    ]) {
      const r = await post(app, '/api/generate', { model, text: 'blue hair red eyes', seed: 1 });
      assert.equal(r.statusCode, 404, `${model}: ${r.body}`);
      const g = await app.inject(`/api/game/round?model=${encodeURIComponent(model)}`);
      assert.ok(g.statusCode === 404 || g.statusCode === 400, `${model}: ${g.statusCode}`);
    }
  });

  test('fuzz: 10,000 random bad requests to every route that takes input, never a 5xx, and the server still serves', async () => {
    const rng = new Prng(20261123);
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
    const junkString = (): string => {
      const n = pick([0, 1, 5, 40, 600, 3000]);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(pick([rng.int(32), 32 + rng.int(95), rng.int(0xffff)]));
      return s;
    };
    const junkValue = (): unknown =>
      pick([
        () => junkString(),
        () => rng.int(2 ** 31) * pick([1, -1]),
        () => pick([0, -0, 1e308, -1e308, 0.5, 2 ** 53, NaN]),
        () => null,
        () => pick([true, false]),
        () => [junkString()],
        () => ({ x: junkString() }),
      ])();
    const fields = [
      'model',
      'text',
      'seed',
      'count',
      'truncation',
      'from',
      'to',
      'steps',
      'tags',
      'id',
      'guess',
      'latent',
      'directions',
      'psi',
      'image',
      'starts',
    ];
    // Values close to valid ones for the latent-space fields, so the checks past the schema are hit too.
    const nearValue = (f: string): unknown => {
      if (f === 'latent') return `z1.${Buffer.from(junkString()).toString('base64url')}`;
      if (f === 'directions')
        return { [pick(['hair:green', 'eyes:red', 'noise:hair:red', junkString()])]: junkValue() };
      if (f === 'image')
        return (
          pick(['data:image/png;base64,', 'data:image/gif;base64,R0lGOD', '']) +
          Buffer.from(junkString()).toString('base64')
        );
      return junkValue();
    };
    const urls = [
      '/api/generate',
      '/api/interpolate',
      '/api/grid',
      '/api/attention',
      '/api/game/guess',
      '/api/jobs/generate',
      '/api/jobs/interpolate',
      '/api/jobs/attention',
      '/api/invert',
      '/api/jobs/invert',
    ];
    const counts = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      if (rng.next() < 0.1) {
        // A job id: made up, too long, or with characters no id has; read or cancelled.
        const raw = pick(['x', 'A'.repeat(65), junkString().slice(0, 80), '../../etc/passwd']);
        // Every byte percent-encoded (encodeURIComponent refuses lone surrogates, which junk has).
        const id = [...Buffer.from(raw, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
        const method = pick(['GET', 'DELETE'] as const);
        const r = await app.inject({ method, url: `/api/jobs/${id}` });
        counts.set(r.statusCode, (counts.get(r.statusCode) ?? 0) + 1);
        assert.ok([400, 404].includes(r.statusCode), `${method} /api/jobs/${id} → ${r.statusCode} ${r.body}`);
        continue;
      }
      const url = pick(urls);
      let payload: string | Buffer;
      const kind = rng.int(4);
      if (kind === 0) {
        payload = Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)));
      } else {
        const body: Record<string, unknown> = kind === 1 ? {} : { model: pick([TAGS, CUB, junkString()]) };
        for (const f of fields) if (rng.next() < 0.4) body[f] = rng.next() < 0.5 ? nearValue(f) : junkValue();
        payload = JSON.stringify(body);
        if (kind === 3) payload = payload.slice(0, rng.int(payload.length + 1));
      }
      const r = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });
      counts.set(r.statusCode, (counts.get(r.statusCode) ?? 0) + 1);
      assert.ok(r.statusCode < 500, `${url} ${String(payload).slice(0, 200)} → ${r.statusCode} ${r.body}`);
      if (r.statusCode >= 400) assert.ok(r.json<{ message: string }>().message.length > 0);
    }
    assert.ok((counts.get(400) ?? 0) > 5000, `mostly 400s: ${JSON.stringify([...counts])}`);
    const after = await post(app, '/api/generate', { model: TAGS, text: 'blue hair red eyes', seed: 1 });
    assert.equal(after.statusCode, 200);
  });
});

describe('queue limits, model memory and the game', () => {
  test('a full queue answers 503 with Retry-After; the rest are served', async () => {
    const { app } = await makeApp({ maxQueueImages: 4 });
    try {
      const rs = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          post(app, '/api/generate', { model: TAGS, text: 'red hair red eyes', seed: i }),
        ),
      );
      const codes = rs.map((r) => r.statusCode);
      assert.ok(codes.includes(200) && codes.includes(503), codes.join(','));
      assert.ok(codes.every((c) => c === 200 || c === 503));
      for (const r of rs.filter((x) => x.statusCode === 503)) assert.equal(r.headers['retry-after'], '1');
      assert.equal(
        (await post(app, '/api/generate', { model: TAGS, text: 'red hair red eyes', seed: 1 })).statusCode,
        200,
      );
    } finally {
      await app.close();
    }
  });

  test('past the memory limit the least recently used model is unloaded', async () => {
    const { app, registry } = await makeApp({ memoryLimitBytes: 1 });
    try {
      await post(app, '/api/generate', { model: TAGS, text: 'red hair red eyes', seed: 1 });
      assert.deepEqual(registry.loadedNames(), [TAGS]);
      await post(app, '/api/generate', { model: CUB, text: 'a red bird', seed: 1 });
      assert.deepEqual(registry.loadedNames(), [CUB]);
      const r = await post(app, '/api/generate', { model: TAGS, text: 'red hair red eyes', seed: 1 });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(registry.loadedNames(), [TAGS]);
      const loads = (await app.inject('/metrics')).body;
      assert.match(loads, /creativeai_models_loaded 1/);
    } finally {
      await app.close();
    }
  });

  test('Real or Fake: rounds hide the answer, guesses are tallied and saved', async () => {
    const statsFile = path.join(tmp, 'game.json');
    const service = new LocalGenerationService(new ModelRegistry([models]));
    let app = await buildApp({ service, game: { statsFile } });
    let fakes = 0;
    let fooled = 0;
    let cookie = '';
    for (let i = 0; i < 12; i++) {
      const r = await app.inject({ url: `/api/game/round?model=${TAGS}`, headers: cookie ? { cookie } : {} });
      assert.equal(r.statusCode, 200, r.body);
      // The first round makes this client a player: the cookie it sets is sent from then on.
      if (cookie === '') cookie = String(r.headers['set-cookie']).split(';')[0]!;
      else assert.equal(r.headers['set-cookie'], undefined, 'a known player keeps its id');
      const round = r.json<{ id: string; dataset: string; image: string }>();
      assert.equal(round.dataset, 'anime');
      assert.deepEqual(Object.keys(round).sort(), ['dataset', 'id', 'image']);
      const g = await guessAs(app, cookie, round.id, 'real');
      assert.equal(g.statusCode, 200);
      const res = g.json<{ truth: string; correct: boolean; model: string }>();
      assert.equal(res.model, TAGS);
      assert.equal(res.correct, res.truth === 'real');
      if (res.truth === 'fake') {
        fakes++;
        fooled++;
      }
      assert.equal((await guessAs(app, cookie, round.id, 'real')).statusCode, 404, 'a round counts once');
    }
    const stats = (await app.inject('/api/game/stats')).json<{
      playable: string[];
      tallies: {
        model: string;
        fakes: number;
        fooled: number;
        reals: number;
        guesses: number;
        foolRate: number | null;
      }[];
    }>();
    assert.deepEqual(stats.playable.sort(), BUNDLED);
    const t = stats.tallies.find((x) => x.model === TAGS)!;
    assert.equal(t.fakes, fakes);
    assert.equal(t.fooled, fooled);
    assert.equal(t.guesses, 12, 'the tally says how many guesses it rests on');
    await app.close();
    app = await buildApp({ service: new LocalGenerationService(new ModelRegistry([models])), game: { statsFile } });
    const again = (await app.inject('/api/game/stats')).json<{ tallies: { model: string; fakes: number }[] }>();
    assert.equal(again.tallies.find((x) => x.model === TAGS)!.fakes, fakes, 'tallies survive a restart');
    await app.close();
  });

  test('Real or Fake: only the player a round was dealt to can answer it; rounds per address are limited', async () => {
    const service = new LocalGenerationService(new ModelRegistry([models]));
    const app = await buildApp({
      service,
      game: { statsFile: path.join(tmp, 'game-players.json'), roundsPerMinute: 3 },
    });
    try {
      const r = await app.inject(`/api/game/round?model=${TAGS}`);
      const mine = String(r.headers['set-cookie']).split(';')[0]!;
      assert.match(String(r.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
      const { id } = r.json<{ id: string }>();
      const other = String((await app.inject(`/api/game/round?model=${TAGS}`)).headers['set-cookie']).split(';')[0]!;
      assert.notEqual(other, mine);
      const stolen = await guessAs(app, other, id, 'real');
      assert.equal(stolen.statusCode, 403);
      assert.match(stolen.json<{ message: string }>().message, /dealt to another player/);
      assert.equal((await guessAs(app, '', id, 'real')).statusCode, 403, 'no cookie, no guess');
      assert.equal((await guessAs(app, mine, id, 'real')).statusCode, 200, 'its player still can');
      // Three rounds a minute from this address (two above and this one), then 429 with Retry-After.
      assert.equal((await app.inject({ url: '/api/game/round', headers: { cookie: mine } })).statusCode, 200);
      const flood = await app.inject({ url: '/api/game/round', headers: { cookie: mine } });
      assert.equal(flood.statusCode, 429);
      assert.ok(Number(flood.headers['retry-after']) >= 1 && Number(flood.headers['retry-after']) <= 60);
      assert.match(flood.json<{ message: string }>().message, /at most 3 rounds a minute/);
      const fresh = await app.inject({ url: '/api/game/round', headers: {} });
      assert.equal(fresh.statusCode, 429, 'a new cookie does not reset the address');
    } finally {
      await app.close();
    }
  });

  test("Real or Fake with a stacked model: its 256 px birds are shown at the real birds' 64 px", async () => {
    const service = new LocalGenerationService(new ModelRegistry([models]));
    // 40 rounds in a minute from one address: past the default limit, so this test raises it.
    const app = await buildApp({
      service,
      game: { statsFile: path.join(tmp, 'game-stacked.json'), roundsPerMinute: 100 },
    });
    try {
      const seen = { real: 0, fake: 0 };
      let cookie = '';
      // Until both kinds came up twice (each round is a coin toss; 40 rounds make a miss ~1e-10).
      for (let i = 0; i < 40 && (seen.real < 2 || seen.fake < 2); i++) {
        const r = await app.inject({ url: `/api/game/round?model=${STACK}`, headers: cookie ? { cookie } : {} });
        assert.equal(r.statusCode, 200, r.body);
        if (cookie === '') cookie = String(r.headers['set-cookie']).split(';')[0]!;
        const round = r.json<{ id: string; image: string }>();
        const meta = await sharp(Buffer.from(round.image.replace(/^data:image\/\w+;base64,/, ''), 'base64')).metadata();
        const g = (await guessAs(app, cookie, round.id, 'fake')).json<{
          truth: 'real' | 'fake';
        }>();
        seen[g.truth]++;
        assert.deepEqual([meta.width, meta.height], [64, 64], `a ${g.truth} image`);
      }
      assert.ok(seen.real >= 2 && seen.fake >= 2, JSON.stringify(seen));
    } finally {
      await app.close();
      await service.close();
    }
  });

  test('a model directory with a broken file lists the good models and says what it skipped', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'models-'));
    fs.copyFileSync(path.join(models, `${TAGS}.safetensors`), path.join(dir, `${TAGS}.safetensors`));
    fs.writeFileSync(path.join(dir, 'broken.safetensors'), 'not a model');
    fs.writeFileSync(path.join(dir, 'bad name!.safetensors'), 'x');
    const r = new ModelRegistry([dir, models]);
    assert.deepEqual(
      r
        .list()
        .map((c) => c.name)
        .sort(),
      BUNDLED,
    );
    assert.equal(r.problems.length, 3, r.problems.join('\n'));
    assert.ok(r.problems.some((p) => p.includes('broken.safetensors')));
    assert.ok(r.problems.some((p) => p.includes('found first in')));
  });

  test('a server failure answers 500 without details and records its cause, logger on or off', async () => {
    const real = new LocalGenerationService(new ModelRegistry([models]));
    const failing = Object.assign(Object.create(real) as typeof real, {
      generate: (): Promise<never> => Promise.reject(new Error('the forward pass blew up')),
    });
    const logged: string[] = [];
    const app = await buildApp({
      service: failing,
      game: { statsFile: path.join(tmp, `game-500-${Date.now()}.json`) },
      logError: (m) => logged.push(m),
    });
    try {
      const r = await post(app, '/api/generate', { model: TAGS, text: 'blue hair red eyes', seed: 1 });
      assert.equal(r.statusCode, 500);
      assert.doesNotMatch(r.body, /blew up/, 'no internals in the answer');
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /^500 on POST \/api\/generate: Error: the forward pass blew up/);
    } finally {
      await app.close();
      await real.close();
    }
  });

  test('a shipped model with one flipped bit is skipped at start, with the reason', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'models-'));
    const file = path.join(dir, `${ACGAN}.safetensors`);
    const buf = fs.readFileSync(path.join(models, `${ACGAN}.safetensors`));
    buf[buf.length - 11] = buf[buf.length - 11]! ^ 0x10;
    fs.writeFileSync(file, buf);
    const r = new ModelRegistry([dir]);
    assert.deepEqual(r.list(), []);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /skipped, corrupt: its tensors do not match the SHA-256 recorded/);
    // Every bundled model records its digest, and it holds.
    for (const f of fs.readdirSync(models).filter((x) => x.endsWith('.safetensors')))
      assert.equal(checkTensorsDigest(path.join(models, f)), 'ok', f);
  });
});
