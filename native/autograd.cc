// Autograd: gradient flags, backward, torch.autograd.grad (with create_graph for double
// backward, as the WGAN-GP penalty needs) and the grad-mode switch behind noGrad scopes.
#include "autocast.h"
#include "common.h"

#include <torch/csrc/autograd/autograd.h>

namespace cai {
namespace {

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad());
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  T(info, 0).set_requires_grad(Bool(info, 1));
  return info.Env().Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf());
}

Napi::Value Grad(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info, 0).grad()); }

// (t, grad|null): replaces the accumulated gradient; null clears it.
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info, 0);
  c10::optional<at::Tensor> g = OptT(info, 1);
  t.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
}

// Clears the gradients of many tensors in one call (set to undefined, as set_to_none=True).
Napi::Value ZeroGrads(const Napi::CallbackInfo& info) {
  for (at::Tensor& t : Tensors(info, 0)) t.mutable_grad() = at::Tensor();
  return info.Env().Undefined();
}

// (t, gradient?, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info, 0);
  c10::optional<at::Tensor> g = OptT(info, 1);
  if (!g && t.numel() != 1)
    throw ArgError("backward() without a gradient needs a scalar (one-element) tensor, got " +
                   std::to_string(t.numel()) + " elements");
  if (!t.requires_grad()) throw ArgError("backward(): the tensor does not require grad and has no grad_fn");
  AutocastOff off;
  t.backward(g ? *g : at::Tensor(), Bool(info, 2), Bool(info, 3));
  return info.Env().Undefined();
}

// (outputs[], inputs[], gradOutputs[] (may be empty), retainGraph, createGraph, allowUnused)
// -> gradients, null where an input was unused.
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  auto outputs = Tensors(info, 0);
  auto inputs = Tensors(info, 1);
  auto gradOutputs = Tensors(info, 2);
  if (!gradOutputs.empty() && gradOutputs.size() != outputs.size())
    throw ArgError("gradOutputs must be empty or have one entry per output");
  if (gradOutputs.empty())
    for (auto& o : outputs)
      if (o.numel() != 1) throw ArgError("grad() of a non-scalar output needs gradOutputs");
  AutocastOff off;
  auto r = torch::autograd::grad(outputs, inputs, gradOutputs, Bool(info, 3), Bool(info, 4), Bool(info, 5));
  return WrapList(info.Env(), r);
}

// (enabled) -> previous setting
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(Bool(info, 0));
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

}  // namespace

void RegisterAutograd(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "requiresGrad", RequiresGrad);
  CAI_EXPORT(e, "setRequiresGrad", SetRequiresGrad);
  CAI_EXPORT(e, "isLeaf", IsLeaf);
  CAI_EXPORT(e, "grad", Grad);
  CAI_EXPORT(e, "setGrad", SetGrad);
  CAI_EXPORT(e, "zeroGrads", ZeroGrads);
  CAI_EXPORT(e, "backward", Backward);
  CAI_EXPORT(e, "autogradGrad", AutogradGrad);
  CAI_EXPORT(e, "setGradEnabled", SetGradEnabled);
  CAI_EXPORT(e, "isGradEnabled", IsGradEnabled);
}

}  // namespace cai
