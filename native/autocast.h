// Autocast (automatic mixed precision) state, behind one interface for every libtorch we build
// against: 2.4 moved from per-device functions (set_enabled, set_cpu_enabled, ...) to functions
// taking a device type, and later releases deprecate the old ones.
#pragma once

#include <ATen/autocast_mode.h>

#include "common.h"

namespace cai {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CAI_AUTOCAST_BY_DEVICE 1
#endif

inline bool AutocastEnabled(at::DeviceType d) {
#ifdef CAI_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(d);
#else
  return d == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline void SetAutocastEnabled(at::DeviceType d, bool on) {
#ifdef CAI_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(d, on);
#else
  if (d == at::kCUDA)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
#endif
}

inline at::ScalarType AutocastDtype(at::DeviceType d) {
#ifdef CAI_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(d);
#else
  return d == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void SetAutocastDtype(at::DeviceType d, at::ScalarType t) {
#ifdef CAI_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(d, t);
#else
  if (d == at::kCUDA)
    at::autocast::set_autocast_gpu_dtype(t);
  else
    at::autocast::set_autocast_cpu_dtype(t);
#endif
}

// Switches autocast off on every device for its lifetime. Backward and autograd.grad run under
// it: gradients must follow the dtypes the forward pass recorded, and some backward formulas call
// ops (mm, conv) that autocast would otherwise re-cast.
class AutocastOff {
 public:
  AutocastOff() : cpu_(AutocastEnabled(at::kCPU)), cuda_(AutocastEnabled(at::kCUDA)) {
    if (cpu_) SetAutocastEnabled(at::kCPU, false);
    if (cuda_) SetAutocastEnabled(at::kCUDA, false);
  }
  ~AutocastOff() {
    if (cpu_) SetAutocastEnabled(at::kCPU, true);
    if (cuda_) SetAutocastEnabled(at::kCUDA, true);
  }
  AutocastOff(const AutocastOff&) = delete;
  AutocastOff& operator=(const AutocastOff&) = delete;

 private:
  bool cpu_;
  bool cuda_;
};

}  // namespace cai
