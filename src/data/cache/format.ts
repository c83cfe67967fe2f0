// The preprocessed cache: decoded, cropped and resized images as raw uint8 shards, records as
// JSON lines, and a manifest that says how they were made. Written once by `creativeai prepare`.
import type { DataProblem } from '../types.js';

export const CACHE_FORMAT = 'creativeai.cache.v1';

export type SplitName = 'train' | 'val' | 'test';

export interface CacheRecord {
  /** Position in the shards. */
  i: number;
  id: string;
  classId: string;
  captions: string[];
  attributes?: { [name: string]: string };
  split: SplitName;
}

export interface Manifest {
  format: typeof CACHE_FORMAT;
  dataset: string;
  text: 'captions' | 'tags';
  root?: string;
  /** sha256 over every source image's bytes, ids and captions, in record order. */
  sourceChecksum: string;
  createdAt: string;
  /** Model resolutions the cache serves (64 / 128 / 256). */
  resolutions: number[];
  /** Stored side per resolution: larger by the crop margin, so the loader can crop randomly. */
  stored: { [resolution: string]: number };
  /** Stored side ÷ resolution (StackGAN/AttnGAN load at 76/64 and crop). */
  cropMargin: number;
  /** Images per shard file. */
  shardSize: number;
  count: number;
  split: { method: string; seed: number; counts: { [s in SplitName]: number } };
  /** Shard file names per resolution, in order. */
  shards: { [resolution: string]: string[] };
  problems: { total: number; byReason: { [reason: string]: number }; first: DataProblem[] };
}

export function shardName(stored: number, k: number): string {
  return `img${stored}-${String(k).padStart(5, '0')}.u8`;
}

export function storedSize(resolution: number, cropMargin: number): number {
  return Math.round(resolution * cropMargin);
}
