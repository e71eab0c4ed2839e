//===- DLAStructuralOps.cpp - Verifiers of the structural dla ops --------===//
//
// The ops of the JSON's constructs (base_layer, conv_level, tree, dla_up,
// ida_up, head, classifier): their attributes must agree with each other
// and with the result types, by the shape rules of the PyTorch modules they
// stand for (DLAOps.cpp has the primitive ops').
//
//===----------------------------------------------------------------------===//

#include "dialects/DLA/IR/DLAOps.h"
#include "frontend/Limits.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::dla;

using llvm::checkedMul;

namespace {
/// A 4-D NCHW tensor type.
RankedTensorType nchw(int64_t n, int64_t c, int64_t h, int64_t w, Type elt) {
  return RankedTensorType::get({n, c, h, w}, elt);
}
} // namespace

//===----------------------------------------------------------------------===//
// Structural ops: attribute consistency and the result shape each implies.
//===----------------------------------------------------------------------===//

/// Checks the declared result type of a structural op against the shape its
/// attributes imply.
static LogicalResult expectResult(Operation *op, Type actual,
                                  RankedTensorType expected, StringRef why) {
  if (actual != expected)
    return op->emitOpError("result must be ")
           << expected << " (" << why << "), got " << actual;
  return success();
}

static LogicalResult checkStatic(Operation *op) {
  for (Type t : llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes()))
    if (!llvm::cast<ShapedType>(t).hasStaticShape())
      return op->emitOpError("needs static shapes, got ") << t;
  return success();
}

LogicalResult BaseLayerOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  if (getKernelSize() % 2 == 0)
    return emitOpError("kernel must be odd (padding is kernel/2 and keeps the "
                       "size), got ")
           << getKernelSize();
  auto s = getInput().getType().getShape();
  return expectResult(*this, getType(),
                      nchw(s[0], getOutChannels(), s[2], s[3],
                           getInput().getType().getElementType()),
                      "out channels, same size");
}

LogicalResult ConvLevelOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  // The JSON frontend's bounds (frontend/Limits.h), for IR from anywhere.
  if (getConvs() < 1 || getConvs() > ::dla::frontend::limits::kMaxConvsPerStage)
    return emitOpError("convs must be 1 to ")
           << ::dla::frontend::limits::kMaxConvsPerStage << ", got " << getConvs();
  auto s = getInput().getType().getShape();
  int64_t d = getDilation(), stride = getStride();
  std::optional<int64_t> h = checkedConvOutputSize(s[2], 3, stride, d, d);
  std::optional<int64_t> w = checkedConvOutputSize(s[3], 3, stride, d, d);
  if (!h || !w)
    return emitOpError("the output size of dilation ")
           << d << " on the " << s[2] << "x" << s[3]
           << " input overflows 64-bit integer arithmetic";
  return expectResult(*this, getType(),
                      nchw(s[0], getOutChannels(), *h, *w,
                           getInput().getType().getElementType()),
                      "3x3 convs, the first with the stride");
}

LogicalResult TreeOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  // The JSON frontend's bounds (frontend/Limits.h): dla-expand builds
  // 2^levels blocks, so an unbounded level count is unbounded work.
  if (getLevels() < 1 || getLevels() > ::dla::frontend::limits::kMaxTreeLevels)
    return emitOpError("levels must be 1 to ")
           << ::dla::frontend::limits::kMaxTreeLevels << ", got " << getLevels();
  auto s = getInput().getType().getShape();
  int64_t stride = getStride(), out = getOutChannels();
  // The block's strided 3x3 conv gives ceil(H / s) rows, the max-pool of the
  // residual floor(H / s): they meet only when s divides H.
  if (s[2] % stride != 0 || s[3] % stride != 0)
    return emitOpError("input size ")
           << s[2] << "x" << s[3] << " must be divisible by the stride " << stride
           << " (the block's conv and the residual's max-pool would disagree)";
  if (getRootKernelSize() != 1)
    return emitOpError("root_kernel_size must be 1: Root is a 1x1 conv with "
                       "padding (k-1)/2, so a larger k grows the map and "
                       "breaks the aggregation; got ")
           << getRootKernelSize();
  if (getBlock() != BlockKind::basic && out < 2)
    return emitOpError("bottleneck blocks need at least 2 output channels");
  if (getBlock() == BlockKind::bottleneckx) {
    // BottleneckX: bottle_planes = planes * cardinality // 32, grouped by
    // cardinality.
    int64_t card = getCardinality();
    std::optional<int64_t> product = checkedMul(out, card);
    if (!product)
      return emitOpError("the bottleneck width out*cardinality/32 (")
             << out << " * " << card
             << ") overflows 64-bit integer arithmetic";
    int64_t width = *product / 32;
    if (width < card || width % card != 0)
      return emitOpError("cardinality ")
             << card << " must divide the bottleneck width out*cardinality/32 = "
             << width;
  }
  return expectResult(*this, getType(),
                      nchw(s[0], out, s[2] / stride, s[3] / stride,
                           getInput().getType().getElementType()),
                      "out channels, size divided by the stride");
}

