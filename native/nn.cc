// Neural-network ops: convolutions, normalisation, pooling, resampling, embedding, dropout,
// losses and the recurrent layers (LSTM/GRU with variable sequence lengths).
#include "common.h"

namespace cai {
namespace {

#define OP(name, expr)                               \
  Napi::Value name(const Napi::CallbackInfo& info) { \
    return Wrap(info.Env(), (expr));                 \
  }
#define A T(info, 0)

// Under autocast the input can be bfloat16/float16 while the affine parameters stay float32.
// CUDA autocast runs these norms in float32 anyway; the CPU kernels of libtorch 1.13 refuse the
// mix. Normalising in the parameters' dtype gives both the same arithmetic.
at::Tensor InParamDtype(const at::Tensor& x, const c10::optional<at::Tensor>& w) {
  if (w && w->defined() && x.scalar_type() != w->scalar_type() && x.is_floating_point())
    return x.to(w->scalar_type());
  return x;
}

// (x, w, b?, stride[], padding[], dilation[], groups)
OP(Conv1d, at::conv1d(A, T(info, 1), OptT(info, 2), Ints(info, 3), Ints(info, 4), Ints(info, 5), Int(info, 6)))
OP(Conv2d, at::conv2d(A, T(info, 1), OptT(info, 2), Ints(info, 3), Ints(info, 4), Ints(info, 5), Int(info, 6)))
// (x, w, b?, stride[], padding[], outputPadding[], groups, dilation[])
OP(ConvTranspose2d, at::conv_transpose2d(A, T(info, 1), OptT(info, 2), Ints(info, 3), Ints(info, 4), Ints(info, 5),
                                         Int(info, 6), Ints(info, 7)))

// (x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps)
OP(BatchNorm, at::batch_norm(A, OptT(info, 1), OptT(info, 2), OptT(info, 3), OptT(info, 4), Bool(info, 5),
                             Num(info, 6), Num(info, 7), at::globalContext().userEnabledCuDNN()))
OP(InstanceNorm, at::instance_norm(InParamDtype(A, OptT(info, 1)), OptT(info, 1), OptT(info, 2), OptT(info, 3), OptT(info, 4), Bool(info, 5),
                                   Num(info, 6), Num(info, 7), at::globalContext().userEnabledCuDNN()))
// (x, normalizedShape[], weight?, bias?, eps)
OP(LayerNorm, at::layer_norm(InParamDtype(A, OptT(info, 2)), Ints(info, 1), OptT(info, 2), OptT(info, 3), Num(info, 4), true))
// (x, groups, weight?, bias?, eps)
OP(GroupNorm, at::group_norm(InParamDtype(A, OptT(info, 2)), Int(info, 1), OptT(info, 2), OptT(info, 3), Num(info, 4), true))

// (x, kernel[], stride[], padding[], dilation[], ceilMode)
OP(MaxPool2d, at::max_pool2d(A, IntsN(info, 1, 2), IntsN(info, 2, 2), IntsN(info, 3, 2), IntsN(info, 4, 2), Bool(info, 5)))
// (x, kernel[], stride[], padding[], ceilMode, countIncludePad)
OP(AvgPool2d, at::avg_pool2d(A, IntsN(info, 1, 2), IntsN(info, 2, 2), IntsN(info, 3, 2), Bool(info, 4), Bool(info, 5)))
OP(AdaptiveAvgPool2d, at::adaptive_avg_pool2d(A, IntsN(info, 1, 2)))

// (x, size[2], scaleH?, scaleW?): with scales, source coordinates use 1/scale, as
// F.interpolate(scale_factor=...) does; without, the size ratio.
at::Tensor UpsampleNearest(const Napi::CallbackInfo& info) {
  auto size = IntsN(info, 1, 2);
  return at::upsample_nearest2d(A, at::IntArrayRef(size), OptNum(info, 2), OptNum(info, 3));
}
// (x, size[2], alignCorners, scaleH?, scaleW?)
at::Tensor UpsampleBilinear(const Napi::CallbackInfo& info) {
  auto size = IntsN(info, 1, 2);
  return at::upsample_bilinear2d(A, at::IntArrayRef(size), Bool(info, 2), OptNum(info, 3), OptNum(info, 4));
}
OP(UpsampleNearest2d, UpsampleNearest(info))
OP(UpsampleBilinear2d, UpsampleBilinear(info))
OP(PixelShuffle, at::pixel_shuffle(A, Int(info, 1)))

// (weight, indices, paddingIdx (-1: none))
OP(Embedding, at::embedding(A, T(info, 1), Int(info, 2), false, false))
// Dropout draws from the default generator of the tensor's device (seeded by manualSeed).
OP(Dropout, at::dropout(A, Num(info, 1), Bool(info, 2)))

// Losses. reduction: 0 none, 1 mean, 2 sum (at::Reduction).
int64_t Reduction(const Napi::CallbackInfo& info, size_t i) {
  int64_t r = Int(info, i);
  if (r < 0 || r > 2) throw ArgError("reduction must be 0 (none), 1 (mean) or 2 (sum)");
  return r;
}
// (logits, target, weight?, posWeight?, reduction)
OP(BceWithLogits, at::binary_cross_entropy_with_logits(A, T(info, 1), OptT(info, 2), OptT(info, 3), Reduction(info, 4)))
// (logits, target, weight?, reduction, ignoreIndex, labelSmoothing)
OP(CrossEntropy, at::cross_entropy_loss(A, T(info, 1), OptT(info, 2), Reduction(info, 3), Int(info, 4), Num(info, 5)))
// (logProbs, target, weight?, reduction, ignoreIndex)
OP(NllLoss, at::nll_loss_nd(A, T(info, 1), OptT(info, 2), Reduction(info, 3), Int(info, 4)))
OP(MseLoss, at::mse_loss(A, T(info, 1), Reduction(info, 2)))
OP(L1Loss, at::l1_loss(A, T(info, 1), Reduction(info, 2)))

// Recurrent layers.
// (mode "lstm"|"gru", input, lengths?, h0, c0?, params[], numLayers, dropout, train, bidirectional, batchFirst)
// -> [output, hN, cN?]. With lengths, sequences are packed (sorted inside, order restored after),
// so padding never reaches the recurrence, and outputs past each length are zero.
Napi::Value Rnn(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw ArgError("argument 0: expected 'lstm' or 'gru'");
  std::string mode = info[0].As<Napi::String>().Utf8Value();
  bool lstm = mode == "lstm";
  if (!lstm && mode != "gru") throw ArgError("argument 0: expected 'lstm' or 'gru'");
  at::Tensor input = T(info, 1);
  c10::optional<at::Tensor> lengths = OptT(info, 2);
  at::Tensor h0 = T(info, 3);
  c10::optional<at::Tensor> c0 = OptT(info, 4);
  if (lstm && !c0) throw ArgError("LSTM needs an initial cell state");
  std::vector<at::Tensor> params = Tensors(info, 5);
  int64_t layers = Int(info, 6);
  double dropout = Num(info, 7);
  bool train = Bool(info, 8);
  bool bidir = Bool(info, 9);
  bool batchFirst = Bool(info, 10);
  bool hasBiases = params.size() == static_cast<size_t>(layers * (bidir ? 2 : 1) * 4);
  if (!hasBiases && params.size() != static_cast<size_t>(layers * (bidir ? 2 : 1) * 2))
    throw ArgError("RNN parameter list has the wrong length for its layers and directions");

  if (!lengths) {
    if (lstm) {
      auto r = at::lstm(input, {h0, *c0}, params, hasBiases, layers, dropout, train, bidir, batchFirst);
      return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
    }
    auto r = at::gru(input, h0, params, hasBiases, layers, dropout, train, bidir, batchFirst);
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  }

  const int64_t batchDim = batchFirst ? 0 : 1;
  const int64_t total = input.size(batchFirst ? 1 : 0);
  at::Tensor lens = lengths->to(at::kCPU, at::kLong);
  if (lens.dim() != 1 || lens.size(0) != input.size(batchDim))
    throw ArgError("lengths must have one entry per sequence in the batch");
  if (lens.numel() > 0 && (lens.min().item<int64_t>() < 1 || lens.max().item<int64_t>() > total))
    throw ArgError("every length must be between 1 and the padded sequence length");
  auto sorted = lens.sort(0, true);
  at::Tensor sortedLens = std::get<0>(sorted);
  at::Tensor order = std::get<1>(sorted).to(input.device());
  at::Tensor restore = at::argsort(std::get<1>(sorted)).to(input.device());

  auto packed = at::_pack_padded_sequence(input.index_select(batchDim, order), sortedLens, batchFirst);
  at::Tensor data = std::get<0>(packed), batchSizes = std::get<1>(packed);
  at::Tensor h = h0.index_select(1, order);
  at::Tensor out, hN, cN;
  if (lstm) {
    auto r = at::lstm(data, batchSizes, {h, c0->index_select(1, order)}, params, hasBiases, layers, dropout, train,
                      bidir);
    out = std::get<0>(r);
    hN = std::get<1>(r);
    cN = std::get<2>(r);
  } else {
    auto r = at::gru(data, batchSizes, h, params, hasBiases, layers, dropout, train, bidir);
    out = std::get<0>(r);
    hN = std::get<1>(r);
  }
  auto padded = at::_pad_packed_sequence(out, batchSizes, batchFirst, 0.0, total);
  std::vector<at::Tensor> result = {std::get<0>(padded).index_select(batchDim, restore), hN.index_select(1, restore)};
  if (lstm) result.push_back(cN.index_select(1, restore));
  return WrapList(info.Env(), result);
}

#undef A

}  // namespace

void RegisterNN(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "conv1d", Conv1d);
  CAI_EXPORT(e, "conv2d", Conv2d);
  CAI_EXPORT(e, "convTranspose2d", ConvTranspose2d);
  CAI_EXPORT(e, "batchNorm", BatchNorm);
  CAI_EXPORT(e, "instanceNorm", InstanceNorm);
  CAI_EXPORT(e, "layerNorm", LayerNorm);
  CAI_EXPORT(e, "groupNorm", GroupNorm);
  CAI_EXPORT(e, "maxPool2d", MaxPool2d);
  CAI_EXPORT(e, "avgPool2d", AvgPool2d);
  CAI_EXPORT(e, "adaptiveAvgPool2d", AdaptiveAvgPool2d);
  CAI_EXPORT(e, "upsampleNearest2d", UpsampleNearest2d);
  CAI_EXPORT(e, "upsampleBilinear2d", UpsampleBilinear2d);
  CAI_EXPORT(e, "pixelShuffle", PixelShuffle);
  CAI_EXPORT(e, "embedding", Embedding);
  CAI_EXPORT(e, "dropout", Dropout);
  CAI_EXPORT(e, "bceWithLogits", BceWithLogits);
  CAI_EXPORT(e, "crossEntropy", CrossEntropy);
  CAI_EXPORT(e, "nllLoss", NllLoss);
  CAI_EXPORT(e, "mseLoss", MseLoss);
  CAI_EXPORT(e, "l1Loss", L1Loss);
  CAI_EXPORT(e, "rnn", Rnn);
}

}  // namespace cai
