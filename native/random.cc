// Seedable random number generators and the sampling ops that draw from them.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>

namespace cai {
namespace {

static const napi_type_tag kGenTag = {0x6372656174697665ULL, 0x61692d67656e6572ULL};

struct GenHolder {
  at::Generator g;
};

// (seed, device) -> generator. A CPU generator is private to its owner; on CUDA the device's
// default generator is used (seeded here), since a private one needs the CUDA headers.
Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
  uint64_t seed = static_cast<uint64_t>(Int(info, 0));
  at::Device dev = Dev(info, 1);
  at::Generator g;
  if (dev.is_cpu()) {
    g = at::make_generator<at::CPUGeneratorImpl>(seed);
  } else {
    g = at::globalContext().defaultGenerator(dev);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
  }
  auto ext = Napi::External<GenHolder>::New(info.Env(), new GenHolder{g},
                                            [](Napi::Env, GenHolder* p) { delete p; });
  napi_type_tag_object(info.Env(), ext, &kGenTag);
  return ext;
}

// The default generator of a device (CPU: the one manualSeed seeds, used by dropout).
Napi::Value DefaultGenerator(const Napi::CallbackInfo& info) {
  at::Generator g = at::globalContext().defaultGenerator(Dev(info, 0));
  auto ext = Napi::External<GenHolder>::New(info.Env(), new GenHolder{g},
                                            [](Napi::Env, GenHolder* p) { delete p; });
  napi_type_tag_object(info.Env(), ext, &kGenTag);
  return ext;
}

c10::optional<at::Generator> Gen(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  bool ok = false;
  if (info[i].IsExternal()) napi_check_object_type_tag(info.Env(), info[i], &kGenTag, &ok);
  if (!ok) throw ArgError("argument " + std::to_string(i) + ": expected a generator");
  return info[i].As<Napi::External<GenHolder>>().Data()->g;
}

at::Generator RequiredGen(const Napi::CallbackInfo& info, size_t i) {
  c10::optional<at::Generator> g = Gen(info, i);
  if (!g) throw ArgError("argument " + std::to_string(i) + ": expected a generator");
  return *g;
}

Napi::Value GetState(const Napi::CallbackInfo& info) {
  at::Generator g = RequiredGen(info, 0);
  std::lock_guard<std::mutex> lock(g.mutex());
  return Wrap(info.Env(), g.get_state());
}

Napi::Value SetState(const Napi::CallbackInfo& info) {
  at::Generator g = RequiredGen(info, 0);
  at::Tensor s = T(info, 1);
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(s);
  return info.Env().Undefined();
}

Napi::Value Seed(const Napi::CallbackInfo& info) {
  at::Generator g = RequiredGen(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(g.current_seed()));
}

// Seeds every default generator (CPU and all CUDA devices), like torch.manual_seed.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  at::manual_seed(static_cast<uint64_t>(Int(info, 0)));
  return info.Env().Undefined();
}

#define OP(name, expr)                               \
  Napi::Value name(const Napi::CallbackInfo& info) { \
    return Wrap(info.Env(), (expr));                 \
  }

// (shape, generator?, dtype, device)
OP(Rand, at::rand(Ints(info, 0), Gen(info, 1), Opts(info, 2, 3)))
OP(Randn, at::randn(Ints(info, 0), Gen(info, 1), Opts(info, 2, 3)))
// (low, high, shape, generator?, dtype, device)
OP(Randint, at::randint(Int(info, 0), Int(info, 1), Ints(info, 2), Gen(info, 3), Opts(info, 4, 5)))
// (mean, std, shape, generator?, dtype, device)
OP(Normal, at::normal(Num(info, 0), Num(info, 1), Ints(info, 2), Gen(info, 3), Opts(info, 4, 5)))
// (probs, generator?)
OP(Bernoulli, at::bernoulli(T(info, 0), Gen(info, 1)))
// (probs, n, replacement, generator?)
OP(Multinomial, at::multinomial(T(info, 0), Int(info, 1), Bool(info, 2), Gen(info, 3)))
// (n, generator?, device)
OP(Randperm, at::randperm(Int(info, 0), Gen(info, 1), at::TensorOptions().dtype(at::kLong).device(Dev(info, 2))))

// In-place fills used by initialisers: (t, a, b, generator?)
Napi::Value Uniform_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).uniform_(Num(info, 1), Num(info, 2), Gen(info, 3));
  return info.Env().Undefined();
}
Napi::Value Normal_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).normal_(Num(info, 1), Num(info, 2), Gen(info, 3));
  return info.Env().Undefined();
}

}  // namespace

void RegisterRandom(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "newGenerator", NewGenerator);
  CAI_EXPORT(e, "defaultGenerator", DefaultGenerator);
  CAI_EXPORT(e, "generatorGetState", GetState);
  CAI_EXPORT(e, "generatorSetState", SetState);
  CAI_EXPORT(e, "generatorSeed", Seed);
  CAI_EXPORT(e, "manualSeed", ManualSeed);
  CAI_EXPORT(e, "rand", Rand);
  CAI_EXPORT(e, "randn", Randn);
  CAI_EXPORT(e, "randint", Randint);
  CAI_EXPORT(e, "normal", Normal);
  CAI_EXPORT(e, "bernoulli", Bernoulli);
  CAI_EXPORT(e, "multinomial", Multinomial);
  CAI_EXPORT(e, "randperm", Randperm);
  CAI_EXPORT(e, "uniform_", Uniform_);
  CAI_EXPORT(e, "normal_", Normal_);
}

}  // namespace cai
