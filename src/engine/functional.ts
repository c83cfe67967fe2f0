// Neural-network functions (torch.nn.functional): convolutions, normalisation, pooling,
// resampling, embedding, dropout, losses and recurrent layers. Modules in src/nn call these.
import { native } from './native.js';
import { REDUCTION, Tensor, type Reduction } from './tensor.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);
const opt = (t: Tensor | null | undefined) => (t ? t.handle : null);

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv1d(
  x: Tensor,
  w: Tensor,
  b?: Tensor | null,
  o: Omit<ConvOptions, 'stride' | 'padding' | 'dilation'> & {
    stride?: number;
    padding?: number;
    dilation?: number;
  } = {},
): Tensor {
  return new Tensor(
    native.conv1d(x.handle, w.handle, opt(b), [o.stride ?? 1], [o.padding ?? 0], [o.dilation ?? 1], o.groups ?? 1),
  );
}

export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, o: ConvOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(
      x.handle,
      w.handle,
      opt(b),
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.groups ?? 1,
    ),
  );
}

export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  b?: Tensor | null,
  o: ConvOptions & { outputPadding?: Pair } = {},
): Tensor {
  return new Tensor(
    native.convTranspose2d(
      x.handle,
      w.handle,
      opt(b),
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.outputPadding ?? 0),
      o.groups ?? 1,
      pair(o.dilation ?? 1),
    ),
  );
}

export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  return new Tensor(native.linear(x.handle, w.handle, opt(b)));
}