/// IDAUp upsamples layer i by f = H(layer 0) / H(layer i) with a transposed
/// conv (kernel 2f, stride f, padding f/2), which restores the size exactly
/// only for even f.
static LogicalResult checkPyramid(Operation *op, ValueRange layers) {
  auto base = llvm::cast<RankedTensorType>(layers.front().getType()).getShape();
  for (auto [i, v] : llvm::enumerate(layers.drop_front())) {
    auto s = llvm::cast<RankedTensorType>(v.getType()).getShape();
    int64_t f = s[2] ? base[2] / s[2] : 0;
    if (s[0] != base[0] || f < 2 || f % 2 != 0 || s[2] * f != base[2] ||
        s[3] * f != base[3])
      return op->emitOpError("layer #")
             << i + 1 << " (" << v.getType() << ") must be the first layer ("
             << layers.front().getType()
             << ") downsampled by an even integer factor";
  }
  return success();
}

LogicalResult DLAUpOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  int64_t n = getLevels().size(), start = getStartLevel();
  if (start > n - 2)
    return emitOpError("start level ")
           << start << " must leave at least two of the " << n << " levels";
  ValueRange used = getLevels().drop_front(start);
  if (failed(checkPyramid(*this, used)))
    return failure();
  if (getOutputs().size() != used.size())
    return emitOpError("must have ") << used.size() << " results, one per level from "
                                     << start << ", got " << getOutputs().size();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(used, getOutputs())))
    if (std::get<0>(pair).getType() != std::get<1>(pair).getType())
      return emitOpError("result #") << i << " must have the type of level "
                                     << start + i << ", "
                                     << std::get<0>(pair).getType() << ", got "
                                     << std::get<1>(pair).getType();
  return success();
}

LogicalResult IDAUpOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  if (getLayers().empty())
    return emitOpError("needs at least one layer");
  auto first = llvm::cast<RankedTensorType>(getLayers().front().getType());
  if (first.getDimSize(1) != getOutChannels())
    return emitOpError("first layer must have ")
           << getOutChannels()
           << " channels (the projected layers are added to it), got " << first;
  if (failed(checkPyramid(*this, getLayers())))
    return failure();
  return expectResult(*this, getType(), first, "the first layer's type");
}

LogicalResult HeadOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  auto s = getInput().getType().getShape();
  int64_t k = getFinalKernel();
  std::optional<int64_t> h = checkedConvOutputSize(s[2], k, 1, k / 2, 1);
  std::optional<int64_t> w = checkedConvOutputSize(s[3], k, 1, k / 2, 1);
  if (!h || !w)
    return emitOpError("the output size of final_kernel ")
           << k << " on the " << s[2] << "x" << s[3]
           << " input overflows 64-bit integer arithmetic";
  return expectResult(*this, getType(),
                      nchw(s[0], getClasses(), *h, *w,
                           getInput().getType().getElementType()),
                      "classes channels after the final conv");
}

LogicalResult ClassifierOp::verify() {
  if (failed(checkStatic(*this)))
    return failure();
  auto s = getInput().getType().getShape();
  int64_t p = getPoolSize();
  int64_t h = convOutputSize(s[2], p, p, 0, 1);
  int64_t w = convOutputSize(s[3], p, p, 0, 1);
  if (h < 1 || w < 1)
    return emitOpError("pool size ") << p << " is larger than the " << s[2] << "x"
                                     << s[3] << " feature map";
  std::optional<int64_t> features =
      checkedMul(static_cast<int64_t>(getClasses()), h);
  if (features)
    features = checkedMul(*features, w);
  if (!features)
    return emitOpError("the output size classes*Hp*Wp (")
           << getClasses() << " * " << h << " * " << w
           << ") overflows 64-bit integer arithmetic";
  return expectResult(
      *this, getType(),
      RankedTensorType::get({s[0], *features},
                            getInput().getType().getElementType()),
      "N x classes*Hp*Wp after pooling and flattening");
}

#define GET_OP_CLASSES
#include "dialects/DLA/IR/DLAOps.cpp.inc"
