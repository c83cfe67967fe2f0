// Every model under the configured directories, listed from file headers and loaded on first use.
// Loaded models are kept most-recently-used first; when their weights exceed the memory limit the
// least recently used are unloaded. Models are looked up by name in a map built from a directory
// scan, so a request can never name a path.
import fs from 'node:fs';
import path from 'node:path';

import { checkTensorsDigest } from '../io/index.js';
import type { Device } from '../engine/index.js';
import { TextToImagePipeline } from '../inference/pipeline.js';
import { notFound } from './errors.js';
import { readModelCard, type ModelCard } from './model-card.js';

/** Model names as they may appear in URLs and JSON: no slashes, no dots at the start. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

export interface RegistryOptions {
  device?: Device;
  /** Float32 weight bytes kept loaded before the least recently used model is unloaded. */
  memoryLimitBytes?: number;
  /** Told every load, for the /metrics load-time histogram. */
  onLoad?: (name: string, seconds: number) => void;
  log?: (message: string) => void;
}

interface Entry {
  card: ModelCard;
  file: string;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Loaded pipelines, least recently used first (Map keeps insertion order). */
  private readonly loaded = new Map<string, TextToImagePipeline>();
  readonly problems: string[] = [];
  readonly device: Device;
  private readonly memoryLimit: number;

  constructor(
    readonly dirs: readonly string[],
    private readonly o: RegistryOptions = {},
  ) {
    this.device = o.device ?? 'cpu';
    this.memoryLimit = o.memoryLimitBytes ?? 2 ** 31;
    for (const dir of dirs) this.scan(dir);
  }

  private problem(message: string): void {
    this.problems.push(message);
    this.o.log?.(message);
  }

  private scan(dir: string): void {
    let files: string[];
    try {
      // A model's image → latent encoder lies beside it (<name>.encoder.safetensors): not a model itself.
      files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors') && !f.endsWith('.encoder.safetensors'));
    } catch (e) {
      this.problem(`cannot read model directory ${dir}: ${(e as Error).message}`);
      return;
    }
    for (const f of files.sort()) {
      const file = path.join(dir, f);
      const name = path.basename(f, '.safetensors');
      if (!MODEL_NAME.test(name)) {
        this.problem(`${file}: skipped, "${name}" is not a valid model name (letters, digits, . _ -)`);
        continue;
      }
      if (this.entries.has(name)) {
        this.problem(`${file}: skipped, a model named "${name}" was found first in ${this.entries.get(name)!.file}`);
        continue;
      }
      try {
        const card = readModelCard(file);
        // A damaged or altered export is skipped at start, not discovered by a user's request.
        if (checkTensorsDigest(file) === 'mismatch')
          throw new Error('corrupt: its tensors do not match the SHA-256 recorded when it was exported');
        this.entries.set(name, { card, file });
      } catch (e) {
        this.problem(`${file}: skipped, ${(e as Error).message}`);
      }
    }
  }

  list(): ModelCard[] {
    return [...this.entries.values()].map((e) => e.card);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  card(name: string): ModelCard {
    const e = this.entries.get(name);
    if (e === undefined) throw notFound(this.unknownMessage(name));
    return e.card;
  }

  private unknownMessage(name: string): string {
    const known = [...this.entries.keys()];
    return `unknown model "${name.length > 64 ? `${name.slice(0, 64)}…` : name}"; available: ${known.join(', ') || 'none'}`;
  }

  isLoaded(name: string): boolean {
    return this.loaded.has(name);
  }

  /** The pipeline of a model, loading it (and unloading others past the memory limit) if needed. */
  acquire(name: string): TextToImagePipeline {
    const entry = this.entries.get(name);
    if (entry === undefined) throw notFound(this.unknownMessage(name));
    let pipe = this.loaded.get(name);
    if (pipe !== undefined) {
      this.loaded.delete(name); // re-insert: now the most recently used
      this.loaded.set(name, pipe);
      return pipe;
    }
    this.evict(entry.card.memoryBytes);
    const started = performance.now();
    pipe = TextToImagePipeline.load(entry.file, this.device);
    const seconds = (performance.now() - started) / 1000;
    this.o.onLoad?.(name, seconds);
    this.o.log?.(`loaded model ${name} on ${this.device} in ${seconds.toFixed(2)} s`);
    this.loaded.set(name, pipe);
    return pipe;
  }

  /** Unloads least recently used models until `incoming` more bytes fit (one model always fits). */
  private evict(incoming: number): void {
    let used = [...this.loaded.keys()].reduce((a, n) => a + this.entries.get(n)!.card.memoryBytes, 0);
    for (const [name, pipe] of this.loaded) {
      if (used + incoming <= this.memoryLimit) break;
      pipe.dispose();
      this.loaded.delete(name);
      used -= this.entries.get(name)!.card.memoryBytes;
      this.o.log?.(`unloaded model ${name} (memory limit ${(this.memoryLimit / 2 ** 20).toFixed(0)} MiB)`);
    }
  }

  loadedNames(): string[] {
    return [...this.loaded.keys()];
  }

  dispose(): void {
    for (const pipe of this.loaded.values()) pipe.dispose();
    this.loaded.clear();
  }
}
