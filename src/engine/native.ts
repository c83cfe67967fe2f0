// Loads the compiled addon (build/creativeai_torch.node). Like sharp's loader, a failure lists
// every place tried and what to run to fix it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Opaque handle to a native tensor; only the engine ever touches one. */
export type Handle = { readonly __brand: 'TensorHandle' };
/** Opaque handle to a native random number generator. */
export type GeneratorHandle = { readonly __brand: 'GeneratorHandle' };

type H = Handle;
type G = GeneratorHandle | null;
type Opt<T> = T | null;

/** The functions the addon exports (see native/*.cc). Codes: dtype = at::ScalarType, device -1 = cpu. */
export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'abs',
  'sign',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'erf',
  'erfinv',
  'floor',
  'ceil',
  'round',
  'reciprocal',
  'logicalNot',
] as const;
export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'logicalAnd',
  'logicalOr',
  'matmul',
  'bmm',
  'outer',
] as const;
export const SCALAR_OPS = ['addS', 'subS', 'rsubS', 'mulS', 'divS', 'eqS', 'neS', 'ltS', 'leS', 'gtS', 'geS'] as const;
type UnaryOps = Record<(typeof UNARY_OPS)[number], (h: H) => H>;
type BinaryOps = Record<(typeof BINARY_OPS)[number], (a: H, b: H) => H>;
type ScalarOps = Record<(typeof SCALAR_OPS)[number], (a: H, s: number | boolean) => H>;

/** Everything the addon exports. */
export type NativeBinding = NativeCore & UnaryOps & BinaryOps & ScalarOps;

