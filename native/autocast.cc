// Automatic mixed precision: entering and leaving autocast regions (the thread-local state that
// makes convolutions and matrix products run in float16/bfloat16 while reductions and losses stay
// in float32), and the gradient unscaling step of dynamic loss scaling.
#include "autocast.h"

namespace cai {
namespace {

// (device, dtype) -> [previous enabled, previous dtype code]; also counts the nesting so that
// the cache of casted weights lives exactly as long as the outermost region.
Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  at::DeviceType d = Dev(info, 0).type();
  at::ScalarType t = Dtype(info, 1);
  if (t != at::kHalf && t != at::kBFloat16) throw ArgError("autocast runs in float16 or bfloat16");
  Napi::Array prev = Napi::Array::New(info.Env(), 2);
  prev.Set(0u, Napi::Boolean::New(info.Env(), AutocastEnabled(d)));
  prev.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(AutocastDtype(d))));
  SetAutocastDtype(d, t);
  SetAutocastEnabled(d, true);
  at::autocast::increment_nesting();
  return prev;
}

// (device, previous enabled, previous dtype): restores what AutocastEnter found.
Napi::Value AutocastExit(const Napi::CallbackInfo& info) {
  at::DeviceType d = Dev(info, 0).type();
  bool enabled = Bool(info, 1);
  at::ScalarType t = Dtype(info, 2);
  SetAutocastEnabled(d, enabled);
  SetAutocastDtype(d, t);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  return info.Env().Undefined();
}

// (device) -> dtype code while autocast is on there, null otherwise.
Napi::Value AutocastState(const Napi::CallbackInfo& info) {
  at::DeviceType d = Dev(info, 0).type();
  if (!AutocastEnabled(d)) return info.Env().Null();
  return Napi::Number::New(info.Env(), static_cast<double>(AutocastDtype(d)));
}

// (grads[], invScale) -> whether any gradient holds inf or NaN. Multiplies every gradient by
// invScale in place. On CUDA one multi-tensor kernel does it without a sync per tensor.
Napi::Value AmpUnscale(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> grads = Tensors(info, 0);
  double inv = Num(info, 1);
  NoGradGuard ng;
  bool found = false;
  std::vector<at::Tensor> cuda;
  for (at::Tensor& g : grads) {
    if (!g.is_floating_point()) throw ArgError("ampUnscale: gradients must be floating point");
    if (g.is_cuda()) {
      cuda.push_back(g);
      continue;
    }
    g.mul_(inv);
    if (!at::isfinite(g).all().item<bool>()) found = true;
  }
  if (!cuda.empty()) {
    at::Device dev = cuda[0].device();
    for (const at::Tensor& g : cuda)
      if (g.device() != dev) throw ArgError("ampUnscale: CUDA gradients on more than one device");
    auto opts = at::TensorOptions().dtype(at::kFloat).device(dev);
    at::Tensor foundInf = at::zeros({1}, opts);
    at::Tensor invScale = at::full({1}, inv, opts);
    at::_amp_foreach_non_finite_check_and_unscale_(cuda, foundInf, invScale);
    if (foundInf.item<float>() != 0.0f) found = true;
  }
  return Napi::Boolean::New(info.Env(), found);
}

}  // namespace

void RegisterAutocast(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "autocastEnter", AutocastEnter);
  CAI_EXPORT(e, "autocastExit", AutocastExit);
  CAI_EXPORT(e, "autocastState", AutocastState);
  CAI_EXPORT(e, "ampUnscale", AmpUnscale);
}

}  // namespace cai
