// Sequential: layers applied in order, registered as 0, 1, 2, ... like torch.nn.Sequential.
import type { Tensor } from '../engine/index.js';
import type { Layer } from './activation.js';
import { Module } from './module.js';

export class Sequential extends Module implements Layer {
  readonly layers: (Module & Layer)[];

  constructor(...layers: (Module & Layer)[]) {
    super();
    this.layers = layers.map((l, i) => this.module(String(i), l));
  }

  /** Intermediate activations are released as soon as the next layer has consumed them. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) {
      const next = layer.forward(h);
      if (h !== x) h.dispose();
      h = next;
    }
    return h === x ? x.alias() : h;
  }
}
