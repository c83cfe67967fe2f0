// Shared plumbing for every binding: tensor handles, argument accessors and the one
// error guard that keeps C++ exceptions from ever crossing into JavaScript.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

namespace cai {

using NoGradGuard = c10::NoGradGuard;

// Number of tensor handles that JavaScript holds and has not disposed.
extern std::atomic<int64_t> g_live;

// A tensor handle as JavaScript sees it: an External pointing at one of these.
struct Holder {
  at::Tensor t;
  bool alive = true;  // false once disposed; the finalizer then only frees memory
};

// Thrown by accessors; the guard turns it into a JS TypeError.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Napi::Value Wrap(Napi::Env env, at::Tensor t);  // null for an undefined tensor
Napi::Array WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
Holder* HolderOf(const Napi::CallbackInfo& info, size_t i);

inline at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  Holder* h = HolderOf(info, i);
  if (!h->alive) throw ArgError("argument " + std::to_string(i) + ": tensor was disposed");
  return h->t;
}

inline c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return T(info, i);
}

inline double Num(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw ArgError("argument " + std::to_string(i) + ": expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline int64_t Int(const Napi::CallbackInfo& info, size_t i) {
  double v = Num(info, i);
  if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 9007199254740991.0)
    throw ArgError("argument " + std::to_string(i) + ": expected an integer");
  return static_cast<int64_t>(v);
}

inline c10::optional<int64_t> OptInt(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return Int(info, i);
}

inline c10::optional<double> OptNum(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return Num(info, i);
}

inline bool Bool(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean())
    throw ArgError("argument " + std::to_string(i) + ": expected a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// JS has one number type; an integral value becomes an integer scalar so that
// `intTensor + 1` stays integral while `floatTensor + 1` stays floating, as in PyTorch.
inline at::Scalar Scal(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double v = Num(info, i);
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 9007199254740991.0)
    return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i);
// An integer list of exactly n entries (some ATen kernels index such lists without checking).
inline std::vector<int64_t> IntsN(const Napi::CallbackInfo& info, size_t i, size_t n) {
  std::vector<int64_t> v = Ints(info, i);
  if (v.size() != n)
    throw ArgError("argument " + std::to_string(i) + ": expected " + std::to_string(n) + " integers, got " +
                   std::to_string(v.size()));
  return v;
}

std::vector<at::Tensor> Tensors(const Napi::CallbackInfo& info, size_t i);
std::vector<double> Nums(const Napi::CallbackInfo& info, size_t i);

at::ScalarType Dtype(const Napi::CallbackInfo& info, size_t i);
at::Device Dev(const Napi::CallbackInfo& info, size_t i);
inline at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtype_i, size_t device_i) {
  return at::TensorOptions().dtype(Dtype(info, dtype_i)).device(Dev(info, device_i));
}
int64_t DeviceCode(const at::Device& d);

// The guard: every exported function runs inside it (tch's PROTECT, done once).
using Body = Napi::Value (*)(const Napi::CallbackInfo&);
Napi::Value Guard(const Napi::CallbackInfo& info, Body body);

template <Body B>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return Guard(info, B);
}

#define CAI_EXPORT(exports, name, fn) \
  (exports).Set(name, Napi::Function::New<::cai::Guarded<fn>>((exports).Env(), name))

// Each topic file registers its functions here.
void RegisterTensor(Napi::Env env, Napi::Object exports);
void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterNN(Napi::Env env, Napi::Object exports);
void RegisterRandom(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterOptim(Napi::Env env, Napi::Object exports);
void RegisterDevice(Napi::Env env, Napi::Object exports);
void RegisterAutocast(Napi::Env env, Napi::Object exports);

}  // namespace cai
