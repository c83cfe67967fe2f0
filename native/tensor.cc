// Tensor lifetime, metadata, creation from and copy to JavaScript memory, dtype/device moves.
#include "common.h"

#include <ATen/Parallel.h>

#include <climits>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cai {
namespace {

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  Holder* h = HolderOf(info, 0);
  if (h->alive) {
    h->alive = false;
    h->t = at::Tensor();
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !HolderOf(info, 0)->alive);
}

Napi::Value LiveCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_live.load()));
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  auto sizes = T(info, 0).sizes();
  Napi::Array out = Napi::Array::New(info.Env(), sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) out.Set(static_cast<uint32_t>(k), static_cast<double>(sizes[k]));
  return out;
}

Napi::Value DtypeOf(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(T(info, 0).scalar_type()));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(DeviceCode(T(info, 0).device())));
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info, 0);
  if (t.numel() != 1)
    throw ArgError("item() needs a tensor with one element, got " + std::to_string(t.numel()));
  if (t.scalar_type() == at::kBool) return Napi::Boolean::New(info.Env(), t.item<bool>());
  return Napi::Number::New(info.Env(), t.item<double>());
}

// (buffer: ArrayBuffer | TypedArray, shape, dtype, device) -> tensor; always copies.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  if (info.Length() > 0 && info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    data = static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset();
    bytes = ta.ByteLength();
  } else if (info.Length() > 0 && info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    data = static_cast<const uint8_t*>(ab.Data());
    bytes = ab.ByteLength();
  } else if (info.Length() > 0 && info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    data = b.Data();
    bytes = b.Length();
  } else {
    throw ArgError("argument 0: expected an ArrayBuffer or typed array");
  }
  std::vector<int64_t> shape = Ints(info, 1);
  at::ScalarType dt = Dtype(info, 2);
  at::Device dev = Dev(info, 3);
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0) throw ArgError("shape entries must be >= 0");
    n *= s;
  }
  size_t need = static_cast<size_t>(n) * at::elementSize(dt);
  if (need != bytes)
    throw ArgError("buffer holds " + std::to_string(bytes) + " bytes but shape and dtype need " +
                   std::to_string(need));
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  if (need > 0) std::memcpy(t.data_ptr(), data, need);
  if (!dev.is_cpu()) t = t.to(dev);
  return Wrap(info.Env(), t);
}

// tensor -> ArrayBuffer with its elements in row-major order (copied to the CPU first).
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
  size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes > 0) std::memcpy(ab.Data(), t.data_ptr(), bytes);
  return ab;
}

Napi::Value Empty(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::empty(Ints(info, 0), Opts(info, 1, 2)));
}
Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::zeros(Ints(info, 0), Opts(info, 1, 2)));
}
Napi::Value Ones(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::ones(Ints(info, 0), Opts(info, 1, 2)));
}
Napi::Value Full(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::full(Ints(info, 0), Scal(info, 1), Opts(info, 2, 3)));
}
// (t, value) -> a tensor of t's shape, dtype, device and memory layout (channels-last stays so),
// filled with value: zeros_like/ones_like/full_like.
Napi::Value FullLike(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::full_like(T(info, 0), Scal(info, 1)));
}
Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::arange(Scal(info, 0), Scal(info, 1), Scal(info, 2), Opts(info, 3, 4)));
}
Napi::Value Linspace(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linspace(Scal(info, 0), Scal(info, 1), Int(info, 2), Opts(info, 3, 4)));
}
Napi::Value Eye(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::eye(Int(info, 0), Opts(info, 1, 2)));
}

// (t, dtype|null, device|null) -> tensor (a new handle even when nothing changes).
Napi::Value To(const Napi::CallbackInfo& info) {
  at::Tensor t = T(info, 0);
  if (!info[1].IsNull()) t = t.to(Dtype(info, 1));
  if (!info[2].IsNull()) t = t.to(Dev(info, 2));
  return Wrap(info.Env(), t);
}

Napi::Value Clone(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info, 0).clone()); }
Napi::Value Detach(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info, 0).detach()); }
// Memory formats by code: 0 the default (row-major NCHW), 1 channels-last (NHWC strides, the
// layout oneDNN's CPU convolutions and cuDNN's tensor-core kernels run without reordering).
at::MemoryFormat MemFmt(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return at::MemoryFormat::Contiguous;
  switch (Int(info, i)) {
    case 0:
      return at::MemoryFormat::Contiguous;
    case 1:
      return at::MemoryFormat::ChannelsLast;
    default:
      throw ArgError("memory format code must be 0 (contiguous) or 1 (channels last)");
  }
}

