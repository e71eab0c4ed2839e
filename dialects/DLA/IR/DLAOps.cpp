//===- DLAOps.cpp - Verifiers, shape inference and folds of dla ops -------===//
//
// Shape rules follow PyTorch exactly: a shape PyTorch would reject (or that
// would make a later addition fail) is rejected here with the reason, so a
// malformed network never reaches code generation.
//
//===----------------------------------------------------------------------===//

#include "dialects/DLA/IR/DLAOps.h"
#include "frontend/Limits.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::dla;

using llvm::checkedAdd;
using llvm::checkedMul;
using llvm::checkedSub;

std::optional<int64_t> mlir::dla::checkedConvOutputSize(int64_t in,
                                                        int64_t kernel,
                                                        int64_t stride,
                                                        int64_t pad,
                                                        int64_t dilation) {
  // span = in + 2 * pad - dilation * (kernel - 1) - 1, each step checked.
  std::optional<int64_t> twoPad = checkedMul<int64_t>(2, pad);
  std::optional<int64_t> kernelSpan = checkedSub<int64_t>(kernel, 1);
  if (!twoPad || !kernelSpan)
    return std::nullopt;
  std::optional<int64_t> reach = checkedMul(dilation, *kernelSpan);
  std::optional<int64_t> padded = checkedAdd(in, *twoPad);
  if (!reach || !padded)
    return std::nullopt;
  std::optional<int64_t> span = checkedSub(*padded, *reach);
  if (!span)
    return std::nullopt;
  span = checkedSub<int64_t>(*span, 1);
  if (!span)
    return std::nullopt;
  if (*span < 0 || stride <= 0)
    return 0;
  return *span / stride + 1;
}

int64_t mlir::dla::convOutputSize(int64_t in, int64_t kernel, int64_t stride,
                                  int64_t pad, int64_t dilation) {
  return checkedConvOutputSize(in, kernel, stride, pad, dilation).value_or(0);
}

namespace {
/// Collects the checks of one op and emits the first failure as an error at
/// the op, prefixed like MLIR's own op errors ("'dla.conv2d' op ...").
/// Inference runs both from the verifier (with a location) and from builders
/// (maybe without); emitOptionalError handles both.
class Checker {
public:
  Checker(std::optional<Location> loc, StringRef opName)
      : loc(loc), opName(opName) {}

  template <typename... Args>
  LogicalResult fail(Args &&...args) {
    return emitOptionalError(loc, "'", opName, "' op ",
                             std::forward<Args>(args)...);
  }

  /// The operand's ranked tensor type, requiring a static shape.
  FailureOr<RankedTensorType> tensor(Value v, StringRef what) {
    auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!type)
      return fail(what, " must be a ranked tensor");
    if (!type.hasStaticShape())
      return fail(what, " must have a static shape, got ", type);
    return type;
  }

  LogicalResult sameElementType(ArrayRef<Value> values) {
    Type elt;
    for (Value v : values) {
      if (!v)
        continue;
      Type t = llvm::cast<ShapedType>(v.getType()).getElementType();
      if (elt && t != elt)
        return fail("expects one element type for all tensors, got ", elt,
                    " and ", t);
      elt = t;
    }
    return success();
  }

  /// An intermediate value of the shape arithmetic does not fit in int64_t.
  template <typename... Args> LogicalResult overflow(Args &&...args) {
    return fail(std::forward<Args>(args)...,
                " overflows 64-bit integer arithmetic");
  }

  LogicalResult window(ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                       ArrayRef<int64_t> dilation) {
    for (int i = 0; i < 2; ++i) {
      if (stride[i] < 1)
        return fail("stride must be >= 1, got [", stride[0], ", ", stride[1],
                    "]");
      if (padding[i] < 0)
        return fail("padding must be >= 0, got [", padding[0], ", ",
                    padding[1], "]");
      if (!dilation.empty() && dilation[i] < 1)
        return fail("dilation must be >= 1, got [", dilation[0], ", ",
                    dilation[1], "]");
    }
    return success();
  }

private:
  std::optional<Location> loc;
  StringRef opName;
};

RankedTensorType nchw(int64_t n, int64_t c, int64_t h, int64_t w, Type elt) {
  return RankedTensorType::get({n, c, h, w}, elt);
}

