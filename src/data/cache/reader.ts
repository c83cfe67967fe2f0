// Opens a prepared cache, checks it against its manifest, and reads images by index.
import fs from 'node:fs';
import path from 'node:path';

import { CACHE_FORMAT, type CacheRecord, type Manifest, type SplitName } from './format.js';

export class CacheReader {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly records: CacheRecord[];
  readonly #fds = new Map<string, number[]>();

  private constructor(dir: string, manifest: Manifest, records: CacheRecord[]) {
    this.dir = dir;
    this.manifest = manifest;
    this.records = records;
  }

  /** Opens and validates a cache folder written by prepareCache. */
  static open(dir: string): CacheReader {
    const root = path.resolve(dir);
    const mfile = path.join(root, 'manifest.json');
    if (!fs.existsSync(mfile))
      throw new Error(`${root} is not a prepared cache (no manifest.json): run \`creativeai prepare\` first`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(fs.readFileSync(mfile, 'utf8')) as Manifest;
    } catch (e) {
      throw new Error(`${mfile} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (manifest.format !== CACHE_FORMAT)
      throw new Error(
        `${mfile} has format '${String(manifest.format)}', expected '${CACHE_FORMAT}': prepare the data again`,
      );
    const lines = fs
      .readFileSync(path.join(root, 'records.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    const records = lines.map((l, n) => {
      try {
        return JSON.parse(l) as CacheRecord;
      } catch {
        throw new Error(`records.jsonl line ${n + 1} is not valid JSON`);
      }
    });
    if (records.length !== manifest.count)
      throw new Error(`records.jsonl has ${records.length} records, the manifest says ${manifest.count}`);
    const reader = new CacheReader(root, manifest, records);
    for (const r of manifest.resolutions) {
      const side = manifest.stored[String(r)]!;
      const names = manifest.shards[String(r)] ?? [];
      let total = 0;
      names.forEach((name, k) => {
        const file = path.join(root, name);
        if (!fs.existsSync(file)) throw new Error(`Cache shard ${file} is missing`);
        const expected = Math.min(manifest.shardSize, manifest.count - k * manifest.shardSize) * side * side * 3;
        const size = fs.statSync(file).size;
        if (size !== expected)
          throw new Error(`Cache shard ${file} has ${size} bytes, expected ${expected} (truncated?)`);
        total += expected / (side * side * 3);
      });
      if (total !== manifest.count)
        throw new Error(`Shards for ${r} px hold ${total} images, expected ${manifest.count}`);
    }
    return reader;
  }

  /** Record indices of one split (or all). */
  indices(split?: SplitName): number[] {
    return this.records.filter((r) => split === undefined || r.split === split).map((r) => r.i);
  }

  storedSide(resolution: number): number {
    const s = this.manifest.stored[String(resolution)];
    if (s === undefined)
      throw new Error(
        `This cache has no ${resolution} px images (it has ${this.manifest.resolutions.join(', ')}): prepare it with that size`,
      );
    return s;
  }

  /** Copies the stored RGB bytes (HWC) of image i at a resolution into out at offset. */
  readImage(resolution: number, i: number, out: Uint8Array, offset = 0): void {
    const side = this.storedSide(resolution);
    const bytes = side * side * 3;
    if (!Number.isInteger(i) || i < 0 || i >= this.manifest.count)
      throw new RangeError(`Image index ${i} out of range`);
    let fds = this.#fds.get(String(resolution));
    if (fds === undefined) {
      fds = this.manifest.shards[String(resolution)]!.map((n) => fs.openSync(path.join(this.dir, n), 'r'));
      this.#fds.set(String(resolution), fds);
    }
    const k = Math.floor(i / this.manifest.shardSize);
    const pos = (i % this.manifest.shardSize) * bytes;
    const n = fs.readSync(fds[k]!, out, offset, bytes, pos);
    if (n !== bytes) throw new Error(`Short read from cache shard ${k} (${n} of ${bytes} bytes)`);
  }

  close(): void {
    for (const fds of this.#fds.values()) for (const fd of fds) fs.closeSync(fd);
    this.#fds.clear();
  }
}
