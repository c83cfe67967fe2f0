// Real or Fake? rounds, guesses and the fool-rate tallies. A player is a random id in a cookie
// (cai_player, set by the first round): a guess counts only from the player the round was dealt to.
import crypto from 'node:crypto';

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

import { forbidden } from '../errors.js';
import type { Player, RealOrFakeGame } from '../game.js';
import {
  gameStatsSchema,
  guessSchema,
  roundSchema,
  type GameStats,
  type GuessBody,
  type GuessResult,
  type Round,
  type RoundQuery,
} from '../schemas.js';

const COOKIE = 'cai_player';
const ID = /^[0-9a-f-]{36}$/;

/** The player id the request's cookie carries, if it is one this server could have issued. */
function cookiePlayer(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE && v !== undefined && ID.test(v)) return v;
  }
  return undefined;
}

function player(req: FastifyRequest, reply: FastifyReply): Player {
  let id = cookiePlayer(req);
  if (id === undefined) {
    id = crypto.randomUUID();
    void reply.header('set-cookie', `${COOKIE}=${id}; Path=/api/game; HttpOnly; SameSite=Strict; Max-Age=31536000`);
  }
  return { id, address: req.ip };
}

export const gameRoutes: FastifyPluginAsync<{ game: RealOrFakeGame }> = async (app, { game }) => {
  app.get<{ Querystring: RoundQuery; Reply: Round }>('/api/game/round', { schema: roundSchema }, async (req, reply) => {
    const r = await game.round(player(req, reply), req.query.model);
    void reply.header('cache-control', 'no-store');
    const type = r.image[0] === 0xff ? 'jpeg' : r.image[0] === 0x89 ? 'png' : 'webp';
    return { id: r.id, dataset: r.dataset, image: `data:image/${type};base64,${r.image.toString('base64')}` };
  });

  app.post<{ Body: GuessBody; Reply: GuessResult }>('/api/game/guess', { schema: guessSchema }, async (req) => {
    const id = cookiePlayer(req);
    if (id === undefined) throw forbidden('no player cookie: answer rounds from the browser they were dealt to');
    return game.guess({ id, address: req.ip }, req.body.id, req.body.guess);
  });

  app.get<{ Reply: GameStats }>('/api/game/stats', { schema: gameStatsSchema }, async () => ({
    playable: game.models(),
    tallies: game.stats(),
  }));
};
