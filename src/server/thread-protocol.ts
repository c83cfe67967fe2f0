// The messages between the HTTP thread (ThreadGenerationService) and the generation thread.
import type { AttentionRequest, GenerateRequest, GridRequest, InterpolateRequest, InvertRequest } from './service.js';

/** Key of `{ [PNG_TAG]: png, base64 }`, how a result's PNGs travel (json-images.ts says why). */
export const PNG_TAG = '__creativeai_png';

/** What the generation thread is started with (structured-cloneable). */
export interface ThreadOptions {
  dirs: string[];
  device: string;
  memoryLimitBytes: number;
  maxBatchImages: number;
}

/** A call from the HTTP thread; answered by one message with the same id. */
export type ThreadCall = { id: number } & (
  | { method: 'generate'; req: GenerateRequest }
  | { method: 'interpolate'; req: InterpolateRequest }
  | { method: 'grid'; req: GridRequest }
  | { method: 'attention'; req: AttentionRequest }
  | { method: 'invert'; req: InvertRequest }
);

/** A client's mistake (an HttpError) carries its status; anything else is a failure to log. */
export interface ThreadError {
  message: string;
  statusCode?: number;
  headers?: Record<string, string>;
  stack?: string;
}

export type ThreadMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: ThreadError }
  | { event: 'ready'; models: number; problems: string[] }
  | { event: 'load'; name: string; seconds: number }
  | { event: 'batch'; model: string; images: number; seconds: number }
  | { event: 'loaded'; names: string[] }
  | { event: 'log'; message: string };
