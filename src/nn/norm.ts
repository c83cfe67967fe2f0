// Normalisation layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm, GroupNorm.
import { F, ones, zeros, type Tensor } from '../engine/index.js';
import { Module } from './module.js';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export abstract class BatchNormBase extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly eps: number;
  /** Weight of a batch's statistics in the running ones; standing statistics vary it per batch. */
  momentum: number;

  constructor(
    readonly numFeatures: number,
    private readonly expectedRanks: number[],
    o: BatchNormOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    const affine = o.affine ?? true;
    this.weight = affine ? this.param('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.param('bias', zeros([numFeatures])) : null;
    const track = o.trackRunningStats ?? true;
    this.runningMean = track ? this.buffer('running_mean', zeros([numFeatures])) : null;
    this.runningVar = track ? this.buffer('running_var', ones([numFeatures])) : null;
  }

  forward(x: Tensor): Tensor {
    if (!this.expectedRanks.includes(x.rank))
      throw new TypeError(
        `${this.constructor.name} expects a ${this.expectedRanks.join(' or ')}-d input, got shape [${x.shape.join(', ')}]`,
      );
    // Without running statistics, batch statistics are used in eval mode too (PyTorch semantics).
    const training = this.training || this.runningMean === null;
    return F.batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, o: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], o);
  }
}

export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, o: BatchNormOptions = {}) {
    super(numFeatures, [4], o);
  }
}

/** Per-sample, per-channel normalisation (PyTorch defaults: no affine, no running stats). */
export class InstanceNorm2d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    o: BatchNormOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    const affine = o.affine ?? false;
    this.weight = affine ? this.param('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.param('bias', zeros([numFeatures])) : null;
    const track = o.trackRunningStats ?? false;
    this.runningMean = track ? this.buffer('running_mean', zeros([numFeatures])) : null;
    this.runningVar = track ? this.buffer('running_var', ones([numFeatures])) : null;
  }

  forward(x: Tensor): Tensor {
    return F.instanceNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      useInputStats: this.training || this.runningMean === null,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly normalizedShape: number[];

  constructor(
    normalizedShape: number | number[],
    readonly o: { eps?: number; elementwiseAffine?: boolean } = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    const affine = o.elementwiseAffine ?? true;
    this.weight = affine ? this.param('weight', ones(this.normalizedShape)) : null;
    this.bias = affine ? this.param('bias', zeros(this.normalizedShape)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.o.eps ?? 1e-5 });
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly o: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    if (numChannels % numGroups !== 0)
      throw new TypeError(`GroupNorm: ${numChannels} channels cannot be split into ${numGroups} groups`);
    const affine = o.affine ?? true;
    this.weight = affine ? this.param('weight', ones([numChannels])) : null;
    this.bias = affine ? this.param('bias', zeros([numChannels])) : null;
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.o.eps ?? 1e-5 });
  }
}
