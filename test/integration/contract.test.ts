// The HTTP contract (src/server/schemas.ts) is the one definition of the API: every reply the
// server sends on the bundled models satisfies its schema, required fields included (checked with
// TypeBox's own validator, not by the serializer that already uses the schema), and the page's
// limits are the server's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import Value from 'typebox/value';
import type { TSchema } from 'typebox';

import { LocalGenerationService, ModelRegistry, buildApp } from '../../src/server/index.js';
import * as contract from '../../src/server/schemas.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cai-contract-'));
let app: FastifyInstance;

before(async () => {
  const service = new LocalGenerationService(new ModelRegistry([path.join(root, 'models')]));
  app = await buildApp({ service, game: { statsFile: path.join(tmp, 'game.json') } });
});
after(async () => {
  await app.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function satisfies(schema: TSchema, body: unknown, what: string): void {
  const problems = [...Value.Errors(schema, body)].map((e) => `${e.instancePath} ${e.message}`);
  assert.deepEqual(problems, [], what);
}

async function call(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<unknown> {
  const r = await app.inject({ method, url, ...(payload ? { payload } : {}) });
  assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
  return r.json();
}

test('every JSON reply satisfies its schema, the fields the page reads included', async () => {
  const models = (await call('GET', '/api/models')) as contract.ModelsReply;
  satisfies(contract.ModelsReply, models, 'GET /api/models');
  const gen = await call('POST', '/api/generate', { model: 'tag-gan-anime', text: 'blue hair red eyes', count: 2 });
  satisfies(contract.GenerateReply, gen, 'POST /api/generate');
  assert.equal((gen as contract.GenerateReply).truncation, null, 'truncation is answered even when not asked');
  assert.ok((gen as contract.GenerateReply).batchImages >= 2);
  const truncated = await call('POST', '/api/generate', {
    model: 'gan-int-cls-cub',
    text: 'a red bird',
    truncation: 0.5,
  });
  satisfies(contract.GenerateReply, truncated, 'POST /api/generate with truncation');
  assert.equal((truncated as contract.GenerateReply).truncation, 0.5);
  const interp = await call('POST', '/api/interpolate', {
    model: 'gan-int-cls-cub',
    from: 'a red bird',
    to: 'a blue bird',
    steps: 3,
    truncation: 0.7,
  });
  satisfies(contract.InterpolateReply, interp, 'POST /api/interpolate');
  assert.equal((interp as contract.InterpolateReply).truncation, 0.7);
  const dealt = await app.inject('/api/game/round');
  assert.equal(dealt.statusCode, 200);
  const round = dealt.json<contract.Round>();
  satisfies(contract.Round, round, 'GET /api/game/round');
  const cookie = String(dealt.headers['set-cookie']).split(';')[0]!;
  const answered = await app.inject({
    method: 'POST',
    url: '/api/game/guess',
    payload: { id: round.id, guess: 'real' },
    headers: { cookie },
  });
  assert.equal(answered.statusCode, 200, answered.body);
  const guess = answered.json();
  satisfies(contract.GuessResult, guess, 'POST /api/game/guess');
  satisfies(contract.GameStats, await call('GET', '/api/game/stats'), 'GET /api/game/stats');
});

test('an error answer has the error shape', async () => {
  const r = await app.inject({ method: 'POST', url: '/api/generate', payload: { model: 'tag-gan-anime' } });
  assert.equal(r.statusCode, 400);
  satisfies(contract.generateSchema.response[400], r.json(), '400');
});

test("the page's limits are the server's (web/src/api.ts keeps values, its types come from the contract)", async () => {
  const web = (await import(pathToFileURL(path.join(root, 'dist', 'web', 'api.js')).href)) as Record<string, number>;
  assert.deepEqual(
    [web.MAX_SEED, web.MAX_COUNT, web.MAX_TEXT],
    [contract.MAX_SEED, contract.MAX_COUNT, contract.MAX_TEXT],
  );
});
