// Convolutions: Conv1d, Conv2d and ConvTranspose2d (the DCGAN / StackGAN up-sampling block).
import { F, empty, type Tensor } from '../engine/index.js';
import { fans, kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';

type Pair = number | [number, number];

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function checkChannels(inC: number, outC: number, groups: number): void {
  if (!Number.isInteger(inC) || !Number.isInteger(outC) || inC < 1 || outC < 1)
    throw new TypeError(`Channel counts must be positive integers, got in=${inC} out=${outC}`);
  if (inC % groups !== 0 || outC % groups !== 0)
    throw new TypeError(`Channel counts (${inC}, ${outC}) must be divisible by groups (${groups})`);
}

/** PyTorch's default initialisation for convolution weights and biases. */
function initConv(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight.shape).fanIn);
    uniform_(bias, -bound, bound);
  }
}

abstract class ConvBase extends Module {
  weight: Tensor;
  readonly bias: Tensor | null;

  protected constructor(weightShape: number[], biasSize: number, bias: boolean) {
    super();
    this.weight = this.param('weight', empty(weightShape));
    this.bias = bias ? this.param('bias', empty([biasSize])) : null;
    initConv(this.weight, this.bias);
  }
}

export class Conv1d extends ConvBase {
  readonly o: Required<Omit<ConvOptions, 'bias' | 'stride' | 'padding' | 'dilation'>> & {
    stride: number;
    padding: number;
    dilation: number;
  };
  constructor(
    inChannels: number,
    outChannels: number,
    kernel: number,
    opts: Omit<ConvOptions, 'stride' | 'padding' | 'dilation'> & {
      stride?: number;
      padding?: number;
      dilation?: number;
    } = {},
  ) {
    const groups = opts.groups ?? 1;
    checkChannels(inChannels, outChannels, groups);
    super([outChannels, inChannels / groups, kernel], outChannels, opts.bias ?? true);
    this.o = { stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, groups };
  }
  forward(x: Tensor): Tensor {
    return F.conv1d(x, this.weight, this.bias, this.o);
  }
}

export class Conv2d extends ConvBase {
  readonly o: { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number };
  constructor(inChannels: number, outChannels: number, kernel: Pair, opts: ConvOptions = {}) {
    const groups = opts.groups ?? 1;
    checkChannels(inChannels, outChannels, groups);
    super([outChannels, inChannels / groups, ...pair(kernel)], outChannels, opts.bias ?? true);
    this.o = {
      stride: pair(opts.stride ?? 1),
      padding: pair(opts.padding ?? 0),
      dilation: pair(opts.dilation ?? 1),
      groups,
    };
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.o);
  }
}

export class ConvTranspose2d extends ConvBase {
  readonly o: {
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    outputPadding: [number, number];
    groups: number;
  };
  constructor(
    inChannels: number,
    outChannels: number,
    kernel: Pair,
    opts: ConvOptions & { outputPadding?: Pair } = {},
  ) {
    const groups = opts.groups ?? 1;
    checkChannels(inChannels, outChannels, groups);
    super([inChannels, outChannels / groups, ...pair(kernel)], outChannels, opts.bias ?? true);
    this.o = {
      stride: pair(opts.stride ?? 1),
      padding: pair(opts.padding ?? 0),
      dilation: pair(opts.dilation ?? 1),
      outputPadding: pair(opts.outputPadding ?? 0),
      groups,
    };
  }
  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, this.o);
  }
}
