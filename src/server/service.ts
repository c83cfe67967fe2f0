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

export interface AttentionRequest {
  model: string;
  text: string;
  seed: number;
  truncation?: number;
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

/** AttnGAN's word attention behind one attentional stage's image, PNG-encoded. */
export interface AttentionMaps {
  /** Side of the image these maps drew (the stage after the grid the attention was computed over). */
  resolution: number;
  /** One PNG per word, in order: that stage's image lit where the word's attention falls. */
  maps: Buffer[];
}

export interface AttentionResult {
  /** The caption's words the maps belong to (unknown words as written). */
  words: string[];
  /** Every stage's image (one each), smallest first. */
  stages: StageImages[];
  /** Per attentional stage, smallest first. */
  attention: AttentionMaps[];
  unknownWords: string[];
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
  /** One image and where each word of its caption drew it (AttnGAN models only; 400 for the others). */
  attention(req: AttentionRequest): Promise<AttentionResult>;
  /** Images waiting or being generated. */
  queueDepth(): number;
  /** Names of models currently loaded in memory (this process). */
  loadedModels(): string[];
  close(): Promise<void>;
}
