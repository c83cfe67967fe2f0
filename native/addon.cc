// Addon entry: shared plumbing and registration of every topic file. No ops live here.
#include "common.h"

namespace cai {

std::atomic<int64_t> g_live{0};

// Tags our Externals so a foreign External (or a forged object) is rejected, not dereferenced.
static const napi_type_tag kTensorTag = {0x6372656174697665ULL, 0x61692d74656e736fULL};

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto* h = new Holder{std::move(t)};
  g_live.fetch_add(1, std::memory_order_relaxed);
  auto ext = Napi::External<Holder>::New(env, h, [](Napi::Env, Holder* p) {
    // GC backstop: only reached for handles JavaScript dropped without dispose().
    if (p->alive) g_live.fetch_sub(1, std::memory_order_relaxed);
    delete p;
  });
  napi_type_tag_object(env, ext, &kTensorTag);
  return ext;
}

Napi::Array WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return out;
}

static Holder* HolderOfValue(napi_env env, const Napi::Value& v, const std::string& what) {
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &kTensorTag, &ok);
  if (!ok) throw ArgError(what + ": expected a tensor handle");
  return v.As<Napi::External<Holder>>().Data();
}

Holder* HolderOf(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length()) throw ArgError("argument " + std::to_string(i) + ": missing tensor");
  return HolderOfValue(info.Env(), info[i], "argument " + std::to_string(i));
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray())
    throw ArgError("argument " + std::to_string(i) + ": expected an array of integers");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
      throw ArgError("argument " + std::to_string(i) + "[" + std::to_string(k) + "]: expected an integer");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

std::vector<double> Nums(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray())
    throw ArgError("argument " + std::to_string(i) + ": expected an array of numbers");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<double> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw ArgError("argument " + std::to_string(i) + ": expected numbers");
    out[k] = v.As<Napi::Number>().DoubleValue();
  }
  return out;
}

std::vector<at::Tensor> Tensors(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray())
    throw ArgError("argument " + std::to_string(i) + ": expected an array of tensors");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    std::string what = "argument " + std::to_string(i) + "[" + std::to_string(k) + "]";
    Holder* h = HolderOfValue(info.Env(), a.Get(k), what);
    if (!h->alive) throw ArgError(what + ": tensor was disposed");
    out.push_back(h->t);
  }
  return out;
}

at::ScalarType Dtype(const Napi::CallbackInfo& info, size_t i) {
  int64_t code = Int(info, i);
  switch (static_cast<at::ScalarType>(code)) {
    case at::kByte:
    case at::kChar:
    case at::kShort:
    case at::kInt:
    case at::kLong:
    case at::kHalf:
    case at::kFloat:
    case at::kDouble:
    case at::kBool:
    case at::kBFloat16:
      if (code >= 0 && code <= static_cast<int64_t>(at::kBFloat16)) return static_cast<at::ScalarType>(code);
      break;
    default:
      break;
  }
  throw ArgError("argument " + std::to_string(i) + ": unsupported dtype code " + std::to_string(code));
}

// Device code: -1 is the CPU, n >= 0 is cuda:n.
at::Device Dev(const Napi::CallbackInfo& info, size_t i) {
  int64_t code = Int(info, i);
  if (code == -1) return at::Device(at::kCPU);
  if (code < 0 || code > 64) throw ArgError("argument " + std::to_string(i) + ": bad device code");
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(code));
}

int64_t DeviceCode(const at::Device& d) {
  if (d.is_cpu()) return -1;
  if (d.is_cuda()) return d.index() < 0 ? 0 : d.index();
  return -2;  // another backend: reported, never produced by this addon
}

Napi::Value Guard(const Napi::CallbackInfo& info, Body body) {
  Napi::Env env = info.Env();
  const char* code = nullptr;
  std::string msg;
  try {
    return body(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& e) {
    Napi::Error err = Napi::TypeError::New(env, e.what());
    err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG"));
    throw err;
  } catch (const c10::Error& e) {
    code = "ERR_TORCH";
    msg = e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    code = "ERR_OUT_OF_MEMORY";
    msg = "out of memory";
  } catch (const std::exception& e) {
    code = "ERR_NATIVE";
    msg = e.what();
  } catch (...) {
    code = "ERR_NATIVE";
    msg = "unknown native error";
  }
  // libtorch messages end with a newline and sometimes a C++ frame note; keep the first part.
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

}  // namespace cai

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#if TORCH_VERSION_MAJOR >= 2 && defined(__x86_64__)
  // NNPACK is for ARM CPUs; on x86 oneDNN runs the convolutions, but libtorch 2.x still tries
  // it and prints "Could not initialize NNPACK! Reason: Unsupported hardware." per convolution kind.
  at::globalContext().setUserEnabledNNPACK(false);
#endif
  cai::RegisterTensor(env, exports);
  cai::RegisterOps(env, exports);
  cai::RegisterNN(env, exports);
  cai::RegisterRandom(env, exports);
  cai::RegisterAutograd(env, exports);
  cai::RegisterOptim(env, exports);
  cai::RegisterDevice(env, exports);
  cai::RegisterAutocast(env, exports);
  return exports;
}

NODE_API_MODULE(creativeai_torch, Init)
