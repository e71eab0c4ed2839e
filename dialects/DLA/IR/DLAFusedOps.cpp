//===- DLAFusedOps.cpp - Verifiers of the fused dla ops -------------------===//

#include "dialects/DLA/IR/DLAOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::dla;
using llvm::checkedAdd;
using llvm::checkedMul;

static ArrayRef<int64_t> shapeOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType()).getShape();
}

/// The operands of a parameter-only op share one element type (the
/// checkpoint's). Results may be stored in another one (dla-apply-precision):
/// the op computes in f32 and rounds once on store.
static LogicalResult checkOneElementType(Operation *op) {
  Type elt;
  for (Type t : op->getOperandTypes()) {
    Type e = llvm::cast<ShapedType>(t).getElementType();
    if (elt && e != elt)
      return op->emitOpError("expects one element type for all tensors, got ")
             << elt << " and " << e;
    elt = e;
  }
  return success();
}

LogicalResult FoldBatchNormOp::verify() {
  if (failed(checkOneElementType(*this)))
    return failure();
  int64_t out = getWeight().getType().getDimSize(0);
  for (Value v : {getBias(), getBnWeight(), getBnBias(), getMean(), getVar()})
    if (v && shapeOf(v)[0] != out)
      return emitOpError("per-channel operands must have ")
             << out << " elements (the weight's output channels), got "
             << v.getType();
  // The new weight may carry a #dla.host_layout encoding (dla-pack-weights):
  // the same logical tensor, kept packed by the host build.
  if (getNewWeight().getType().getShape() != getWeight().getType().getShape())
    return emitOpError("new weight must have the weight's shape ")
           << getWeight().getType();
  if (getNewBias().getType().getDimSize(0) != out)
    return emitOpError("new bias must have ") << out << " elements";
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError("epsilon must be > 0");
  return success();
}

// The fused ops compute in f32 whatever their operands' and result's
// storage types (f32, f16, bf16; dla-apply-precision): the result's shape is
// checked, its element type is its own.
LogicalResult FusedConvOp::verify() {
  ArrayRef<int64_t> pool = getPool(), stride = getStride(),
                    padding = getPadding(), dilation = getDilation();
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  if (pool.size() != getInputs().size())
    return emitOpError("needs one pool factor per input (")
           << getInputs().size() << "), got " << pool.size();
  int64_t channels = 0, n = 0, h = 0, w = 0;
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    auto s = shapeOf(v);
    if (pool[i] < 1)
      return emitOpError("pool factors must be >= 1, got ") << pool[i];
    if (s[2] % pool[i] || s[3] % pool[i])
      return emitOpError("input #")
             << i << " (" << v.getType() << ") is not divisible by its pool factor "
             << pool[i];
    int64_t ph = s[2] / pool[i], pw = s[3] / pool[i];
    if (i == 0) {
      n = s[0], h = ph, w = pw;
    } else if (s[0] != n || ph != h || pw != w) {
      return emitOpError("input #") << i << " (" << v.getType() << ", pool "
                                    << pool[i]
                                    << ") does not meet input #0 in N, H and W";
    }
    std::optional<int64_t> sum = checkedAdd(channels, s[1]);
    if (!sum)
      return emitOpError("the channel count of the inputs overflows 64-bit "
                         "integer arithmetic");
    channels = *sum;
  }
  for (int i = 0; i < 2; ++i)
    if (stride[i] < 1 || dilation[i] < 1 || padding[i] < 0)
      return emitOpError("stride and dilation must be >= 1 and padding >= 0");
  auto k = getWeight().getType().getShape();
  int64_t groups = getGroups();
  if (channels % groups || k[0] % groups || k[1] != channels / groups)
    return emitOpError("weight ")
           << getWeight().getType() << " does not fit " << channels
           << " input channels in " << groups << " groups";
  if (getBias() && getBias().getType().getDimSize(0) != k[0])
    return emitOpError("bias must have ") << k[0] << " elements";
  std::optional<int64_t> hoc =
      checkedConvOutputSize(h, k[2], stride[0], padding[0], dilation[0]);
  std::optional<int64_t> woc =
      checkedConvOutputSize(w, k[3], stride[1], padding[1], dilation[1]);
  if (!hoc || !woc)
    return emitOpError("the output size of kernel ")
           << k[2] << "x" << k[3] << " with padding [" << padding[0] << ", "
           << padding[1] << "] and dilation [" << dilation[0] << ", "
           << dilation[1] << "] on the " << h << "x" << w
           << " input overflows 64-bit integer arithmetic";
  int64_t ho = *hoc, wo = *woc;
  // The conv's own output; the result unless a 1x1 `then` conv follows.
  auto expected = RankedTensorType::get({n, k[0], ho, wo},
                                        getType().getElementType());
  if (getTailBias() && !getTailWeight())
    return emitOpError("a tail bias needs a tail weight (`then`)");
  if (getTailWeight()) {
    auto t = getTailWeight().getType().getShape();
    if (!getTailBias())
      return emitOpError("`then` needs a tail bias");
    if (t[1] != k[0] || t[2] != 1 || t[3] != 1)
      return emitOpError("tail weight ")
             << getTailWeight().getType() << " must be Tx" << k[0]
             << "x1x1 (a 1x1 conv of the conv's " << k[0] << " channels)";
    if (getTailBias().getType().getDimSize(0) != t[0])
      return emitOpError("tail bias must have ") << t[0] << " elements";
    auto result = RankedTensorType::get({n, t[0], ho, wo},
                                        getType().getElementType());
    if (ho < 1 || wo < 1 || getType() != result)
      return emitOpError("result must be ") << result << ", got " << getType();
  } else if (ho < 1 || wo < 1 || getType() != expected) {
    return emitOpError("result must be ") << expected << ", got " << getType();
  }
  if (!getResidualWeight()) {
    if (getResidualBias())
      return emitOpError("a residual bias needs a residual weight (`project`)");
    if (getResidualPool() != 1)
      return emitOpError("a residual pool factor needs a residual weight (`project`)");
    if (getResidual() && getResidual().getType() != expected)
      return emitOpError("residual must have the conv's output type ") << expected;
    return success();
  }
  // project: r = conv1x1(max_pool(residual, q), residual_weight) + residual_bias.
  if (!getResidual())
    return emitOpError("`project` needs a residual to project");
  if (!getResidualBias())
    return emitOpError("`project` needs a residual bias");
  int64_t q = getResidualPool();
  auto r = shapeOf(getResidual());
  auto pw = getResidualWeight().getType().getShape();
  if (q < 1)
    return emitOpError("the residual pool factor must be >= 1, got ") << q;
  if (r[0] != n || r[2] % q || r[3] % q || r[2] / q != ho || r[3] / q != wo)
    return emitOpError("residual ")
           << getResidual().getType() << " max-pooled by " << q
           << " does not give the result's N, H and W (" << n << ", " << ho << ", " << wo
           << ")";
  if (pw[0] != k[0] || pw[1] != r[1] || pw[2] != 1 || pw[3] != 1)
    return emitOpError("residual weight ")
           << getResidualWeight().getType() << " must be " << k[0] << "x" << r[1]
           << "x1x1 (a 1x1 conv of the residual's " << r[1] << " channels)";
  if (getResidualBias().getType().getDimSize(0) != k[0])
    return emitOpError("residual bias must have ") << k[0] << " elements";
  return success();
}

