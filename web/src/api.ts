// The HTTP API as the page sees it: response types and one fetch wrapper that turns every failure
// (an error answer, a network failure) into an ApiError whose message can be shown as it is.

export interface Metric {
  name: string;
  value: string;
  detail?: string;
}

export interface ModelInfo {
  name: string;
  title: string;
  family: string;
  dataset: string;
  description: string;
  condition: 'caption' | 'tags';
  resolutions: number[];
  examples: string[];
  metrics: Metric[];
  training: Record<string, string | number>;
  /** AttnGAN: POST /api/attention shows where each word drew. */
  attention: boolean;
  loaded: boolean;
}

export interface Stage {
  resolution: number;
  /** PNG data URLs. */
  images: string[];
}

export interface Timings {
  queueMs: number;
  generateMs: number;
}

export interface GenerateResponse {
  model: string;
  text: string;
  seed: number;
  count: number;
  stages: Stage[];
  unknownWords: string[];
  timings: Timings;
}

export interface InterpolateResponse {
  model: string;
  from: string;
  to: string;
  steps: number;
  seed: number;
  stages: Stage[];
  unknownWords: { from: string[]; to: string[] };
  timings: Timings;
}

export interface AttentionResponse {
  model: string;
  text: string;
  seed: number;
  /** The words the maps are for, in order. */
  words: string[];
  /** The image at every stage, smallest first (PNG data URLs). */
  stages: { resolution: number; image: string }[];
  /** Per attentional stage, smallest first: the image lit by each word's map (PNG data URLs, one per word). */
  attention: { resolution: number; maps: string[] }[];
  unknownWords: string[];
  timings: Timings;
}

export interface Round {
  id: string;
  dataset: string;
  image: string;
}

export interface Tally {
  model: string;
  fakes: number;
  fooled: number;
  reals: number;
  realsCalledFake: number;
  foolRate: number | null;
}

export interface GuessResult {
  correct: boolean;
  truth: 'real' | 'fake';
  model: string;
  tally: Tally;
}

export interface GameStats {
  playable: string[];
  tallies: Tally[];
}

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
