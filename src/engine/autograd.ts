// torch.autograd.grad: gradients of outputs with respect to inputs, optionally differentiable
// themselves (createGraph) so that a penalty on them can be backpropagated (WGAN-GP).
import { native } from './native.js';
import { Tensor } from './tensor.js';

export interface GradOptions {
  /** Gradients flowing into the outputs; required for non-scalar outputs. */
  gradOutputs?: Tensor[];
  /** Build a graph of the gradient computation, for double backward. */
  createGraph?: boolean;
  /** Keep the forward graph for another backward (defaults to createGraph). */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], o: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const create = o.createGraph ?? false;
  const res = native.autogradGrad(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    (o.gradOutputs ?? []).map((t) => t.handle),
    o.retainGraph ?? create,
    create,
    o.allowUnused ?? false,
  );
  return res.map((h) => (h === null ? null : new Tensor(h)));
}
