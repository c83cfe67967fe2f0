// Spectral normalisation (Miyato et al. 2018, https://arxiv.org/abs/1802.05957): divides a
// layer's weight by its largest singular value, estimated by power iteration, so that the layer
// is 1-Lipschitz. Stored as PyTorch does: weight_orig (trained), weight_u and weight_v (buffers).
import { keep, noGrad, randn, type Tensor } from '../engine/index.js';
import type { Module } from './module.js';

export interface SpectralNormOptions {
  /** Power-iteration steps per forward pass in training (1 is standard). */
  nPowerIterations?: number;
  eps?: number;
  /** The output-channel dimension of the weight: 0, or 1 for ConvTranspose2d. */
  dim?: number;
}

type WithWeight = Module & { weight: Tensor; forward(...args: never[]): unknown };

function normalize(v: Tensor, eps: number): Tensor {
  using n = v.norm();
  using d = n.clamp(eps);
  return v.div(d);
}

/** Applies spectral normalisation to `layer.weight` in place and returns the layer. */
export function spectralNorm<M extends WithWeight>(layer: M, o: SpectralNormOptions = {}): M {
  const iterations = o.nPowerIterations ?? 1;
  const eps = o.eps ?? 1e-12;
  const dim = o.dim ?? (layer.constructor.name === 'ConvTranspose2d' ? 1 : 0);
  const orig = layer.unregisterParam('weight');
  if (orig === undefined) throw new TypeError(`${layer.constructor.name} has no parameter 'weight' to normalise`);
  layer.param('weight_orig', orig);
  const rows = orig.size(dim);
  const cols = orig.numel / rows;
  const [u, v] = noGrad(() => {
    using u0 = randn([rows]);
    using v0 = randn([cols]);
    return [normalize(u0, eps), normalize(v0, eps)] as const;
  });
  layer.buffer('weight_u', u);
  layer.buffer('weight_v', v);

  const matrix = (): Tensor => {
    if (dim === 0) return orig.reshape(rows, cols);
    const order = [dim, ...orig.shape.map((_, i) => i).filter((i) => i !== dim)];
    using p = orig.permute(...order);
    return p.reshape(rows, cols);
  };

  const compute = (): Tensor => {
    using w = matrix();
    if (layer.training) {
      noGrad(() => {
        for (let i = 0; i < iterations; i++) {
          using wt = w.t();
          using wtu = wt.matmul(u);
          using nv = normalize(wtu, eps);
          v.copy_(nv);
          using wv = w.matmul(v);
          using nu = normalize(wv, eps);
          u.copy_(nu);
        }
      });
    }
    // sigma = u^T W v, differentiable in W (u and v are constants, as in the paper). Clones, so
    // that the next forward pass's in-place power iteration cannot invalidate this graph.
    using uc = u.clone();
    using vc = v.clone();
    using wv = w.matmul(vc);
    using uwv = uc.mul(wv);
    using sigma = uwv.sum();
    return orig.div(sigma);
  };

  // Runs before every forward pass, as PyTorch's forward pre-hook does.
  const forward = layer.forward.bind(layer) as (...args: unknown[]) => unknown;
  let current: Tensor | null = null;
  const patched = (...args: unknown[]): unknown => {
    // Kept out of tidy scopes: the layer owns it until the next forward pass replaces it.
    const next = keep(compute());
    current?.dispose();
    current = next;
    layer.weight = next;
    return forward(...args);
  };
  (layer as { forward: unknown }).forward = patched;
  layer.weight = keep(noGrad(compute));
  current = layer.weight;
  const dispose = layer.dispose.bind(layer);
  (layer as { dispose: () => void }).dispose = () => {
    current?.dispose();
    current = null;
    dispose();
  };
  return layer;
}