export interface NormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalisation; in training it also updates runningMean/runningVar in place. */
export function batchNorm(x: Tensor, o: NormOptions = {}): Tensor {
  return new Tensor(
    native.batchNorm(
      x.handle,
      opt(o.weight),
      opt(o.bias),
      opt(o.runningMean),
      opt(o.runningVar),
      o.training ?? true,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

export function instanceNorm(x: Tensor, o: NormOptions & { useInputStats?: boolean } = {}): Tensor {
  return new Tensor(
    native.instanceNorm(
      x.handle,
      opt(o.weight),
      opt(o.bias),
      opt(o.runningMean),
      opt(o.runningVar),
      o.useInputStats ?? true,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

export function layerNorm(
  x: Tensor,
  normalizedShape: number[],
  o: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {},
): Tensor {
  return new Tensor(native.layerNorm(x.handle, normalizedShape, opt(o.weight), opt(o.bias), o.eps ?? 1e-5));
}

export function groupNorm(
  x: Tensor,
  groups: number,
  o: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {},
): Tensor {
  return new Tensor(native.groupNorm(x.handle, groups, opt(o.weight), opt(o.bias), o.eps ?? 1e-5));
}

export function maxPool2d(
  x: Tensor,
  kernel: Pair,
  o: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {},
): Tensor {
  return new Tensor(
    native.maxPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.ceilMode ?? false,
    ),
  );
}

export function avgPool2d(
  x: Tensor,
  kernel: Pair,
  o: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {},
): Tensor {
  return new Tensor(
    native.avgPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      o.ceilMode ?? false,
      o.countIncludePad ?? true,
    ),
  );
}

export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(x.handle, pair(size)));
}

/** Resizes NCHW images to `size`, or by `scaleFactor`. */
export function interpolate(
  x: Tensor,
  o: { size?: Pair; scaleFactor?: number; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean },
): Tensor {
  if (x.rank !== 4) throw new TypeError(`interpolate expects an NCHW tensor, got shape [${x.shape.join(', ')}]`);
  let size: [number, number];
  let scales: [number | null, number | null] = [null, null];
  if (o.size !== undefined) size = pair(o.size);
  else if (o.scaleFactor !== undefined) {
    size = [Math.floor(x.size(2) * o.scaleFactor), Math.floor(x.size(3) * o.scaleFactor)];
    scales = [o.scaleFactor, o.scaleFactor];
  } else throw new TypeError('interpolate needs size or scaleFactor');
  if ((o.mode ?? 'nearest') === 'nearest') return new Tensor(native.upsampleNearest2d(x.handle, size, ...scales));
  return new Tensor(native.upsampleBilinear2d(x.handle, size, o.alignCorners ?? false, ...scales));
}

export function pixelShuffle(x: Tensor, upscale: number): Tensor {
  return new Tensor(native.pixelShuffle(x.handle, upscale));
}

/** Rows of weight picked by integer indices; paddingIdx rows get no gradient. */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx = -1): Tensor {
  return new Tensor(native.embedding(weight.handle, indices.handle, paddingIdx));
}

export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout probability must be in [0, 1], got ${p}`);
  return new Tensor(native.dropout(x.handle, p, training));
}

/** Pads the last dimensions: [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export function pad(
  x: Tensor,
  pads: number[],
  mode: 'constant' | 'reflect' | 'replicate' = 'constant',
  value = 0,
): Tensor {
  if (mode === 'constant') return new Tensor(native.padConstant(x.handle, pads, value));
  if (mode === 'reflect') return new Tensor(native.padReflect(x.handle, pads));
  return new Tensor(native.padReplicate(x.handle, pads));
}

// ---- losses ----------------------------------------------------------------------------------
export function bceWithLogits(
  logits: Tensor,
  target: Tensor,
  o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {},
): Tensor {
  return new Tensor(
    native.bceWithLogits(
      logits.handle,
      target.handle,
      opt(o.weight),
      opt(o.posWeight),
      REDUCTION[o.reduction ?? 'mean'],
    ),
  );
}

/** Cross entropy of logits against class indices (int64). */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number } = {},
): Tensor {
  return new Tensor(
    native.crossEntropy(
      logits.handle,
      target.handle,
      opt(o.weight),
      REDUCTION[o.reduction ?? 'mean'],
      o.ignoreIndex ?? -100,
      o.labelSmoothing ?? 0,
    ),
  );
}

export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {},
): Tensor {
  return new Tensor(
    native.nllLoss(
      logProbs.handle,
      target.handle,
      opt(o.weight),
      REDUCTION[o.reduction ?? 'mean'],
      o.ignoreIndex ?? -100,
    ),
  );
}

export function mseLoss(x: Tensor, y: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.mseLoss(x.handle, y.handle, REDUCTION[reduction]));
}

export function l1Loss(x: Tensor, y: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.l1Loss(x.handle, y.handle, REDUCTION[reduction]));
}

/**
 * KL(N(mu, exp(logvar)) || N(0, I)), summed over features and averaged over the batch:
 * StackGAN's conditioning-augmentation regulariser.
 */
export function gaussianKl(mu: Tensor, logvar: Tensor): Tensor {
  const t1 = mu.square();
  const t2 = logvar.exp();
  const t3 = t1.add(t2);
  const t4 = t3.sub(logvar);
  const t5 = t4.sub(1);
  const perSample = t5.sum(-1);
  const mean = perSample.mean();
  const out = mean.mul(0.5);
  for (const t of [t1, t2, t3, t4, t5, perSample, mean]) t.dispose();
  return out;
}

// ---- recurrent layers ------------------------------------------------------------------------
export interface RnnOptions {
  mode: 'lstm' | 'gru';
  /** Flat weights per layer and direction: w_ih, w_hh[, b_ih, b_hh] (PyTorch order). */
  params: Tensor[];
  numLayers: number;
  bidirectional: boolean;
  batchFirst: boolean;
  dropout?: number;
  training?: boolean;
  /** Valid length of each sequence (int64, one per batch entry); positions past it are ignored. */
  lengths?: Tensor | null;
}

/** Runs an LSTM/GRU; returns the output sequence and the final hidden (and cell) states. */
export function rnn(
  input: Tensor,
  h0: Tensor,
  c0: Tensor | null,
  o: RnnOptions,
): { output: Tensor; h: Tensor; c: Tensor | null } {
  const out = native.rnn(
    o.mode,
    input.handle,
    opt(o.lengths),
    h0.handle,
    opt(c0),
    o.params.map((p) => p.handle),
    o.numLayers,
    o.dropout ?? 0,
    o.training ?? true,
    o.bidirectional,
    o.batchFirst,
  );
  const [output, h, c] = out.map((x) => new Tensor(x));
  return { output: output!, h: h!, c: c ?? null };
}
