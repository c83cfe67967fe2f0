// Activation functions as modules, for use in Sequential.
import type { Tensor } from '../engine/index.js';
import { Module } from './module.js';

/** A module with one tensor in and one out: what Sequential chains. */
export interface Layer {
  forward(x: Tensor): Tensor;
}

export class ReLU extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class LeakyReLU extends Module implements Layer {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

export class ELU extends Module implements Layer {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }
}

export class GELU extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.gelu();
  }
}

export class Softplus extends Module implements Layer {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.softplus(this.beta, this.threshold);
  }
}

export class Tanh extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Identity extends Module implements Layer {
  forward(x: Tensor): Tensor {
    return x.alias();
  }
}
