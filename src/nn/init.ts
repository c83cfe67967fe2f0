// Weight initialisers (torch.nn.init), in place and outside autograd.
import { noGrad, type Generator, type Tensor } from '../engine/index.js';

export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

/** Recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
  }
}

/** fan_in and fan_out of a weight of shape [out, in, ...kernel] (PyTorch's convention). */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2)
    throw new TypeError(`fan in/out needs a tensor with at least 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export function uniform_(t: Tensor, a = 0, b = 1, generator?: Generator): Tensor {
  return noGrad(() => t.uniform_(a, b, generator));
}
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  return noGrad(() => t.normal_(mean, std, generator));
}
export function constant_(t: Tensor, v: number): Tensor {
  return t.fill_(v);
}
export function zeros_(t: Tensor): Tensor {
  return t.zero_();
}
export function ones_(t: Tensor): Tensor {
  return t.fill_(1);
}

export function xavierUniform_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
export function xavierNormal_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), generator);
}

export interface KaimingOptions {
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}
function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const f = fans(t.shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? f.fanIn : f.fanOut;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return uniform_(t, -bound, bound, o.generator);
}
export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, o), o.generator);
}

/** A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al. 2013). */
export function orthogonal_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  if (t.rank < 2) throw new TypeError('orthogonal_ needs a tensor with at least 2 dimensions');
  const rows = t.size(0);
  const cols = t.numel / rows;
  noGrad(() => {
    using view = t.reshape(rows, cols);
    using flat = view.clone();
    flat.normal_(0, 1, generator);
    using m = rows < cols ? flat.t() : flat.alias();
    const { q, r } = m.qr();
    using _q = q;
    using _r = r;
    // Make the decomposition unique: scale columns by the sign of R's diagonal.
    using diagonal = r.diag();
    using d = diagonal.sign();
    using qs = q.mul(d);
    using qt = rows < cols ? qs.t() : qs.alias();
    using scaled = qt.mul(gain);
    using shaped = scaled.reshape(...t.shape);
    t.copy_(shaped);
  });
  return t;
}
