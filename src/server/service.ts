// The contract between the HTTP layer and whatever makes the images: the in-process batcher
// (LocalGenerationService) or a Redis queue feeding workers on other machines (QueueGenerationService).
import type { ModelCard } from './model-card.js';
import type { AttentionBody, GenerateBody, GridBody, InterpolateBody } from './schemas.js';

/** A request body (schemas.ts) with the defaults the route fills in (a drawn seed, count 1, 8 steps). */
type Filled<B, K extends keyof B> = Omit<B, K> & Required<Pick<B, K>>;

export type GenerateRequest = Filled<Omit<GenerateBody, 'latent'>, 'seed' | 'count'> & {
  /** The noise itself (a decoded latent token): one image, from this instead of the seed. */
  latent?: number[];
  /**
   * Draw only rows [from, to) of the request's `count` noise vectors: the scheduler's slices of a
   * large request, each the same images the whole request would give there. All rows when absent.
   */
  rows?: readonly [from: number, to: number];
};

/** Images a generate request draws: its slice of rows, or all `count`. */
export const imagesOf = (req: GenerateRequest): number =>
  req.rows === undefined ? req.count : req.rows[1] - req.rows[0];
export type InterpolateRequest = Filled<InterpolateBody, 'seed' | 'steps'>;
/** tags: an HW3-2 testing_tags.txt, `id,<colour> hair <colour> eyes` per line. */
export type GridRequest = Filled<GridBody, 'seed'>;
export type AttentionRequest = Filled<AttentionBody, 'seed'>;

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
  /** The noise of the request's first image (before directions and ψ), when this part drew it. */
  latent?: number[];
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

/** Image → latent: `image` is the target as a PNG of the model's side (the route scales uploads). */
export interface InvertRequest {
  model: string;
  text: string;
  image: Buffer;
  steps: number;
  starts: number;
  seed: number;
}

export interface InvertResult {
  /** The noise found (noiseDim numbers). */
  latent: number[];
  /** Mean squared error of its image against the target, on [-1, 1] pixels. */
  mse: number;
  /** Its image under the same text, PNG. */
  reconstruction: Buffer;
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
  /** The latent of an image (projection through the frozen generator). */
  invert(req: InvertRequest): Promise<InvertResult>;
  /** Images waiting or being generated. */
  queueDepth(): number;
  /** Names of models currently loaded in memory (this process). */
  loadedModels(): string[];
  /** Whether requests can be served now (a generation thread or a Redis worker is there); ok when absent. */
  health?(): { ok: boolean; reason?: string };
  close(): Promise<void>;
}
