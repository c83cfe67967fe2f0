// Devices: CUDA availability, synchronisation and memory statistics, cuDNN switches.
// CUDA-only calls compile in when the build found CUDA libraries (CAI_WITH_CUDA).
#include "common.h"

#ifdef CAI_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace cai {
namespace {

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::globalContext().hasCUDA());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
#ifdef CAI_WITH_CUDA
  if (at::globalContext().hasCUDA()) return Napi::Number::New(info.Env(), c10::cuda::device_count());
#endif
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
#ifdef CAI_WITH_CUDA
  if (at::globalContext().hasCUDA()) c10::cuda::device_synchronize();
#endif
  return info.Env().Undefined();
}

// (device index) -> { allocated, peakAllocated, reserved, peakReserved } in bytes
Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
  int64_t idx = Int(info, 0);
#ifdef CAI_WITH_CUDA
  Napi::Object o = Napi::Object::New(info.Env());
  if (!at::globalContext().hasCUDA()) throw ArgError("CUDA is not available");
  auto st = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(idx));
  // Index 0 is the aggregate over pools in every libtorch version.
  o.Set("allocated", static_cast<double>(st.allocated_bytes[0].current));
  o.Set("peakAllocated", static_cast<double>(st.allocated_bytes[0].peak));
  o.Set("reserved", static_cast<double>(st.reserved_bytes[0].current));
  o.Set("peakReserved", static_cast<double>(st.reserved_bytes[0].peak));
  return o;
#else
  (void)idx;
  throw ArgError("this build of the addon has no CUDA support");
#endif
}

Napi::Value CudaResetPeak(const Napi::CallbackInfo& info) {
#ifdef CAI_WITH_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(Int(info, 0)));
#endif
  return info.Env().Undefined();
}

Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
#ifdef CAI_WITH_CUDA
  if (at::globalContext().hasCUDA()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  return info.Env().Undefined();
}

Napi::Value SetCudnnBenchmark(const Napi::CallbackInfo& info) {
  at::globalContext().setBenchmarkCuDNN(Bool(info, 0));
  return info.Env().Undefined();
}

Napi::Value SetAllowTF32(const Napi::CallbackInfo& info) {
  bool on = Bool(info, 0);
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
  return info.Env().Undefined();
}

}  // namespace

void RegisterDevice(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "cudaIsAvailable", CudaIsAvailable);
  CAI_EXPORT(e, "cudaDeviceCount", CudaDeviceCount);
  CAI_EXPORT(e, "cudaSynchronize", CudaSynchronize);
  CAI_EXPORT(e, "cudaMemoryStats", CudaMemoryStats);
  CAI_EXPORT(e, "cudaResetPeak", CudaResetPeak);
  CAI_EXPORT(e, "cudaEmptyCache", CudaEmptyCache);
  CAI_EXPORT(e, "setCudnnBenchmark", SetCudnnBenchmark);
  CAI_EXPORT(e, "setAllowTF32", SetAllowTF32);
}

}  // namespace cai
