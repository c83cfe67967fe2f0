// Shape layers: Flatten, Reshape (batch dimension kept) and Upsample.
import { F, type Tensor } from '../engine/index.js';
import { Module } from './module.js';

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Reshapes every sample: Reshape(512, 4, 4) turns [N, 8192] into [N, 512, 4, 4]. */
export class Reshape extends Module {
  readonly shape: number[];
  constructor(...shape: number[]) {
    super();
    this.shape = shape;
  }
  forward(x: Tensor): Tensor {
    return x.reshape(x.size(0), ...this.shape);
  }
}

export class Upsample extends Module {
  constructor(
    readonly scaleFactor = 2,
    readonly mode: 'nearest' | 'bilinear' = 'nearest',
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, { scaleFactor: this.scaleFactor, mode: this.mode });
  }
}