interface NativeCore {
  dispose(h: H): void;
  isDisposed(h: H): boolean;
  liveCount(): number;
  shape(h: H): number[];
  dtype(h: H): number;
  device(h: H): number;
  item(h: H): number | boolean;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: number, device: number): H;
  toBuffer(h: H): ArrayBuffer;
  empty(shape: number[], dtype: number, device: number): H;
  zeros(shape: number[], dtype: number, device: number): H;
  ones(shape: number[], dtype: number, device: number): H;
  full(shape: number[], value: number | boolean, dtype: number, device: number): H;
  fullLike(h: H, value: number | boolean): H;
  arange(start: number, end: number, step: number, dtype: number, device: number): H;
  linspace(start: number, end: number, steps: number, dtype: number, device: number): H;
  eye(n: number, dtype: number, device: number): H;
  to(h: H, dtype: Opt<number>, device: Opt<number>): H;
  clone(h: H): H;
  detach(h: H): H;
  contiguous(h: H, format?: number): H;
  alias(h: H): H;
  isContiguous(h: H, format?: number): boolean;
  numel(h: H): number;
  copy_(dst: H, src: H): void;
  fill_(h: H, v: number | boolean): void;
  zero_(h: H): void;
  clamp_(h: H, min: number, max: number): void;
  addScaled_(h: H, x: H, alpha: number): void;
  mulScalar_(h: H, v: number): void;
  lerp_(h: H, end: H, weight: number): void;
  version(): { torch: string; major: number; minor: number; cudaBuild: boolean; threads: number };
  setNumThreads(n: number): void;
  retainFreedCpuMemory(): boolean;
  // scalar-parameterised
  leakyRelu(h: H, slope: number): H;
  elu(h: H, alpha: number): H;
  softplus(h: H, beta: number, threshold: number): H;
  hardtanh(h: H, min: number, max: number): H;
  powScalar(h: H, e: number): H;
  scalarPow(base: number, h: H): H;
  clamp(h: H, min: Opt<number>, max: Opt<number>): H;
  addScaled(a: H, b: H, alpha: number): H;
  where(c: H, a: H, b: H): H;
  linear(x: H, w: H, b: Opt<H>): H;
  addmm(c: H, a: H, b: H): H;
  sum(h: H, dims: number[], keepdim: boolean): H;
  mean(h: H, dims: number[], keepdim: boolean): H;
  prod(h: H): H;
  maxAll(h: H): H;
  minAll(h: H): H;
  maxDim(h: H, dim: number, keepdim: boolean): [H, H];
  minDim(h: H, dim: number, keepdim: boolean): [H, H];
  sort(h: H, dim: number, descending: boolean): [H, H];
  topk(h: H, k: number, dim: number, largest: boolean): [H, H];
  argmax(h: H, dim: Opt<number>, keepdim: boolean): H;
  argmin(h: H, dim: Opt<number>, keepdim: boolean): H;
  var(h: H, dims: number[], correction: number, keepdim: boolean): H;
  std(h: H, dims: number[], correction: number, keepdim: boolean): H;
  norm(h: H, p: number, dims: number[], keepdim: boolean): H;
  logsumexp(h: H, dims: number[], keepdim: boolean): H;
  softmax(h: H, dim: number): H;
  logSoftmax(h: H, dim: number): H;
  cumsum(h: H, dim: number): H;
  reshape(h: H, shape: number[]): H;
  view(h: H, shape: number[]): H;
  permute(h: H, dims: number[]): H;
  transpose(h: H, a: number, b: number): H;
  squeezeAll(h: H): H;
  squeeze(h: H, dim: number): H;
  unsqueeze(h: H, dim: number): H;
  expand(h: H, shape: number[]): H;
  repeat(h: H, reps: number[]): H;
  flatten(h: H, start: number, end: number): H;
  flip(h: H, dims: number[]): H;
  cat(hs: H[], dim: number): H;
  stack(hs: H[], dim: number): H;
  split(h: H, sizes: number[], dim: number): H[];
  chunk(h: H, n: number, dim: number): H[];
  narrow(h: H, dim: number, start: number, length: number): H;
  select(h: H, dim: number, index: number): H;
  indexSelect(h: H, dim: number, index: H): H;
  gather(h: H, dim: number, index: H): H;
  maskedFill(h: H, mask: H, value: number | boolean): H;
  tril(h: H, k: number): H;
  triu(h: H, k: number): H;
  padConstant(h: H, pads: number[], value: number): H;
  padReflect(h: H, pads: number[]): H;
  padReplicate(h: H, pads: number[]): H;
  diag(h: H, k: number): H;
  qr(h: H): [H, H];
  eigh(h: H): [H, H];
  // nn
  conv1d(x: H, w: H, b: Opt<H>, stride: number[], padding: number[], dilation: number[], groups: number): H;
  conv2d(x: H, w: H, b: Opt<H>, stride: number[], padding: number[], dilation: number[], groups: number): H;
  convTranspose2d(
    x: H,
    w: H,
    b: Opt<H>,
    stride: number[],
    padding: number[],
    outputPadding: number[],
    groups: number,
    dilation: number[],
  ): H;
  batchNorm(x: H, w: Opt<H>, b: Opt<H>, rm: Opt<H>, rv: Opt<H>, training: boolean, momentum: number, eps: number): H;
  instanceNorm(
    x: H,
    w: Opt<H>,
    b: Opt<H>,
    rm: Opt<H>,
    rv: Opt<H>,
    useInputStats: boolean,
    momentum: number,
    eps: number,
  ): H;
  layerNorm(x: H, shape: number[], w: Opt<H>, b: Opt<H>, eps: number): H;
  groupNorm(x: H, groups: number, w: Opt<H>, b: Opt<H>, eps: number): H;
  maxPool2d(x: H, k: number[], s: number[], p: number[], d: number[], ceil: boolean): H;
  avgPool2d(x: H, k: number[], s: number[], p: number[], ceil: boolean, countIncludePad: boolean): H;
  adaptiveAvgPool2d(x: H, size: number[]): H;
  upsampleNearest2d(x: H, size: number[], scaleH: Opt<number>, scaleW: Opt<number>): H;
  upsampleBilinear2d(x: H, size: number[], alignCorners: boolean, scaleH: Opt<number>, scaleW: Opt<number>): H;
  pixelShuffle(x: H, r: number): H;
  embedding(w: H, idx: H, paddingIdx: number): H;
  dropout(x: H, p: number, train: boolean): H;
  bceWithLogits(x: H, y: H, w: Opt<H>, posWeight: Opt<H>, reduction: number): H;
  crossEntropy(x: H, y: H, w: Opt<H>, reduction: number, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(x: H, y: H, w: Opt<H>, reduction: number, ignoreIndex: number): H;
  mseLoss(x: H, y: H, reduction: number): H;
  l1Loss(x: H, y: H, reduction: number): H;
  rnn(
    mode: 'lstm' | 'gru',
    input: H,
    lengths: Opt<H>,
    h0: H,
    c0: Opt<H>,
    params: H[],
    numLayers: number,
    dropout: number,
    train: boolean,
    bidirectional: boolean,
    batchFirst: boolean,
  ): H[];
  // random
  newGenerator(seed: number, device: number): GeneratorHandle;
  defaultGenerator(device: number): GeneratorHandle;
  generatorGetState(g: GeneratorHandle): H;
  generatorSetState(g: GeneratorHandle, state: H): void;
  generatorSeed(g: GeneratorHandle): number;
  manualSeed(seed: number): void;
  rand(shape: number[], g: G, dtype: number, device: number): H;
  randn(shape: number[], g: G, dtype: number, device: number): H;
  randint(low: number, high: number, shape: number[], g: G, dtype: number, device: number): H;
  normal(mean: number, std: number, shape: number[], g: G, dtype: number, device: number): H;
  bernoulli(p: H, g: G): H;
  multinomial(p: H, n: number, replacement: boolean, g: G): H;
  randperm(n: number, g: G, device: number): H;
  uniform_(h: H, a: number, b: number, g: G): void;
  normal_(h: H, mean: number, std: number, g: G): void;
  // autograd
  requiresGrad(h: H): boolean;
  setRequiresGrad(h: H, on: boolean): void;
  isLeaf(h: H): boolean;
  grad(h: H): H | null;
  setGrad(h: H, g: H | null): void;
  zeroGrads(hs: H[]): void;
  backward(h: H, grad: Opt<H>, retainGraph: boolean, createGraph: boolean): void;
  autogradGrad(
    outputs: H[],
    inputs: H[],
    gradOutputs: H[],
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (H | null)[];
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  // optim
  adamStep(
    params: H[],
    expAvg: H[],
    expAvgSq: H[],
    steps: H[],
    lr: number,
    beta1: number,
    beta2: number,
    weightDecay: number,
    eps: number,
    decoupled: boolean,
    allowFused?: boolean,
  ): boolean;
  rmspropStep(
    params: H[],
    squareAvg: H[],
    momentumBuf: H[],
    gradAvg: H[],
    lr: number,
    alpha: number,
    eps: number,
    weightDecay: number,
    momentum: number,
  ): void;
  sgdStep(
    params: H[],
    momentumBuf: H[],
    started: number[],
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
  ): boolean[];
  clipGradNorm(params: H[], maxNorm: number, normType: number): number;
  // device
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  cudaMemoryStats(index: number): { allocated: number; peakAllocated: number; reserved: number; peakReserved: number };
  cudaResetPeak(index: number): void;
  cudaEmptyCache(): void;
  setCudnnBenchmark(on: boolean): void;
  setAllowTF32(on: boolean): void;
  // autocast
  autocastEnter(device: number, dtype: number): [boolean, number];
  autocastExit(device: number, prevEnabled: boolean, prevDtype: number): void;
  autocastState(device: number): number | null;
  ampUnscale(grads: H[], invScale: number): boolean;
}

function candidates(): string[] {
  const out: string[] = [];
  if (process.env.CREATIVEAI_NATIVE) out.push(process.env.CREATIVEAI_NATIVE);
  // Walk up from this file to the package root (works from src/ via tsx, from dist/, and from a bundle).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(path.join(dir, 'build', 'creativeai_torch.node'));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

function load(): NativeBinding {
  const require = createRequire(import.meta.url);
  // Debian's OpenBLAS starts a thread pool of its own that at::set_num_threads does not size;
  // inside libtorch's intra-op threads it only oversubscribes the cores (measured: 1.6x the CPU
  // time at equal or worse wall time). It reads this when the addon loads it, so set it first.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  const errors: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      errors.push(`${file}: not found`);
      continue;
    }
    try {
      return require(file) as NativeBinding;
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
  }
  throw new Error(
    `Could not load the CreativeAI libtorch addon.\nTried:\n  - ${errors.join('\n  - ')}\n` +
      `Possible solutions:\n  - build it: npm run build:native (needs libtorch: apt-get install libtorch-dev)\n` +
      `  - if libtorch moved or was upgraded, rebuild: npm run build:native\n` +
      `  - point CREATIVEAI_NATIVE at a built creativeai_torch.node`,
  );
}

export const native: NativeBinding = load();

// Use every core by default: some libtorch builds start with one intra-op thread.
{
  // CREATIVEAI_THREADS sets the count exactly (e.g. 1 per job when jobs share a machine: libtorch's
  // spinning OpenMP threads slow down badly when oversubscribed).
  const asked = Number(process.env.CREATIVEAI_THREADS);
  if (asked > 0) native.setNumThreads(asked);
  else if (native.version().threads < os.availableParallelism()) native.setNumThreads(os.availableParallelism());
}