/// Checks that `bias`, when present, has `channels` elements.
LogicalResult checkBias(Checker &check, Value bias, int64_t channels) {
  if (!bias)
    return success();
  auto type = llvm::cast<RankedTensorType>(bias.getType());
  if (type.getDimSize(0) != channels)
    return check.fail("bias must have ", channels, " elements, got ", type);
  return success();
}

/// Shared by conv2d and deform_conv2d: the weight/group/bias consistency and
/// the output size of a (possibly dilated, grouped) convolution.
FailureOr<RankedTensorType>
inferConvLike(Checker &check, Value input, Value weight, Value bias,
              ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
              ArrayRef<int64_t> dilation, int64_t groups) {
  auto in = check.tensor(input, "input");
  auto w = check.tensor(weight, "weight");
  if (failed(in) || failed(w) ||
      failed(check.sameElementType({input, weight, bias})) ||
      failed(check.window(stride, padding, dilation)))
    return failure();
  auto x = in->getShape();
  auto k = w->getShape();
  if (groups < 1)
    return check.fail("groups must be >= 1, got ", groups);
  if (x[1] % groups != 0)
    return check.fail("input channels (", x[1], ") must be divisible by groups (",
                      groups, ")");
  if (k[0] % groups != 0)
    return check.fail("output channels (", k[0],
                      ") must be divisible by groups (", groups, ")");
  if (k[1] != x[1] / groups)
    return check.fail("weight must have ", x[1] / groups,
                      " input channels (input channels / groups), got ", *w);
  if (failed(checkBias(check, bias, k[0])))
    return failure();
  std::optional<int64_t> h =
      checkedConvOutputSize(x[2], k[2], stride[0], padding[0], dilation[0]);
  std::optional<int64_t> w2 =
      checkedConvOutputSize(x[3], k[3], stride[1], padding[1], dilation[1]);
  if (!h || !w2)
    return check.overflow("the output size of kernel ", k[2], "x", k[3],
                          " with padding [", padding[0], ", ", padding[1],
                          "] and dilation [", dilation[0], ", ", dilation[1],
                          "] on the ", x[2], "x", x[3], " input");
  int64_t ho = *h, wo = *w2;
  if (ho < 1 || wo < 1)
    return check.fail("kernel ", k[2], "x", k[3], " (dilation [", dilation[0],
                      ", ", dilation[1], "]) does not fit the padded ", x[2],
                      "x", x[3], " input");
  return nchw(x[0], k[0], ho, wo, in->getElementType());
}

LogicalResult single(FailureOr<RankedTensorType> type,
                     SmallVectorImpl<Type> &results) {
  if (failed(type))
    return failure();
  results.push_back(*type);
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Primitive ops
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty state-dict key");
  if (!getType().hasStaticShape())
    return emitOpError("must have a static shape, got ") << getType();
  return success();
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor op, SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  return single(inferConvLike(check, op.getInput(), op.getWeight(), op.getBias(),
                              op.getStride(), op.getPadding(), op.getDilation(),
                              op.getGroups()),
                results);
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor op,
                                            SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  auto in = check.tensor(op.getInput(), "input");
  if (failed(in) ||
      failed(check.sameElementType({op.getInput(), op.getWeight(), op.getBias(),
                                    op.getMean(), op.getVar()})))
    return failure();
  int64_t c = in->getDimSize(1);
  const char *names[] = {"weight", "bias", "mean", "var"};
  Value params[] = {op.getWeight(), op.getBias(), op.getMean(), op.getVar()};
  for (auto [name, v] : llvm::zip(names, params)) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    if (t.getDimSize(0) != c)
      return check.fail(name, " must have ", c, " elements (one per channel), got ",
                        t);
  }
  if (!(op.getEpsilon().convertToDouble() > 0.0))
    return check.fail("epsilon must be > 0");
  results.push_back(*in);
  return success();
}