// (t, format?) -> t laid out densely in that format (the same handle's storage when it already is).
Napi::Value Contiguous(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info, 0);
  at::MemoryFormat f = MemFmt(info, 1);
  if (f == at::MemoryFormat::ChannelsLast && t.dim() != 4)
    throw ArgError("channels-last needs a 4-d tensor, got " + std::to_string(t.dim()) + "-d");
  return Wrap(info.Env(), t.contiguous(f));
}
Napi::Value Alias(const Napi::CallbackInfo& info) { return Wrap(info.Env(), T(info, 0)); }

Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info, 0);
  at::MemoryFormat f = MemFmt(info, 1);
  if (f == at::MemoryFormat::ChannelsLast && t.dim() != 4) return Napi::Boolean::New(info.Env(), false);
  return Napi::Boolean::New(info.Env(), t.is_contiguous(f));
}

Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(T(info, 0).numel()));
}

// In-place updates, always outside autograd (used by initialisers, optimizers and loading).
Napi::Value Copy_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).copy_(T(info, 1));
  return info.Env().Undefined();
}
Napi::Value Fill_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).fill_(Scal(info, 1));
  return info.Env().Undefined();
}
Napi::Value Zero_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).zero_();
  return info.Env().Undefined();
}
Napi::Value Clamp_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).clamp_(Scal(info, 1), Scal(info, 2));
  return info.Env().Undefined();
}
// p += alpha * x, without autograd (EMA updates, manual SGD).
Napi::Value AddScaled_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).add_(T(info, 1), Scal(info, 2));
  return info.Env().Undefined();
}
Napi::Value MulScalar_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).mul_(Scal(info, 1));
  return info.Env().Undefined();
}
// p = p * w + x * (1 - w): exponential moving average, in place.
Napi::Value Lerp_(const Napi::CallbackInfo& info) {
  NoGradGuard g;
  T(info, 0).lerp_(T(info, 1), Scal(info, 2));
  return info.Env().Undefined();
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("torch", TORCH_VERSION);
  o.Set("major", TORCH_VERSION_MAJOR);
  o.Set("minor", TORCH_VERSION_MINOR);
#ifdef CAI_WITH_CUDA
  o.Set("cudaBuild", true);
#else
  o.Set("cudaBuild", false);
#endif
  o.Set("threads", static_cast<double>(at::get_num_threads()));
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = Int(info, 0);
  if (n < 1) throw ArgError("thread count must be >= 1");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

// glibc gives every block above its mmap threshold (at most 32 MiB) pages of its own and returns
// them on free, so each large CPU activation is page-faulted in again, zeroed by the kernel, on every
// step: a third of a CPU training step's time went to the kernel (AttnGAN at 256 px). Keeping freed
// blocks in the heap lets the next step reuse them; the price is that the peak stays resident.
Napi::Value RetainFreedCpuMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void RegisterTensor(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "dispose", Dispose);
  CAI_EXPORT(e, "isDisposed", IsDisposed);
  CAI_EXPORT(e, "liveCount", LiveCount);
  CAI_EXPORT(e, "shape", Shape);
  CAI_EXPORT(e, "dtype", DtypeOf);
  CAI_EXPORT(e, "device", DeviceOf);
  CAI_EXPORT(e, "item", Item);
  CAI_EXPORT(e, "fromBuffer", FromBuffer);
  CAI_EXPORT(e, "toBuffer", ToBuffer);
  CAI_EXPORT(e, "empty", Empty);
  CAI_EXPORT(e, "zeros", Zeros);
  CAI_EXPORT(e, "ones", Ones);
  CAI_EXPORT(e, "full", Full);
  CAI_EXPORT(e, "fullLike", FullLike);
  CAI_EXPORT(e, "arange", Arange);
  CAI_EXPORT(e, "linspace", Linspace);
  CAI_EXPORT(e, "eye", Eye);
  CAI_EXPORT(e, "to", To);
  CAI_EXPORT(e, "clone", Clone);
  CAI_EXPORT(e, "detach", Detach);
  CAI_EXPORT(e, "contiguous", Contiguous);
  CAI_EXPORT(e, "alias", Alias);
  CAI_EXPORT(e, "isContiguous", IsContiguous);
  CAI_EXPORT(e, "numel", Numel);
  CAI_EXPORT(e, "copy_", Copy_);
  CAI_EXPORT(e, "fill_", Fill_);
  CAI_EXPORT(e, "zero_", Zero_);
  CAI_EXPORT(e, "clamp_", Clamp_);
  CAI_EXPORT(e, "addScaled_", AddScaled_);
  CAI_EXPORT(e, "mulScalar_", MulScalar_);
  CAI_EXPORT(e, "lerp_", Lerp_);
  CAI_EXPORT(e, "version", Version);
  CAI_EXPORT(e, "setNumThreads", SetNumThreads);
  CAI_EXPORT(e, "retainFreedCpuMemory", RetainFreedCpuMemory);
}

}  // namespace cai
