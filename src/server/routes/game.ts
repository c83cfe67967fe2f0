// Real or Fake? rounds, guesses and the fool-rate tallies.
import type { FastifyPluginAsync } from 'fastify';

import type { RealOrFakeGame } from '../game.js';
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

export const gameRoutes: FastifyPluginAsync<{ game: RealOrFakeGame }> = async (app, { game }) => {
  app.get<{ Querystring: RoundQuery; Reply: Round }>('/api/game/round', { schema: roundSchema }, async (req, reply) => {
    const r = await game.round(req.query.model);
    void reply.header('cache-control', 'no-store');
    const type = r.image[0] === 0xff ? 'jpeg' : r.image[0] === 0x89 ? 'png' : 'webp';
    return { id: r.id, dataset: r.dataset, image: `data:image/${type};base64,${r.image.toString('base64')}` };
  });

  app.post<{ Body: GuessBody; Reply: GuessResult }>('/api/game/guess', { schema: guessSchema }, async (req) =>
    game.guess(req.body.id, req.body.guess),
  );

  app.get<{ Reply: GameStats }>('/api/game/stats', { schema: gameStatsSchema }, async () => ({
    playable: game.models(),
    tallies: game.stats(),
  }));
};
