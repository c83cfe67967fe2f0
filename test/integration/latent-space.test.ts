// Playing with the latent space over HTTP (issue 20) on the bundled tag GAN: a generated image's
// latent redraws it, tag directions redraw it with the other colour, ψ truncates it, an upload's
// latent is found (synchronously and as a job), and every bad input is a 4xx that says why.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';

import { LocalGenerationService, ModelRegistry, buildApp } from '../../src/server/index.js';
import { encodeLatent } from '../../src/server/latent-token.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const models = path.join(root, 'models');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-latent-'));
const TAGS = 'tag-gan-anime';
const STACK = 'stackgan-cub';

interface Generated {
  text: string;
  latent: string | null;
  directions: Record<string, number>;
  psi: number | null;
  stages: { resolution: number; images: string[] }[];
}
interface Inverted {
  latent: string;
  z: number[];
  mse: number;
  psnrDb: number;
  target: string;
  reconstruction: string;
}

const first = (g: Generated): string => g.stages.at(-1)!.images[0]!;

describe('latent space over HTTP', () => {
  let app: FastifyInstance;
  const post = (url: string, body: unknown) =>
    app.inject({ method: 'POST', url, payload: body as Record<string, unknown> });
  const generate = async (body: Record<string, unknown>): Promise<Generated> => {
    const r = await post('/api/generate', { model: TAGS, ...body });
    assert.equal(r.statusCode, 200, r.body);
    return r.json<Generated>();
  };
  const refused = async (url: string, body: unknown, status: number, why: RegExp) => {
    const r = await post(url, body);
    assert.equal(r.statusCode, status, `${JSON.stringify(body).slice(0, 200)} → ${r.statusCode} ${r.body}`);
    assert.match(r.json<{ message: string }>().message, why);
  };

  before(async () => {
    const service = new LocalGenerationService(new ModelRegistry([models]));
    app = await buildApp({ service, game: { statsFile: path.join(tmp, 'game.json') } });
  });
  after(async () => {
    await app.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the cards say which models take latents, directions and uploads', async () => {
    const list = (await app.inject('/api/models')).json<{
      models: { name: string; invert: boolean; directions: { name: string; min: number; max: number }[] }[];
    }>().models;
    const tags = list.find((m) => m.name === TAGS)!;
    assert.equal(tags.invert, true);
    assert.ok(tags.directions.some((d) => d.name === 'hair:green' && d.min === 0 && d.max === 1));
    assert.ok(tags.directions.some((d) => d.name === 'eyes:red'));
    const stack = list.find((m) => m.name === STACK)!;
    assert.equal(stack.invert, false, 'two stages: no invert');
    assert.deepEqual(stack.directions, [], 'captions: no tag directions');
    const spec = (await app.inject('/docs/json')).json<{ paths: Record<string, unknown> }>();
    for (const p of ['/api/invert', '/api/jobs/invert']) assert.ok(spec.paths[p], `${p} in the OpenAPI document`);
  });

  test("a reply's latent redraws its first image; tag directions and ψ move it", async () => {
    const g = await generate({ text: 'red hair blue eyes', seed: 5, count: 2 });
    assert.ok(g.latent !== null);
    const again = await generate({ text: 'red hair blue eyes', latent: g.latent });
    assert.equal(first(again), first(g), 'the same bytes from the latent as from the seed');
    assert.equal(again.latent, g.latent, 'and the same latent back');

    // Blending the hair all the way to green is asking for green hair, the noise kept.
    const green = await generate({ text: 'green hair blue eyes', latent: g.latent });
    const blended = await generate({ text: 'red hair blue eyes', latent: g.latent, directions: { 'hair:green': 1 } });
    assert.equal(first(blended), first(green));
    assert.deepEqual(blended.directions, { 'hair:green': 1 });
    const half = await generate({ text: 'red hair blue eyes', latent: g.latent, directions: { 'hair:green': 0.5 } });
    assert.notEqual(first(half), first(g));
    assert.notEqual(first(half), first(green));

    const one = await generate({ text: 'red hair blue eyes', latent: g.latent, psi: 1 });
    assert.equal(first(one), first(g), 'ψ = 1 changes nothing');
    const truncated = await generate({ text: 'red hair blue eyes', latent: g.latent, psi: 0.3 });
    assert.notEqual(first(truncated), first(g));
    assert.equal(truncated.psi, 0.3);
    // Directions also apply to seeded images, every one of them.
    const seeded = await generate({ text: 'red hair blue eyes', seed: 5, count: 2, directions: { 'hair:green': 1 } });
    const greenSeeded = await generate({ text: 'green hair blue eyes', seed: 5, count: 2 });
    assert.deepEqual(seeded.stages, greenSeeded.stages);
  });

  test('bad latents, directions and ψ are 400s that say why', async () => {
    const body = { model: TAGS, text: 'red hair blue eyes' };
    const latent = (await generate({ text: 'red hair blue eyes', seed: 1 })).latent!;
    await refused('/api/generate', { ...body, latent: 'hello' }, 400, /latent/);
    await refused(
      '/api/generate',
      { ...body, latent: encodeLatent([1]) },
      400,
      /latent holds 1 numbers; this model's noise is \d+ wide/,
    );
    await refused('/api/generate', { ...body, latent: encodeLatent([Number.POSITIVE_INFINITY]) }, 400, /finite/);
    await refused('/api/generate', { ...body, latent, count: 2 }, 400, /count must be 1/);
    await refused('/api/generate', { ...body, latent, truncation: 1 }, 400, /use psi/);
    await refused('/api/generate', { ...body, directions: { 'hair:plaid': 1 } }, 400, /unknown direction "hair:plaid"/);
    await refused('/api/generate', { ...body, directions: { 'hair:green': 2 } }, 400, /\[0, 1\], got 2/);
    await refused('/api/generate', { ...body, directions: { 'hair:green': 0.5, 'hair:blue': 0.5 } }, 400, /one hair/);
    await refused('/api/generate', { ...body, directions: { 'hair:green': 'lots' } }, 400, /number/);
    await refused('/api/generate', { ...body, psi: 0 }, 400, /psi/);
    await refused('/api/generate', { ...body, psi: 1.5 }, 400, /psi/);
    await refused(
      '/api/generate',
      { model: STACK, text: 'a red bird', directions: { 'hair:green': 1 } },
      400,
      /has no attribute directions/,
    );
  });

  test('a colour no training face has (gray eyes) is refused with the reason, and offers no direction', async () => {
    // The default anime model records its training faces' colours; the dataset has no gray eyes.
    const model = 'tag-projection-anime';
    const card = (await app.inject('/api/models'))
      .json<{ models: { name: string; directions: { name: string }[] }[] }>()
      .models.find((m) => m.name === model)!;
    const names = card.directions.map((d) => d.name);
    assert.ok(names.includes('eyes:red') && names.includes('hair:gray'), names.join(' '));
    assert.ok(!names.some((n) => n.endsWith('eyes:gray')), names.join(' '));
    await refused(
      '/api/generate',
      { model, text: 'white hair gray eyes' },
      400,
      /no face this model was trained on has gray eyes, so it cannot draw them; it knows eye colours aqua, black/,
    );
    await refused(
      '/api/generate',
      { model, text: 'white hair red eyes', directions: { 'eyes:gray': 1 } },
      400,
      /unknown direction "eyes:gray"/,
    );
    // Gray hair is in the data: drawn.
    const r = await post('/api/generate', { model, text: 'gray hair red eyes', seed: 1 });
    assert.equal(r.statusCode, 200, r.body);
  });

  test("an upload's latent: found, reported, and redrawing what the reply shows", async () => {
    const g = await generate({ text: 'blonde hair green eyes', seed: 21 });
    const r = await post('/api/invert', {
      model: TAGS,
      text: 'blonde hair green eyes',
      image: first(g),
      steps: 25,
      starts: 2,
    });
    assert.equal(r.statusCode, 200, r.body);
    const inv = r.json<Inverted>();
    assert.ok(inv.mse > 0 && inv.mse < 0.5, `mse ${inv.mse}`);
    assert.ok(Math.abs(inv.psnrDb - 10 * Math.log10(4 / inv.mse)) < 1e-9);
    assert.equal(inv.target, first(g), 'a 64 px PNG is the target as it is');
    const redrawn = await generate({ text: 'blonde hair green eyes', latent: inv.latent });
    assert.equal(first(redrawn), inv.reconstruction, 'the latent draws the reconstruction it was reported with');

    // A JPEG of another size is scaled and cropped to the model's side.
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c04080' } })
      .jpeg()
      .toBuffer();
    const j = await post('/api/invert', {
      model: TAGS,
      text: 'pink hair blue eyes',
      image: jpeg.toString('base64'),
      steps: 2,
      starts: 1,
    });
    assert.equal(j.statusCode, 200, j.body);
    const meta = await sharp(Buffer.from(j.json<Inverted>().target.split(',')[1]!, 'base64')).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 64]);
  });

  test('invert as a job: queued, then done with the same reply', async () => {
    const g = await generate({ text: 'blue hair red eyes', seed: 3 });
    const r = await post('/api/jobs/invert', { model: TAGS, text: 'blue hair red eyes', image: first(g), steps: 5 });
    assert.equal(r.statusCode, 202, r.body);
    let s = r.json<{ id: string; kind: string; state: string; total: number; result?: Inverted }>();
    assert.equal(s.kind, 'invert');
    assert.ok(s.total > 0);
    for (let i = 0; i < 400 && s.state !== 'done'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      s = (await app.inject(`/api/jobs/${s.id}`)).json();
      assert.notEqual(s.state, 'failed');
    }
    assert.equal(s.state, 'done');
    assert.match(s.result!.latent, /^z1\./);
    assert.equal(s.result!.z.length, 100);
  });

  test('bad uploads: not an image, another format, too large, too many pixels, the wrong model', async () => {
    const body = { model: TAGS, text: 'blue hair red eyes', steps: 1 };
    await refused(
      '/api/invert',
      { ...body, image: Buffer.from('hello, not an image').toString('base64') },
      415,
      /not an image/,
    );
    await refused('/api/invert', { ...body, image: '!!!' }, 400, /not base64/);
    await refused('/api/invert', { ...body, image: 'data:text/plain;base64,aGVsbG8=' }, 415, /PNG or JPEG/);
    const webp = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .webp()
      .toBuffer();
    await refused('/api/invert', { ...body, image: webp.toString('base64') }, 415, /PNG or JPEG, got webp/);
    // 5000×5000 of one colour is a small file but 25 M pixels.
    const huge = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    await refused('/api/invert', { ...body, image: huge.toString('base64') }, 413, /5000×5000/);
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 7).toString('base64');
    const r = await post('/api/invert', { ...body, image: big });
    assert.equal(r.statusCode, 413, 'more than 4 MiB');
    const image = (await generate({ text: 'blue hair red eyes', seed: 1 })).stages[0]!.images[0]!;
    await refused('/api/invert', { ...body, model: STACK, text: 'a red bird', image }, 400, /several stages/);
    await refused('/api/invert', { ...body, text: 'blue hair', image }, 400, /eye/);
    await refused('/api/invert', { ...body, image, steps: 10_000 }, 400, /steps/);
    await refused('/api/invert', { ...body, model: 'nope', image }, 404, /nope/);
  });
});
