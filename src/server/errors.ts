// Errors the HTTP layer turns into 4xx/503 answers with a message that says what is wrong. Anything
// else reaching the error handler is a bug and answers 500.

import { noWordAttention } from '../inference/word-attention.js';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
/** Asked for word attention from a model that has none. */
export const noAttention = (model: string): HttpError => badRequest(noWordAttention(model));
export const notFound = (message: string): HttpError => new HttpError(404, message);
export const forbidden = (message: string): HttpError => new HttpError(403, message);
/** Too many requests from one client: it may try again in `retryAfter` seconds. */
export const tooManyRequests = (message: string, retryAfter: number): HttpError =>
  new HttpError(429, `${message}; try again in ${retryAfter} s`, { 'retry-after': String(retryAfter) });

/** The generation queue is full: the client should try again in `retryAfter` seconds. */
export class QueueFullError extends HttpError {
  constructor(depth: number, retryAfter = 1) {
    super(503, `the server is busy (${depth} images queued); try again in ${retryAfter} s`, {
      'retry-after': String(retryAfter),
    });
    this.name = 'QueueFullError';
  }
}
