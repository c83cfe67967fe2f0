// Random numbers from seedable generators: reproducible for the same seed on CPU and CUDA.
import { deviceCode, type Device } from './device.js';
import { dtypeCode, type DType } from './dtype.js';
import { native, type GeneratorHandle } from './native.js';
import { tidy } from './scope.js';
import { Tensor } from './tensor.js';

/**
 * A random number generator with its own state (on CUDA: the device's default generator).
 * Its state can be saved and restored, so a resumed training run draws the same numbers.
 */
export class Generator {
  /** @internal */ readonly handle: GeneratorHandle;
  readonly device: Device;

  constructor(seed: number, device: Device = 'cpu') {
    checkSeed(seed);
    this.handle = native.newGenerator(seed, deviceCode(device));
    this.device = device;
  }

  /** The default generator of a device: the one manualSeed() seeds and dropout draws from. */
  static default(device: Device = 'cpu'): Generator {
    const g = Object.create(Generator.prototype) as { handle: GeneratorHandle; device: Device };
    g.handle = native.defaultGenerator(deviceCode(device));
    g.device = device;
    return g as Generator;
  }

  get seed(): number {
    return native.generatorSeed(this.handle);
  }
  /** A uint8 tensor holding the whole state. */
  getState(): Tensor {
    return new Tensor(native.generatorGetState(this.handle));
  }
  setState(state: Tensor): void {
    native.generatorSetState(this.handle, state.handle);
  }
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new TypeError(`Expected a seed that is a non-negative safe integer but received ${seed}`);
}

/** Seeds the default generators of every device (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  checkSeed(seed);
  native.manualSeed(seed);
}

export interface RandomOptions {
  generator?: Generator;
  dtype?: DType;
  device?: Device;
}

function args(o: RandomOptions): [GeneratorHandle | null, number, number] {
  return [o.generator?.handle ?? null, dtypeCode(o.dtype ?? 'float32'), deviceCode(o.device ?? 'cpu')];
}

/**
 * Draws where the generator lives and moves the result to the device asked for: a seeded CPU
 * generator then gives the same numbers for a CUDA run as for a CPU run (libtorch refuses a CPU
 * generator for a CUDA tensor).
 */
function onGeneratorDevice(o: RandomOptions, draw: (o: RandomOptions) => Tensor): Tensor {
  const want = o.device ?? 'cpu';
  const g = o.generator;
  if (g === undefined || deviceCode(g.device) === deviceCode(want)) return draw(o);
  const here = draw({ ...o, device: g.device });
  const there = here.to(want);
  here.dispose();
  return there;
}

/** The same for draws shaped by a tensor (bernoulli, multinomial): its values go to the generator. */
function fromGeneratorDevice(t: Tensor, g: Generator | undefined, draw: (t: Tensor) => Tensor): Tensor {
  if (g === undefined || deviceCode(g.device) === deviceCode(t.device)) return draw(t);
  const here = t.to(g.device);
  const drawn = draw(here);
  here.dispose();
  const there = drawn.to(t.device);
  drawn.dispose();
  return there;
}

/** Uniform on [0, 1). */
export function rand(shape: number[], opts: RandomOptions = {}): Tensor {
  return onGeneratorDevice(opts, (o) => new Tensor(native.rand(shape, ...args(o))));
}
/** Standard normal. */
export function randn(shape: number[], opts: RandomOptions = {}): Tensor {
  return onGeneratorDevice(opts, (o) => new Tensor(native.randn(shape, ...args(o))));
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: number[], opts: RandomOptions = {}): Tensor {
  if (high <= low) throw new RangeError(`randint needs low < high, got [${low}, ${high})`);
  return onGeneratorDevice(
    { dtype: 'int64', ...opts },
    (o) => new Tensor(native.randint(low, high, shape, ...args(o))),
  );
}
export function normal(mean: number, std: number, shape: number[], opts: RandomOptions = {}): Tensor {
  if (!(std >= 0)) throw new RangeError(`normal std must be >= 0, got ${std}`);
  return onGeneratorDevice(opts, (o) => new Tensor(native.normal(mean, std, shape, ...args(o))));
}
/** 0/1 draws with the given probabilities. */
export function bernoulli(probs: Tensor, opts: { generator?: Generator } = {}): Tensor {
  const g = opts.generator;
  return fromGeneratorDevice(probs, g, (p) => new Tensor(native.bernoulli(p.handle, g?.handle ?? null)));
}
/** Indices drawn from each row of (unnormalised) probabilities. */
export function multinomial(
  probs: Tensor,
  numSamples: number,
  opts: { replacement?: boolean; generator?: Generator } = {},
): Tensor {
  const g = opts.generator;
  return fromGeneratorDevice(
    probs,
    g,
    (p) => new Tensor(native.multinomial(p.handle, numSamples, opts.replacement ?? false, g?.handle ?? null)),
  );
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, opts: { generator?: Generator; device?: Device } = {}): Tensor {
  return onGeneratorDevice(
    opts,
    (o) => new Tensor(native.randperm(n, o.generator?.handle ?? null, deviceCode(o.device ?? 'cpu'))),
  );
}
/**
 * Normal(mean, std) truncated to [a, b] (in units of the distribution), by the inverse CDF
 * as torch.nn.init.trunc_normal_ does: no rejection loop, so the draw count is fixed.
 */
export function truncatedNormal(
  shape: number[],
  opts: RandomOptions & { mean?: number; std?: number; a?: number; b?: number } = {},
): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = opts;
  if (!(a < b)) throw new RangeError(`truncatedNormal needs a < b, got [${a}, ${b}]`);
  const cdf = (x: number): number => (1 + erf(x / Math.SQRT2)) / 2;
  const lo = cdf(a);
  const hi = cdf(b);
  // tidy: every intermediate of the chains is freed at once, only the result is kept.
  return tidy(() => {
    const u = rand(shape, { ...opts, dtype: 'float64' });
    const z = u
      .mul(2 * (hi - lo))
      .add(2 * lo - 1)
      .clamp(-1 + 1e-12, 1 - 1e-12)
      .erfinv();
    return z
      .mul(std * Math.SQRT2)
      .add(mean)
      .clamp(mean + a * std, mean + b * std)
      .to(opts.dtype ?? 'float32');
  });
}

// Abramowitz-Stegun 7.1.26 is too coarse for the bounds; use a series/continued fraction.
function erf(x: number): number {
  const t = Math.abs(x);
  let r: number;
  if (t < 3) {
    // Maclaurin series, converges fast for |x| < 3.
    let sum = t;
    let term = t;
    for (let n = 1; n < 100; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc.
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
    r = 1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  }
  return x < 0 ? -r : r;
}
