// LSTM and GRU, multi-layer and bidirectional, with variable sequence lengths (packed inside).
import { F, empty, zeros, type Tensor } from '../engine/index.js';
import { uniform_ } from './init.js';
import { Module } from './module.js';

export interface RnnOptions {
  numLayers?: number;
  bidirectional?: boolean;
  /** Input and output as [batch, time, features] instead of [time, batch, features]. */
  batchFirst?: boolean;
  /** Dropout between layers (training only). */
  dropout?: number;
  bias?: boolean;
}

export interface RnnState {
  /** Output features at every step: [batch, time, dirs * hidden] with batchFirst. */
  output: Tensor;
  /** Final hidden state: [layers * dirs, batch, hidden]. */
  h: Tensor;
  /** Final cell state (LSTM only). */
  c: Tensor | null;
}

abstract class RnnBase extends Module {
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly flat: Tensor[] = [];

  protected constructor(
    readonly mode: 'lstm' | 'gru',
    readonly inputSize: number,
    readonly hiddenSize: number,
    o: RnnOptions,
  ) {
    super();
    this.numLayers = o.numLayers ?? 1;
    this.bidirectional = o.bidirectional ?? false;
    this.batchFirst = o.batchFirst ?? false;
    this.dropout = o.dropout ?? 0;
    const gates = mode === 'lstm' ? 4 : 3;
    const dirs = this.bidirectional ? 2 : 1;
    const bound = 1 / Math.sqrt(hiddenSize);
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${layer}${d === 1 ? '_reverse' : ''}`;
        const inSize = layer === 0 ? inputSize : hiddenSize * dirs;
        const shapes: [string, number[]][] = [
          [`weight_ih${sfx}`, [gates * hiddenSize, inSize]],
          [`weight_hh${sfx}`, [gates * hiddenSize, hiddenSize]],
        ];
        if (o.bias ?? true)
          shapes.push([`bias_ih${sfx}`, [gates * hiddenSize]], [`bias_hh${sfx}`, [gates * hiddenSize]]);
        for (const [name, shape] of shapes) this.flat.push(this.param(name, uniform_(empty(shape), -bound, bound)));
      }
    }
  }

  /**
   * @param x [batch, time, inputSize] (batchFirst) or [time, batch, inputSize]
   * @param o.lengths valid length of each sequence (int64 [batch]); padding never enters the recurrence
   */
  forward(x: Tensor, o: { lengths?: Tensor | null; h0?: Tensor; c0?: Tensor } = {}): RnnState {
    if (x.rank !== 3) throw new TypeError(`${this.constructor.name} expects a 3-d input, got [${x.shape.join(', ')}]`);
    if (x.size(2) !== this.inputSize)
      throw new TypeError(`${this.constructor.name} expects ${this.inputSize} input features, got ${x.size(2)}`);
    const batch = x.size(this.batchFirst ? 0 : 1);
    const stateShape = [this.numLayers * (this.bidirectional ? 2 : 1), batch, this.hiddenSize];
    const h0 = o.h0 ?? zeros(stateShape, { dtype: x.dtype, device: x.device });
    const c0 = this.mode === 'lstm' ? (o.c0 ?? zeros(stateShape, { dtype: x.dtype, device: x.device })) : null;
    try {
      return F.rnn(x, h0, c0, {
        mode: this.mode,
        params: this.flat,
        numLayers: this.numLayers,
        bidirectional: this.bidirectional,
        batchFirst: this.batchFirst,
        dropout: this.dropout,
        training: this.training,
        lengths: o.lengths ?? null,
      });
    } finally {
      if (o.h0 === undefined) h0.dispose();
      if (o.c0 === undefined) c0?.dispose();
    }
  }
}

export class LSTM extends RnnBase {
  constructor(inputSize: number, hiddenSize: number, o: RnnOptions = {}) {
    super('lstm', inputSize, hiddenSize, o);
  }
}

export class GRU extends RnnBase {
  constructor(inputSize: number, hiddenSize: number, o: RnnOptions = {}) {
    super('gru', inputSize, hiddenSize, o);
  }
}