OpFoldResult ReluOp::fold(FoldAdaptor) {
  // relu is idempotent: relu(relu(x)) is the inner relu.
  if (getInput().getDefiningOp<ReluOp>())
    return getInput();
  return {};
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc, Adaptor op,
                                         SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  if (op.getInputs().empty())
    return check.fail("needs at least one input");
  SmallVector<Value> inputs(op.getInputs().begin(), op.getInputs().end());
  if (failed(check.sameElementType(inputs)))
    return failure();
  auto first = check.tensor(inputs.front(), "input #0");
  if (failed(first))
    return failure();
  int64_t channels = 0;
  for (auto [i, v] : llvm::enumerate(inputs)) {
    auto t = check.tensor(v, "input");
    if (failed(t))
      return failure();
    for (int d : {0, 2, 3})
      if (t->getDimSize(d) != first->getDimSize(d))
        return check.fail("input #", i, " ", *t,
                          " must match input #0 in N, H and W, got ", *first);
    std::optional<int64_t> sum = checkedAdd(channels, t->getDimSize(1));
    if (!sum)
      return check.overflow("the channel count of the ", inputs.size(),
                            " inputs");
    channels = *sum;
  }
  auto s = first->getShape();
  results.push_back(nchw(s[0], channels, s[2], s[3], first->getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  return {};
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor op, SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  auto in = check.tensor(op.getInput(), "input");
  if (failed(in))
    return failure();
  int64_t offset = op.getOffset(), size = op.getSize();
  auto s = in->getShape();
  // offset + size is not computed before it is known to fit.
  if (offset < 0 || size < 1 || offset > s[1] || size > s[1] - offset) {
    if (std::optional<int64_t> end = checkedAdd(offset, size))
      return check.fail("channel range [", offset, ", ", *end,
                        ") is outside the input's ", s[1], " channels");
    return check.fail("channel range of ", size, " channels at offset ",
                      offset, " is outside the input's ", s[1], " channels");
  }
  results.push_back(nchw(s[0], size, s[2], s[3], in->getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  if (getOffset() == 0 && getSize() == getInput().getType().getDimSize(1))
    return getInput();
  return {};
}

/// Max and average pooling share PyTorch's floor-mode size rule and its
/// requirement that padding be at most half the kernel.
template <typename Adaptor>
static LogicalResult inferPool(StringRef name, std::optional<Location> loc,
                               Adaptor op, SmallVectorImpl<Type> &results) {
  Checker check(loc, name);
  auto in = check.tensor(op.getInput(), "input");
  ArrayRef<int64_t> kernel = op.getKernel(), stride = op.getStride(),
                    padding = op.getPadding();
  if (failed(in) || failed(check.window(stride, padding, {})))
    return failure();
  auto s = in->getShape();
  int64_t out[2];
  for (int i = 0; i < 2; ++i) {
    if (kernel[i] < 1)
      return check.fail("kernel must be >= 1, got [", kernel[0], ", ", kernel[1],
                        "]");
    if (padding[i] > kernel[i] / 2) // 2 * padding > kernel, without overflow
      return check.fail("padding must be at most half the kernel, got padding [",
                        padding[0], ", ", padding[1], "] for kernel [", kernel[0],
                        ", ", kernel[1], "]");
    std::optional<int64_t> o =
        checkedConvOutputSize(s[2 + i], kernel[i], stride[i], padding[i], 1);
    if (!o)
      return check.overflow("the output size of kernel [", kernel[0], ", ",
                            kernel[1], "] with padding [", padding[0], ", ",
                            padding[1], "] on the ", s[2], "x", s[3],
                            " input");
    out[i] = *o;
    if (out[i] < 1)
      return check.fail("kernel [", kernel[0], ", ", kernel[1],
                        "] is larger than the padded ", s[2], "x", s[3], " input");
  }
  results.push_back(nchw(s[0], s[1], out[0], out[1], in->getElementType()));
  return success();
}

LogicalResult MaxPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor op,
                                            SmallVectorImpl<Type> &results) {
  return inferPool(getOperationName(), loc, op, results);
}

LogicalResult AvgPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor op,
                                            SmallVectorImpl<Type> &results) {
  return inferPool(getOperationName(), loc, op, results);
}

LogicalResult ConvTranspose2dOp::inferReturnTypes(MLIRContext *,
                                                  std::optional<Location> loc,
                                                  Adaptor op,
                                                  SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  auto in = check.tensor(op.getInput(), "input");
  auto w = check.tensor(op.getWeight(), "weight");
  ArrayRef<int64_t> stride = op.getStride(), padding = op.getPadding(),
                    outPad = op.getOutputPadding();
  if (failed(in) || failed(w) ||
      failed(check.sameElementType({op.getInput(), op.getWeight(), op.getBias()})) ||
      failed(check.window(stride, padding, {})))
    return failure();
  auto x = in->getShape();
  auto k = w->getShape();
  int64_t groups = op.getGroups();
  if (groups < 1 || x[1] % groups != 0)
    return check.fail("input channels (", x[1], ") must be divisible by groups (",
                      groups, ")");
  if (k[0] != x[1])
    return check.fail("weight must have ", x[1],
                      " rows (one per input channel, PyTorch's layout), got ", *w);
  std::optional<int64_t> outCh = checkedMul(k[1], groups);
  if (!outCh)
    return check.overflow("the output channel count ", k[1], " x groups ",
                          groups);
  int64_t outChannels = *outCh;
  if (failed(checkBias(check, op.getBias(), outChannels)))
    return failure();
  int64_t out[2];
  for (int i = 0; i < 2; ++i) {
    if (outPad[i] < 0 || outPad[i] >= stride[i])
      return check.fail("output_padding must be in [0, stride), got [", outPad[0],
                        ", ", outPad[1], "]");
    // (in - 1) * stride - 2 * padding + kernel + output_padding, checked.
    std::optional<int64_t> o = checkedMul(x[2 + i] - 1, stride[i]);
    if (o)
      o = checkedSub(*o, padding[i]);
    if (o)
      o = checkedSub(*o, padding[i]);
    if (o)
      o = checkedAdd(*o, k[2 + i]);
    if (o)
      o = checkedAdd(*o, outPad[i]);
    if (!o)
      return check.overflow("the output size of stride [", stride[0], ", ",
                            stride[1], "], padding [", padding[0], ", ",
                            padding[1], "] and kernel ", k[2], "x", k[3],
                            " on the ", x[2], "x", x[3], " input");
    out[i] = *o;
    if (out[i] < 1)
      return check.fail("padding [", padding[0], ", ", padding[1],
                        "] leaves no output");
  }
  results.push_back(nchw(x[0], outChannels, out[0], out[1], in->getElementType()));
  return success();
}

LogicalResult DeformConv2dOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor op,
                                               SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  auto result = inferConvLike(check, op.getInput(), op.getWeight(), op.getBias(),
                              op.getStride(), op.getPadding(), op.getDilation(),
                              op.getGroups());
  if (failed(result))
    return failure();
  auto off = check.tensor(op.getOffset(), "offset");
  auto mask = check.tensor(op.getMask(), "mask");
  if (failed(off) || failed(mask) ||
      failed(check.sameElementType({op.getInput(), op.getOffset(), op.getMask()})))
    return failure();
  int64_t dg = op.getDeformableGroups();
  int64_t channels = llvm::cast<RankedTensorType>(op.getInput().getType()).getDimSize(1);
  if (dg < 1 || channels % dg != 0)
    return check.fail("input channels (", channels,
                      ") must be divisible by deformable_groups (", dg, ")");
  auto w = llvm::cast<RankedTensorType>(op.getWeight().getType()).getShape();
  std::optional<int64_t> points = checkedMul(dg, w[2]);
  if (points)
    points = checkedMul(*points, w[3]);
  std::optional<int64_t> offsetChannels =
      points ? checkedMul<int64_t>(2, *points) : std::nullopt;
  if (!offsetChannels)
    return check.overflow("the offset channel count 2 x deformable_groups ",
                          dg, " x kernel ", w[2], "x", w[3]);
  auto r = result->getShape();
  RankedTensorType wantOffset =
      nchw(r[0], *offsetChannels, r[2], r[3], result->getElementType());
  RankedTensorType wantMask =
      nchw(r[0], *points, r[2], r[3], result->getElementType());
  if (*off != wantOffset)
    return check.fail("offset must be ", wantOffset,
                      " (2 × deformable_groups × kh × kw channels at the output size), got ",
                      *off);
  if (*mask != wantMask)
    return check.fail("mask must be ", wantMask,
                      " (deformable_groups × kh × kw channels at the output size), got ",
                      *mask);
  results.push_back(*result);
  return success();
}

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor op, SmallVectorImpl<Type> &results) {
  Checker check(loc, getOperationName());
  auto in = check.tensor(op.getInput(), "input");
  if (failed(in))
    return failure();
  auto s = in->getShape();
  std::optional<int64_t> n = checkedMul(s[1], s[2]);
  if (n)
    n = checkedMul(*n, s[3]);
  if (!n)
    return check.overflow("the flattened size ", s[1], "x", s[2], "x", s[3]);
  results.push_back(RankedTensorType::get({s[0], *n}, in->getElementType()));
  return success();
}