LogicalResult FusedDeformConvOp::verify() {
  ArrayRef<int64_t> up = getUp();
  if (getAddends().empty())
    return emitOpError("needs at least one addend");
  if (up.size() != getAddends().size())
    return emitOpError("needs one up factor per addend (")
           << getAddends().size() << "), got " << up.size();
  if (static_cast<size_t>(llvm::count_if(up, [](int64_t f) { return f > 1; })) !=
      getUpWeights().size())
    return emitOpError("needs one up weight per addend with an up factor > 1");
  SmallVector<int64_t> sum;
  auto weights = getUpWeights().begin();
  for (auto [i, v] : llvm::enumerate(getAddends())) {
    SmallVector<int64_t> s(shapeOf(v));
    int64_t f = up[i];
    if (f < 1)
      return emitOpError("up factors must be >= 1, got ") << f;
    if (f > 1) {
      // ConvTranspose2d(C, C, 2f, stride f, padding f/2, groups C).
      auto w = shapeOf(*weights++);
      std::optional<int64_t> kernel = checkedMul<int64_t>(2, f);
      if (!kernel)
        return emitOpError("up factor ")
               << f << " of addend #" << i
               << " overflows 64-bit integer arithmetic";
      if (w[0] != s[1] || w[1] != 1 || w[2] != *kernel || w[3] != *kernel)
        return emitOpError("up weight of addend #")
               << i << " must be " << s[1] << "x1x" << *kernel << "x"
               << *kernel;
      for (int d : {2, 3}) {
        // (s - 1) * f - 2 * (f / 2) + 2 * f, checked.
        std::optional<int64_t> size = checkedMul(s[d] - 1, f);
        if (size)
          size = checkedAdd(*size, *kernel - 2 * (f / 2));
        if (!size)
          return emitOpError("the upsampled size of addend #")
                 << i << " (" << v.getType() << ", up " << f
                 << ") overflows 64-bit integer arithmetic";
        s[d] = *size;
      }
    }
    if (i == 0)
      sum = s;
    else if (s != sum)
      return emitOpError("addend #") << i << " (" << v.getType()
                                     << ", up " << f
                                     << ") does not meet addend #0";
  }
  int64_t c = sum[1];
  auto om = getOffsetWeight().getType().getShape();
  if (om[0] != 27 || om[1] != c || om[2] != 3 || om[3] != 3 ||
      getOffsetBias().getType().getDimSize(0) != 27)
    return emitOpError("offset/mask conv must be 27x")
           << c << "x3x3 with 27 biases (3x3 DCNv2, one deformable group)";
  auto w = getWeight().getType().getShape();
  if (w[1] != c || w[2] != 3 || w[3] != 3 ||
      getBias().getType().getDimSize(0) != w[0])
    return emitOpError("weight must be Ox") << c << "x3x3 with O biases";
  auto expected = RankedTensorType::get({sum[0], w[0], sum[2], sum[3]},
                                        getType().getElementType());
  if (getType() != expected)
    return emitOpError("result must be ") << expected << ", got " << getType();
  return success();
}
