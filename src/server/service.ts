// The contract between the HTTP layer and whatever makes the images: the in-process batcher
// (LocalGenerationService) or a Redis queue feeding workers on other machines (QueueGenerationService).
import type { ModelCard } from './model-card.js';

export interface GenerateRequest {
  model: string;
  text: string;
  /** Noise seed; the same seed, text and model give the same images. */
  seed: number;
  count: number;
  truncation?: number;
}

export interface InterpolateRequest {
  model: string;
  from: string;
  to: string;
  steps: number;
  seed: number;
  truncation?: number;
}

export interface GridRequest {
  model: string;
  /** An HW3-2 testing_tags.txt: `id,<colour> hair <colour> eyes` per line. */
  tags: string;
  seed: number;
}

/** One stage's images (a single stage for the 64×64 models), PNG-encoded. */
export interface StageImages {
  resolution: number;
  images: Buffer[];
}

export interface GenerateResult {
  stages: StageImages[];
  unknownWords: string[];
  /** Milliseconds spent waiting in the queue and generating (batch forward + PNG encoding). */
  queueMs: number;
  generateMs: number;
  /** Images generated in the same forward pass as this request's (≥ count). */
  batchImages: number;
}

export interface InterpolateResult {
  stages: StageImages[];
  unknownWords: { from: string[]; to: string[] };
  queueMs: number;
  generateMs: number;
}

export interface GenerationService {
  /** Cards of every model the service can run. */
  models(): ModelCard[];
  card(name: string): ModelCard;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  interpolate(req: InterpolateRequest): Promise<InterpolateResult>;
  grid(req: GridRequest): Promise<Buffer>;
  /** Images waiting or being generated. */
  queueDepth(): number;
  /** Names of models currently loaded in memory (this process). */
  loadedModels(): string[];
  close(): Promise<void>;
}
