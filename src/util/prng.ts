// A small seedable PRNG (mulberry32) for data order and augmentation, independent of libtorch so
// that the input pipeline is reproducible on any device and in worker threads.
export class Prng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A generator for a sub-stream, e.g. (seed, epoch) or (seed, epoch, sample). */
  static derive(...keys: number[]): Prng {
    let h = 0x811c9dc5;
    for (const k of keys) {
      // FNV-1a over the 32-bit words of each key (keys may exceed 32 bits: fold the high part in).
      for (const w of [k >>> 0, Math.floor(k / 4294967296) >>> 0]) {
        for (let b = 0; b < 4; b++) {
          h ^= (w >>> (8 * b)) & 0xff;
          h = Math.imul(h, 0x01000193);
        }
      }
    }
    return new Prng(h);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
