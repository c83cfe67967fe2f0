// The HTTP API as the page sees it: response types and one fetch wrapper that turns every failure
// (an error answer, a network failure) into an ApiError whose message can be shown as it is.

// The response types are the server's contract (src/server/schemas.ts), imported as types only
// from its compiled declarations: the page ships no server code and cannot drift from the API.
export type {
  AttentionReply as AttentionResponse,
  GameStats,
  GenerateReply as GenerateResponse,
  GuessResult,
  InterpolateReply as InterpolateResponse,
  Metric,
  ModelInfo,
  Round,
  Stage,
  Tally,
  Timings,
} from '../../dist/src/server/schemas.js';

/** Seeds are unsigned 32-bit integers. */
export const MAX_SEED = 2 ** 32 - 1;
export const MAX_COUNT = 16;
export const MAX_TEXT = 500;

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** GET (no body) or POST (JSON body) `path`; resolves to the parsed JSON answer. */
export async function call<T>(path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(
      path,
      body === undefined
        ? { headers: { accept: 'application/json' } }
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body),
          },
    );
  } catch {
    throw new ApiError('the server cannot be reached; check your connection and that it is running', 0);
  }
  if (!res.ok) {
    let message = `the server answered ${res.status} ${res.statusText}`.trim();
    try {
      const j = (await res.json()) as { message?: unknown };
      if (typeof j.message === 'string' && j.message !== '') message = j.message;
    } catch {
      // not JSON: keep the status line
    }
    const retry = res.headers.get('retry-after');
    if (res.status === 503 && retry !== null && !/try again/i.test(message)) message += `; try again in ${retry} s`;
    throw new ApiError(message, res.status);
  }
  return (await res.json()) as T;
}

/** "Could not generate images: no eye colour in "blue hair"." from a prefix and any thrown value. */
export function plainError(prefix: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const sentence = `${prefix}: ${message}`;
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

export function randomSeed(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0]!;
}
