// Reference for `npm run bench:engine`: the DCGAN training step of bench/engine.ts written directly
// against libtorch's ATen API, with the ops, init, batch-norm call and Adam math of the addon
// (native/nn.cc, native/optim.cc), so that the ratio of the two measures the TypeScript engine's
// own cost. bench/engine.ts compiles it into build/bench/ with the addon's flags and runs it.
//
// Usage: dcgan_ref [--device cpu|cuda] [--batch N] [--width N] [--warmup N] [--steps N] [--threads N]
//                  [--seed N] [--cudnn-benchmark 0|1] [--profile]
// Prints a few `cpp: ...` lines, `cpu-img/s <batch / CPU seconds per step>` and, last, `img/s <value>`.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ctime>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string device = "cpu";
  int64_t batch = 64;
  int64_t width = 64;  // ngf = ndf (64 in DCGAN; smaller makes the step overhead-bound)
  int warmup = 2;
  int steps = 5;
  int threads = 0;
  uint64_t seed = 1;
  bool cudnnBenchmark = true;
  bool profile = false;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dcgan_ref: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--device") o.device = next();
    else if (a == "--batch") o.batch = std::stoll(next());
    else if (a == "--width") o.width = std::stoll(next());
    else if (a == "--warmup") o.warmup = std::stoi(next());
    else if (a == "--steps") o.steps = std::stoi(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--seed") o.seed = std::stoull(next());
    else if (a == "--cudnn-benchmark") o.cudnnBenchmark = next() != "0";
    else if (a == "--profile") o.profile = true;
    else {
      std::fprintf(stderr, "dcgan_ref: unknown argument %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

// The networks are made as bench/engine.ts makes them, so that both draw the same random numbers
// from the same seed and start from the same weights: constructed on the CPU with PyTorch's default
// init (src/nn/conv.ts: kaiming_uniform with a = sqrt(5); BatchNorm weight 1, bias 0), moved to the
// device (Module.to), then re-initialised there as the DCGAN paper does (conv weights ~ N(0, 0.02),
// BatchNorm weights ~ N(1, 0.02), biases 0), G first, then D.

// A conv weight with PyTorch's default init, on the CPU (fan_in as src/nn/init.ts computes it).
at::Tensor ConvWeight(std::vector<int64_t> shape) {
  at::Tensor w = at::empty(shape);
  const double a = std::sqrt(5.0), fanIn = static_cast<double>(shape[1] * shape[2] * shape[3]);
  const double bound = std::sqrt(3.0) * (std::sqrt(2.0 / (1 + a * a)) / std::sqrt(fanIn));
  c10::NoGradGuard ng;
  w.uniform_(-bound, bound);
  return w;
}

// A parameter moved to the device as Module.to() moves it: a new leaf that requires grad.
void ToDevice(at::Tensor& t, const at::Device& device, bool param) {
  if (!t.device().is_cpu() || device.is_cpu()) {
    if (param) t.set_requires_grad(true);
    return;
  }
  t = t.to(device).detach();
  if (param) t.set_requires_grad(true);
}

// BatchNorm2d with running statistics, called as native/nn.cc calls it.
struct BatchNorm {
  at::Tensor w, b, rm, rv;
  explicit BatchNorm(int64_t c) : w(at::ones({c})), b(at::zeros({c})), rm(at::zeros({c})), rv(at::ones({c})) {}
  void to(const at::Device& d) {
    ToDevice(w, d, true);
    ToDevice(b, d, true);
    ToDevice(rm, d, false);
    ToDevice(rv, d, false);
  }
  void dcganInit() {
    c10::NoGradGuard ng;
    w.normal_(1.0, 0.02);
    b.zero_();
  }
  at::Tensor operator()(const at::Tensor& x) const {
    return at::batch_norm(x, w, b, rm, rv, /*training=*/true, 0.1, 1e-5, at::globalContext().userEnabledCuDNN());
  }
};

// Layers in Sequential order: conv i, then BatchNorm i where there is one.
struct Net {
  std::vector<at::Tensor> w;
  std::vector<BatchNorm> bn;
  std::vector<int> bnOf;  // index into bn for conv i, or -1
  void to(const at::Device& d) {
    for (size_t i = 0; i < w.size(); ++i) {
      ToDevice(w[i], d, true);
      if (bnOf[i] >= 0) bn[bnOf[i]].to(d);
    }
  }
  void dcganInit() {
    for (size_t i = 0; i < w.size(); ++i) {
      {
        c10::NoGradGuard ng;
        w[i].normal_(0.0, 0.02);
      }
      if (bnOf[i] >= 0) bn[bnOf[i]].dcganInit();
    }
  }
  // Module.namedParameters() order: layer by layer, conv weight then BatchNorm weight and bias.
  std::vector<at::Tensor> parameters() const {
    std::vector<at::Tensor> out;
    for (size_t i = 0; i < w.size(); ++i) {
      out.push_back(w[i]);
      if (bnOf[i] >= 0) {
        out.push_back(bn[bnOf[i]].w);
        out.push_back(bn[bnOf[i]].b);
      }
    }
    return out;
  }
};

// G: z (B x 100 x 1 x 1) -> ConvTranspose2d 512-256-128-64-3 (4x4, no bias), BatchNorm + ReLU, Tanh.
struct Generator : Net {
  explicit Generator(int64_t nz = 100, int64_t ngf = 64) {
    const int64_t ch[] = {nz, ngf * 8, ngf * 4, ngf * 2, ngf, 3};
    for (int i = 0; i < 5; ++i) {
      w.push_back(ConvWeight({ch[i], ch[i + 1], 4, 4}));  // [in, out, kh, kw] as ConvTranspose2d
      bnOf.push_back(i < 4 ? i : -1);
      if (i < 4) bn.emplace_back(ch[i + 1]);
    }
  }
  at::Tensor forward(const at::Tensor& z) const {
    at::Tensor h = z;
    for (int i = 0; i < 5; ++i) {
      const int64_t s = i == 0 ? 1 : 2, p = i == 0 ? 0 : 1;
      h = at::conv_transpose2d(h, w[i], c10::nullopt, {s, s}, {p, p}, {0, 0}, 1, {1, 1});
      h = i < 4 ? at::relu(bn[i](h)) : at::tanh(h);
    }
    return h;
  }
};

// D: Conv2d 64-128-256-512 (4x4 stride 2, no bias) with LeakyReLU(0.2), BatchNorm after all but
// the first, then a 4x4 conv to one logit (B x 1 x 1 x 1).
struct Discriminator : Net {
  explicit Discriminator(int64_t ndf = 64) {
    const int64_t ch[] = {3, ndf, ndf * 2, ndf * 4, ndf * 8, 1};
    for (int i = 0; i < 5; ++i) {
      w.push_back(ConvWeight({ch[i + 1], ch[i], 4, 4}));
      const bool hasBn = i >= 1 && i <= 3;
      bnOf.push_back(hasBn ? i - 1 : -1);
      if (hasBn) bn.emplace_back(ch[i + 1]);
    }
  }
  at::Tensor forward(const at::Tensor& x) const {
    at::Tensor h = x;
    for (int i = 0; i < 5; ++i) {
      const int64_t s = i < 4 ? 2 : 1, p = i < 4 ? 1 : 0;
      h = at::conv2d(h, w[i], c10::nullopt, {s, s}, {p, p}, {1, 1}, 1);
      if (bnOf[i] >= 0) h = bn[bnOf[i]](h);
      if (i < 4) h = at::leaky_relu(h, 0.2);
    }
    return h;
  }
};

#if TORCH_VERSION_MAJOR >= 2
bool g_fusedUnavailable[2] = {false, false};  // [cpu, cuda], as in native/optim.cc
#endif

// Adam exactly as src/optim/adam.ts + native/optim.cc run it: state created on the first step
// (zeros like the parameter, a 0-d float step counter), libtorch's fused kernel on >= 2.0,
// otherwise the per-parameter update.
struct Adam {
  std::vector<at::Tensor> params, m, v, steps;
  double lr, b1, b2, eps = 1e-8, wd = 0;
  bool fused = false;
  Adam(std::vector<at::Tensor> p, double lr_, double beta1, double beta2)
      : params(std::move(p)), lr(lr_), b1(beta1), b2(beta2) {}

  void zeroGrad() {
    for (at::Tensor& p : params) p.mutable_grad() = at::Tensor();
  }

  void step() {
    if (m.empty()) {
      for (const at::Tensor& p : params) {
        m.push_back(at::zeros_like(p));
        v.push_back(at::zeros_like(p));
        steps.push_back(at::zeros({}, at::TensorOptions().device(p.device())));
      }
    }
    std::vector<at::Tensor> P, G, A, B, C;
    for (size_t i = 0; i < params.size(); ++i) {
      const at::Tensor& g = params[i].grad();
      if (!g.defined()) continue;
      P.push_back(params[i]);
      G.push_back(g);
      A.push_back(m[i]);
      B.push_back(v[i]);
      C.push_back(steps[i]);
    }
    fused = false;
    if (P.empty()) return;
    c10::NoGradGuard ng;
    const double coupledWd = wd;
#if TORCH_VERSION_MAJOR >= 2
    const int dev = P[0].is_cuda() ? 1 : 0;
    if (!g_fusedUnavailable[dev]) {
      at::_foreach_add_(C, 1);
      try {
        at::_fused_adam_(P, G, A, B, {}, C, lr, b1, b2, coupledWd, eps, false, false);
        fused = true;
        return;
      } catch (const c10::Error&) {
        g_fusedUnavailable[dev] = true;
        at::_foreach_add_(C, -1);
      }
    }
#endif
    for (size_t i = 0; i < P.size(); ++i) {
      at::Tensor& p = P[i];
      at::Tensor g = G[i];
      C[i].add_(1);
      const double step = C[i].item<double>();
      if (coupledWd != 0) g = g.add(p, coupledWd);
      A[i].mul_(b1).add_(g, 1 - b1);
      B[i].mul_(b2).addcmul_(g, g, 1 - b2);
      const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
      at::Tensor denom = (B[i].sqrt() / std::sqrt(bc2)).add_(eps);
      p.addcdiv_(A[i], denom, -lr / bc1);
    }
  }
};

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// CPU time of the process, all threads (what process.cpuUsage() reports on the TS side).
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  const bool cuda = o.device == "cuda" || o.device.rfind("cuda:", 0) == 0;
  if (cuda && !torch::cuda::is_available()) {
    std::fprintf(stderr, "dcgan_ref: CUDA is not available in this libtorch\n");
    return 1;
  }
  // The trainer's allocator setting (native/tensor.cc RetainFreedCpuMemory), unless turned off.
  const char* malloc = std::getenv("CREATIVEAI_MALLOC");
  if (malloc == nullptr || std::string(malloc) != "system") {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  }
  if (o.threads > 0) at::set_num_threads(o.threads);
  if (cuda) at::globalContext().setBenchmarkCuDNN(o.cudnnBenchmark);
  at::manual_seed(o.seed);
  const at::Device device = cuda ? at::Device(o.device) : at::Device(at::kCPU);
  const at::TensorOptions opt = at::TensorOptions().dtype(at::kFloat).device(device);
  const int64_t B = o.batch, nz = 100;

  Generator G(100, o.width);
  Discriminator D(o.width);
  G.to(device);
  D.to(device);
  G.dcganInit();
  D.dcganInit();
  Adam optG(G.parameters(), 2e-4, 0.5, 0.999);
  Adam optD(D.parameters(), 2e-4, 0.5, 0.999);
  // A fixed batch of "real" images in [-1, 1] and the label tensors, made once (as a loader would).
  const at::Tensor real = at::rand({B, 3, 64, 64}, opt).mul(2).sub(1);
  const at::Tensor onesT = at::ones({B, 1, 1, 1}, opt);
  const at::Tensor zerosT = at::zeros({B, 1, 1, 1}, opt);
  const int64_t mean = 1;  // at::Reduction::Mean, as REDUCTION.mean in src/engine/tensor.ts

  double tFwd = 0, tBwdD = 0, tOptD = 0, tBwdG = 0, tOptG = 0;
  auto sync = [&]() {
    if (cuda) torch::cuda::synchronize();
  };
  // With --profile, each phase is timed (synchronising first on CUDA) into one of these.
  Clock::time_point mark;
  auto lap = [&](double& acc) {
    if (!o.profile) return;
    sync();
    const Clock::time_point now = Clock::now();
    acc += Seconds(mark, now);
    mark = now;
  };
  // The standard DCGAN step: D on real + fake (fake detached), then G through D.
  auto step = [&](bool last, double* lossD_out, double* lossG_out) {
    if (o.profile) {
      sync();
      mark = Clock::now();
    }
    at::Tensor z = at::randn({B, nz, 1, 1}, c10::optional<at::Generator>(), opt);
    at::Tensor fake = G.forward(z);
    optD.zeroGrad();
    at::Tensor lossD = at::add(at::binary_cross_entropy_with_logits(D.forward(real), onesT, {}, {}, mean),
                               at::binary_cross_entropy_with_logits(D.forward(fake.detach()), zerosT, {}, {}, mean));
    lap(tFwd);
    lossD.backward();
    lap(tBwdD);
    optD.step();
    lap(tOptD);
    optG.zeroGrad();
    at::Tensor lossG = at::binary_cross_entropy_with_logits(D.forward(fake), onesT, {}, {}, mean);
    lap(tFwd);
    lossG.backward();
    lap(tBwdG);
    optG.step();
    lap(tOptG);
    if (last) {
      *lossD_out = lossD.item<double>();
      *lossG_out = lossG.item<double>();
    }
  };

  double lossD = 0, lossG = 0;
  // The first step's losses (same seed, same initial weights and data on every side) are what
  // bench/engine.ts compares between the sides.
  double firstD = 0, firstG = 0;
  for (int i = 0; i < o.warmup; ++i) step(i == 0, i == 0 ? &firstD : &lossD, i == 0 ? &firstG : &lossG);
  sync();
  tFwd = tBwdD = tOptD = tBwdG = tOptG = 0;
  // On the CPU a step is synchronous: each is timed and the run reports its fastest (least
  // disturbed by other load). On CUDA the loop is timed as a whole (launches are asynchronous).
  double bestStep = 1e30;
  const double cpu0 = CpuSeconds();
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < o.steps; ++i) {
    const Clock::time_point t = Clock::now();
    if (o.warmup == 0 && i == 0) step(true, &firstD, &firstG);
    else step(i == o.steps - 1, &lossD, &lossG);
    if (o.warmup == 0 && i == 0 && o.steps == 1) lossD = firstD, lossG = firstG;
    if (!cuda) bestStep = std::min(bestStep, Seconds(t, Clock::now()));
  }
  sync();
  const double secs = Seconds(start, Clock::now());
  const double cpuPerStep = (CpuSeconds() - cpu0) / o.steps;
  const double imgs = static_cast<double>(B) / (cuda ? secs / o.steps : bestStep);

  std::printf("cpp: libtorch %s, device %s, threads %d, batch %lld, width %lld, warmup %d, steps %d, fused adam %s\n",
              TORCH_VERSION, o.device.c_str(), at::get_num_threads(), static_cast<long long>(B),
              static_cast<long long>(o.width), o.warmup, o.steps, optD.fused ? "yes" : "no");
  std::printf("cpp: %.2f ms/step mean", 1000 * secs / o.steps);
  if (!cuda) std::printf(", %.2f ms fastest", 1000 * bestStep);
  std::printf(", %.2f ms CPU time (all threads), lossD %.4f lossG %.4f\n", 1000 * cpuPerStep, lossD, lossG);
  if (o.profile) {
    const double n = o.steps;
    std::printf(
        "cpp: profile ms/step: forward+loss %.2f, backward D %.2f, adam D %.2f, backward G %.2f, adam G %.2f\n",
        1000 * tFwd / n, 1000 * tBwdD / n, 1000 * tOptD / n, 1000 * tBwdG / n, 1000 * tOptG / n);
    // The fixed cost of one op, as bench/engine.ts measures it through the addon.
    const at::Tensor a = at::ones({1}, opt), b = at::ones({1}, opt);
    const int reps = 20000;
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
      const Clock::time_point t = Clock::now();
      for (int i = 0; i < reps; ++i) at::Tensor c = at::add(a, b);
      best = std::min(best, 1e9 * Seconds(t, Clock::now()) / reps);
    }
    sync();
    std::printf("cpp: micro add of 1-element %s tensors: %.0f ns/op\n", o.device.c_str(), best);
  }
  std::printf("losses first %.6f %.6f last %.6f %.6f\n", firstD, firstG, lossD, lossG);
  std::printf("cpu-img/s %.3f\n", static_cast<double>(B) / cpuPerStep);
  std::printf("img/s %.3f\n", imgs);
  return 0;
}
