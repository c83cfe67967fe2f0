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
  JobStatus,
  Metric,
  ModelInfo,
  Round,
  Stage,
  Tally,
  Timings,
} from '../../dist/src/server/schemas.js';

import type { JobStatus } from '../../dist/src/server/schemas.js';

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

/** GET (no body), POST (JSON body) or DELETE `path`; resolves to the parsed JSON answer. */
export async function call<T>(path: string, body?: unknown, method?: 'DELETE'): Promise<T> {
  let res: Response;
  try {
    res = await fetch(
      path,
      method !== undefined
        ? { method, headers: { accept: 'application/json' } }
        : body === undefined
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

/** Thrown by runJob when its signal cancels it. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Queues `body` as a job (POST /api/jobs/<kind>) and polls it, telling `progress` its queue position
 * and progress, until its result arrives; aborting `signal` cancels the job on the server.
 */
export async function runJob<T>(
  kind: 'generate' | 'interpolate' | 'attention' | 'invert',
  body: unknown,
  progress: (s: JobStatus) => void,
  signal: AbortSignal,
): Promise<T> {
  let s = await call<JobStatus>(`/api/jobs/${kind}`, body);
  const cancel = (): void => void call(`/api/jobs/${s.id}`, undefined, 'DELETE').catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (let wait = 60; ; wait = Math.min(500, wait * 1.5)) {
      if (signal.aborted) throw new Cancelled();
      if (s.state === 'done') return s.result as T;
      if (s.state === 'failed' || s.state === 'cancelled')
        throw new ApiError(s.error?.message ?? `the job was ${s.state}`, s.error?.statusCode ?? 500);
      progress(s);
      await sleep(wait);
      if (signal.aborted) throw new Cancelled();
      s = await call<JobStatus>(`/api/jobs/${s.id}`);
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** "Waiting: 2 requests ahead, about 3 s" or "Generating 4/16 images, about 1 s left". */
export function describeJob(s: JobStatus, doing: string): string {
  const eta = s.etaMs >= 1000 ? `, about ${Math.round(s.etaMs / 1000)} s` : '';
  if (s.state === 'queued')
    return s.position > 0
      ? `Waiting: ${s.position} ${s.position === 1 ? 'request' : 'requests'} ahead${eta}…`
      : `${doing}…`;
  return s.total > 1
    ? `${doing} ${s.done}/${s.total}${eta ? `${eta} left` : ''}…`
    : `${doing}${eta ? `${eta} left` : ''}…`;
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
