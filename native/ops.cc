// Differentiable tensor ops: elementwise math, comparisons, reductions, shape and indexing.
// Each binding is one line through a macro: it reads its arguments and calls ATen, nothing more.
#include "common.h"

namespace cai {
namespace {

#define OP(name, expr)                                   \
  Napi::Value name(const Napi::CallbackInfo& info) {     \
    return Wrap(info.Env(), (expr));                     \
  }
#define OP_LIST(name, expr)                              \
  Napi::Value name(const Napi::CallbackInfo& info) {     \
    return WrapList(info.Env(), (expr));                 \
  }

#define A T(info, 0)
#define B T(info, 1)

// Unary
OP(Neg, at::neg(A))
OP(Exp, at::exp(A))
OP(Log, at::log(A))
OP(Log1p, at::log1p(A))
OP(Sqrt, at::sqrt(A))
OP(Rsqrt, at::rsqrt(A))
OP(Abs, at::abs(A))
OP(Sign, at::sign(A))
OP(Sin, at::sin(A))
OP(Cos, at::cos(A))
OP(Tanh, at::tanh(A))
OP(Sigmoid, at::sigmoid(A))
OP(Relu, at::relu(A))
OP(Gelu, at::gelu(A))
OP(Erf, at::erf(A))
OP(Erfinv, at::erfinv(A))
OP(Floor, at::floor(A))
OP(Ceil, at::ceil(A))
OP(Round, at::round(A))
OP(Reciprocal, at::reciprocal(A))
OP(LogicalNot, at::logical_not(A))
OP(LeakyRelu, at::leaky_relu(A, Scal(info, 1)))
OP(Elu, at::elu(A, Scal(info, 1)))
OP(Softplus, at::softplus(A, Scal(info, 1), Scal(info, 2)))
OP(Hardtanh, at::hardtanh(A, Scal(info, 1), Scal(info, 2)))
OP(PowScalar, at::pow(A, Scal(info, 1)))
OP(ScalarPow, at::pow(Scal(info, 0), B))
OP(Clamp, at::clamp(A, OptNum(info, 1).has_value() ? c10::optional<at::Scalar>(Scal(info, 1)) : c10::nullopt,
                    OptNum(info, 2).has_value() ? c10::optional<at::Scalar>(Scal(info, 2)) : c10::nullopt))

// Binary, tensor with tensor (broadcasting)
OP(Add, at::add(A, B))
OP(Sub, at::sub(A, B))
OP(Mul, at::mul(A, B))
OP(Div, at::div(A, B))
OP(Pow, at::pow(A, B))
OP(Maximum, at::maximum(A, B))
OP(Minimum, at::minimum(A, B))
OP(Eq, at::eq(A, B))
OP(Ne, at::ne(A, B))
OP(Lt, at::lt(A, B))
OP(Le, at::le(A, B))
OP(Gt, at::gt(A, B))
OP(Ge, at::ge(A, B))
OP(LogicalAnd, at::logical_and(A, B))
OP(LogicalOr, at::logical_or(A, B))
OP(Matmul, at::matmul(A, B))
OP(Bmm, at::bmm(A, B))
OP(Outer, at::outer(A, B))
// a + alpha * b
OP(AddScaled, at::add(A, B, Scal(info, 2)))

// Binary, tensor with scalar
OP(AddS, at::add(A, Scal(info, 1)))
OP(SubS, at::sub(A, Scal(info, 1)))
OP(RsubS, at::rsub(A, Scal(info, 1)))
OP(MulS, at::mul(A, Scal(info, 1)))
OP(DivS, at::div(A, Scal(info, 1)))
OP(EqS, at::eq(A, Scal(info, 1)))
OP(NeS, at::ne(A, Scal(info, 1)))
OP(LtS, at::lt(A, Scal(info, 1)))
OP(LeS, at::le(A, Scal(info, 1)))
OP(GtS, at::gt(A, Scal(info, 1)))
OP(GeS, at::ge(A, Scal(info, 1)))

OP(Where, at::where(A, B, T(info, 2)))
OP(Linear, at::linear(A, B, OptT(info, 2)))
OP(Addmm, at::addmm(A, B, T(info, 2)))

// Reductions. dims: [] means all dimensions.
at::Tensor SumImpl(const Napi::CallbackInfo& info) {
  auto dims = Ints(info, 1);
  if (dims.empty()) return at::sum(A);
  return at::sum(A, dims, Bool(info, 2));
}
at::Tensor MeanImpl(const Napi::CallbackInfo& info) {
  auto dims = Ints(info, 1);
  if (dims.empty()) return at::mean(A);
  return at::mean(A, dims, Bool(info, 2));
}
OP(Sum, SumImpl(info))
OP(Mean, MeanImpl(info))
OP(Prod, at::prod(A))
OP(MaxAll, at::max(A))
OP(MinAll, at::min(A))
Napi::Value MaxDim(const Napi::CallbackInfo& info) {
  auto r = at::max(A, Int(info, 1), Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
Napi::Value MinDim(const Napi::CallbackInfo& info) {
  auto r = at::min(A, Int(info, 1), Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
Napi::Value Sort(const Napi::CallbackInfo& info) {
  auto r = at::sort(A, Int(info, 1), Bool(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
Napi::Value Topk(const Napi::CallbackInfo& info) {
  auto r = at::topk(A, Int(info, 1), Int(info, 2), Bool(info, 3), true);
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
OP(Argmax, at::argmax(A, OptInt(info, 1), Bool(info, 2)))
OP(Argmin, at::argmin(A, OptInt(info, 1), Bool(info, 2)))
// (t, dims, correction(0|1), keepdim)
at::Tensor VarImpl(const Napi::CallbackInfo& info, bool std_) {
  auto dims = Ints(info, 1);
  bool unbiased = Int(info, 2) != 0;
  c10::OptionalIntArrayRef d = dims.empty() ? c10::OptionalIntArrayRef() : c10::OptionalIntArrayRef(dims);
  return std_ ? at::std(A, d, unbiased, Bool(info, 3)) : at::var(A, d, unbiased, Bool(info, 3));
}
OP(Var, VarImpl(info, false))
OP(Std, VarImpl(info, true))
at::Tensor NormImpl(const Napi::CallbackInfo& info) {
  auto dims = Ints(info, 2);
  c10::OptionalIntArrayRef d = dims.empty() ? c10::OptionalIntArrayRef() : c10::OptionalIntArrayRef(dims);
  return at::linalg_vector_norm(A, Scal(info, 1), d, Bool(info, 3), c10::nullopt);
}
OP(Norm, NormImpl(info))
OP(Logsumexp, at::logsumexp(A, Ints(info, 1), Bool(info, 2)))
OP(Softmax, at::softmax(A, Int(info, 1)))
OP(LogSoftmax, at::log_softmax(A, Int(info, 1)))
OP(Cumsum, at::cumsum(A, Int(info, 1)))

// Shape
OP(Reshape, at::reshape(A, Ints(info, 1)))
OP(View, A.view(Ints(info, 1)))
OP(Permute, A.permute(Ints(info, 1)))
OP(Transpose, at::transpose(A, Int(info, 1), Int(info, 2)))
OP(SqueezeAll, at::squeeze(A))
OP(Squeeze, at::squeeze(A, Int(info, 1)))
OP(Unsqueeze, at::unsqueeze(A, Int(info, 1)))
OP(Expand, A.expand(Ints(info, 1)))
OP(Repeat, A.repeat(Ints(info, 1)))
OP(Flatten, at::flatten(A, Int(info, 1), Int(info, 2)))
OP(Flip, at::flip(A, Ints(info, 1)))
OP(Cat, at::cat(Tensors(info, 0), Int(info, 1)))
OP(Stack, at::stack(Tensors(info, 0), Int(info, 1)))
OP_LIST(Split, at::split_with_sizes(A, Ints(info, 1), Int(info, 2)))
OP_LIST(Chunk, at::chunk(A, Int(info, 1), Int(info, 2)))
OP(Narrow, at::narrow(A, Int(info, 1), Int(info, 2), Int(info, 3)))
OP(Select, at::select(A, Int(info, 1), Int(info, 2)))
OP(IndexSelect, at::index_select(A, Int(info, 1), T(info, 2)))
OP(Gather, at::gather(A, Int(info, 1), T(info, 2)))
OP(MaskedFill, at::masked_fill(A, B, Scal(info, 2)))
OP(Tril, at::tril(A, Int(info, 1)))
OP(Triu, at::triu(A, Int(info, 1)))
// pads: [left, right, top, bottom, ...] as in torch.nn.functional.pad
at::Tensor PadConstantImpl(const Napi::CallbackInfo& info) {
  auto pads = Ints(info, 1);
  if (pads.size() % 2 != 0 || pads.size() > 2 * static_cast<size_t>(A.dim()))
    throw ArgError("padding needs an even number of entries, two per padded dimension");
  return at::constant_pad_nd(A, pads, Scal(info, 2));
}
OP(PadConstant, PadConstantImpl(info))
// Reflect/replicate padding of the last 1, 2 or 3 dimensions, chosen by the number of pads.
at::Tensor PadModeImpl(const Napi::CallbackInfo& info, bool reflect) {
  auto pads = Ints(info, 1);
  switch (pads.size()) {
    case 2:
      return reflect ? at::reflection_pad1d(A, pads) : at::replication_pad1d(A, pads);
    case 4:
      return reflect ? at::reflection_pad2d(A, pads) : at::replication_pad2d(A, pads);
    case 6:
      return reflect ? at::reflection_pad3d(A, pads) : at::replication_pad3d(A, pads);
    default:
      throw ArgError("reflect/replicate padding takes 2, 4 or 6 pads (1-d, 2-d or 3-d), got " +
                     std::to_string(pads.size()));
  }
}
OP(PadReflect, PadModeImpl(info, true))
OP(PadReplicate, PadModeImpl(info, false))
OP(Diag, at::diag(A, Int(info, 1)))
Napi::Value Qr(const Napi::CallbackInfo& info) {
  auto r = at::linalg_qr(A, "reduced");
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// Eigen-decomposition of a symmetric (Hermitian) matrix, lower triangle read: ascending eigenvalues
// and orthonormal eigenvectors as columns (LAPACK syevd through libtorch, both 1.13 and 2.x).
Napi::Value Eigh(const Napi::CallbackInfo& info) {
  auto r = at::linalg_eigh(A, "L");
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

#undef A
#undef B

}  // namespace

void RegisterOps(Napi::Env, Napi::Object e) {
  CAI_EXPORT(e, "neg", Neg);
  CAI_EXPORT(e, "eigh", Eigh);
  CAI_EXPORT(e, "exp", Exp);
  CAI_EXPORT(e, "log", Log);
  CAI_EXPORT(e, "log1p", Log1p);
  CAI_EXPORT(e, "sqrt", Sqrt);
  CAI_EXPORT(e, "rsqrt", Rsqrt);
  CAI_EXPORT(e, "abs", Abs);
  CAI_EXPORT(e, "sign", Sign);
  CAI_EXPORT(e, "sin", Sin);
  CAI_EXPORT(e, "cos", Cos);
  CAI_EXPORT(e, "tanh", Tanh);
  CAI_EXPORT(e, "sigmoid", Sigmoid);
  CAI_EXPORT(e, "relu", Relu);
  CAI_EXPORT(e, "gelu", Gelu);
  CAI_EXPORT(e, "erf", Erf);
  CAI_EXPORT(e, "erfinv", Erfinv);
  CAI_EXPORT(e, "floor", Floor);
  CAI_EXPORT(e, "ceil", Ceil);
  CAI_EXPORT(e, "round", Round);
  CAI_EXPORT(e, "reciprocal", Reciprocal);
  CAI_EXPORT(e, "logicalNot", LogicalNot);
  CAI_EXPORT(e, "leakyRelu", LeakyRelu);
  CAI_EXPORT(e, "elu", Elu);
  CAI_EXPORT(e, "softplus", Softplus);
  CAI_EXPORT(e, "hardtanh", Hardtanh);
  CAI_EXPORT(e, "powScalar", PowScalar);
  CAI_EXPORT(e, "scalarPow", ScalarPow);
  CAI_EXPORT(e, "clamp", Clamp);
  CAI_EXPORT(e, "add", Add);
  CAI_EXPORT(e, "sub", Sub);
  CAI_EXPORT(e, "mul", Mul);
  CAI_EXPORT(e, "div", Div);
  CAI_EXPORT(e, "pow", Pow);
  CAI_EXPORT(e, "maximum", Maximum);
  CAI_EXPORT(e, "minimum", Minimum);
  CAI_EXPORT(e, "eq", Eq);
  CAI_EXPORT(e, "ne", Ne);
  CAI_EXPORT(e, "lt", Lt);
  CAI_EXPORT(e, "le", Le);
  CAI_EXPORT(e, "gt", Gt);
  CAI_EXPORT(e, "ge", Ge);
  CAI_EXPORT(e, "logicalAnd", LogicalAnd);
  CAI_EXPORT(e, "logicalOr", LogicalOr);
  CAI_EXPORT(e, "matmul", Matmul);
  CAI_EXPORT(e, "bmm", Bmm);
  CAI_EXPORT(e, "outer", Outer);
  CAI_EXPORT(e, "addScaled", AddScaled);
  CAI_EXPORT(e, "addS", AddS);
  CAI_EXPORT(e, "subS", SubS);
  CAI_EXPORT(e, "rsubS", RsubS);
  CAI_EXPORT(e, "mulS", MulS);
  CAI_EXPORT(e, "divS", DivS);
  CAI_EXPORT(e, "eqS", EqS);
  CAI_EXPORT(e, "neS", NeS);
  CAI_EXPORT(e, "ltS", LtS);
  CAI_EXPORT(e, "leS", LeS);
  CAI_EXPORT(e, "gtS", GtS);
  CAI_EXPORT(e, "geS", GeS);
  CAI_EXPORT(e, "where", Where);
  CAI_EXPORT(e, "linear", Linear);
  CAI_EXPORT(e, "addmm", Addmm);
  CAI_EXPORT(e, "sum", Sum);
  CAI_EXPORT(e, "mean", Mean);
  CAI_EXPORT(e, "prod", Prod);
  CAI_EXPORT(e, "maxAll", MaxAll);
  CAI_EXPORT(e, "minAll", MinAll);
  CAI_EXPORT(e, "maxDim", MaxDim);
  CAI_EXPORT(e, "minDim", MinDim);
  CAI_EXPORT(e, "sort", Sort);
  CAI_EXPORT(e, "topk", Topk);
  CAI_EXPORT(e, "argmax", Argmax);
  CAI_EXPORT(e, "argmin", Argmin);
  CAI_EXPORT(e, "var", Var);
  CAI_EXPORT(e, "std", Std);
  CAI_EXPORT(e, "norm", Norm);
  CAI_EXPORT(e, "logsumexp", Logsumexp);
  CAI_EXPORT(e, "softmax", Softmax);
  CAI_EXPORT(e, "logSoftmax", LogSoftmax);
  CAI_EXPORT(e, "cumsum", Cumsum);
  CAI_EXPORT(e, "reshape", Reshape);
  CAI_EXPORT(e, "view", View);
  CAI_EXPORT(e, "permute", Permute);
  CAI_EXPORT(e, "transpose", Transpose);
  CAI_EXPORT(e, "squeezeAll", SqueezeAll);
  CAI_EXPORT(e, "squeeze", Squeeze);
  CAI_EXPORT(e, "unsqueeze", Unsqueeze);
  CAI_EXPORT(e, "expand", Expand);
  CAI_EXPORT(e, "repeat", Repeat);
  CAI_EXPORT(e, "flatten", Flatten);
  CAI_EXPORT(e, "flip", Flip);
  CAI_EXPORT(e, "cat", Cat);
  CAI_EXPORT(e, "stack", Stack);
  CAI_EXPORT(e, "split", Split);
  CAI_EXPORT(e, "chunk", Chunk);
  CAI_EXPORT(e, "narrow", Narrow);
  CAI_EXPORT(e, "select", Select);
  CAI_EXPORT(e, "indexSelect", IndexSelect);
  CAI_EXPORT(e, "gather", Gather);
  CAI_EXPORT(e, "maskedFill", MaskedFill);
  CAI_EXPORT(e, "tril", Tril);
  CAI_EXPORT(e, "triu", Triu);
  CAI_EXPORT(e, "padConstant", PadConstant);
  CAI_EXPORT(e, "padReflect", PadReflect);
  CAI_EXPORT(e, "padReplicate", PadReplicate);
  CAI_EXPORT(e, "diag", Diag);
  CAI_EXPORT(e, "qr", Qr);
}

}  // namespace cai
