//===- FuseDeformConv.cpp - dla-fuse-deform-conv --------------------------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAFUSEDEFORMCONVPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
bool isPair(ArrayRef<int64_t> v, int64_t value) {
  return v.size() == 2 && v[0] == value && v[1] == value;
}

/// `value` is channels [offset, offset + 9) of `om`.
bool isChunk(Value value, Value om, int64_t offset) {
  auto slice = value.getDefiningOp<SliceOp>();
  return slice && slice.getInput() == om && slice.getOffset() == offset &&
         slice.getSize() == 9;
}

/// The parts of a fused_deform_conv, to rebuild one with a change.
struct Parts {
  SmallVector<Value> addends;
  SmallVector<int64_t> up;
  SmallVector<Value> upWeights;
  Value offsetWeight, offsetBias, weight, bias;
  bool relu = false;

  static Parts of(FusedDeformConvOp op) {
    Parts p;
    p.addends.assign(op.getAddends().begin(), op.getAddends().end());
    p.up.assign(op.getUp().begin(), op.getUp().end());
    p.upWeights.assign(op.getUpWeights().begin(), op.getUpWeights().end());
    p.offsetWeight = op.getOffsetWeight();
    p.offsetBias = op.getOffsetBias();
    p.weight = op.getWeight();
    p.bias = op.getBias();
    p.relu = op.getRelu();
    return p;
  }
  FusedDeformConvOp create(PatternRewriter &rewriter, Location loc, Type type) {
    return FusedDeformConvOp::create(rewriter, loc, type, addends, upWeights,
                                     offsetWeight, offsetBias, weight, bias, up,
                                     relu);
  }
};

/// CenterNet's DCN: deform_conv2d(x, cat(om[0:9], om[9:18]),
/// sigmoid(om[18:27])) with om = conv2d(x) → fused_deform_conv(x).
struct FuseDCN : CountingPattern<DeformConv2dOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(DeformConv2dOp dcn,
                                PatternRewriter &rewriter) const override {
    auto w = dcn.getWeight().getType().getShape();
    if (!isPair(dcn.getStride(), 1) || !isPair(dcn.getPadding(), 1) ||
        !isPair(dcn.getDilation(), 1) || dcn.getGroups() != 1 ||
        dcn.getDeformableGroups() != 1 || w[2] != 3 || w[3] != 3 || !dcn.getBias())
      return rewriter.notifyMatchFailure(dcn, "not the 3x3, stride 1, pad 1 DCN");
    auto sigmoid = dcn.getMask().getDefiningOp<SigmoidOp>();
    auto offset = dcn.getOffset().getDefiningOp<ConcatOp>();
    if (!sigmoid || !offset || offset.getInputs().size() != 2)
      return rewriter.notifyMatchFailure(dcn, "mask is not a sigmoid or offset "
                                              "not a concat of two chunks");
    auto maskSlice = sigmoid.getInput().getDefiningOp<SliceOp>();
    if (!maskSlice)
      return rewriter.notifyMatchFailure(dcn, "mask logits are not a slice");
    Value om = maskSlice.getInput();
    auto omConv = om.getDefiningOp<Conv2dOp>();
    if (!isChunk(sigmoid.getInput(), om, 18) ||
        !isChunk(offset.getInputs()[0], om, 0) ||
        !isChunk(offset.getInputs()[1], om, 9) || !omConv ||
        omConv.getType().getDimSize(1) != 27)
      return rewriter.notifyMatchFailure(
          dcn, "offsets and mask are not the three chunks of one 27-channel conv");
    if (omConv.getInput() != dcn.getInput() || !omConv.getBias() ||
        !isPair(omConv.getStride(), 1) || !isPair(omConv.getPadding(), 1) ||
        !isPair(omConv.getDilation(), 1) || omConv.getGroups() != 1)
      return rewriter.notifyMatchFailure(
          dcn, "offset conv is not a 3x3, pad 1 conv of the DCN's input");
    Parts parts;
    parts.addends = {dcn.getInput()};
    parts.up = {1};
    parts.offsetWeight = omConv.getWeight();
    parts.offsetBias = omConv.getBias();
    parts.weight = dcn.getWeight();
    parts.bias = dcn.getBias();
    rewriter.replaceOp(dcn, parts.create(rewriter, dcn.getLoc(), dcn.getType()));
    ++counter;
    return success();
  }
};

/// relu(fused_deform_conv) → fused_deform_conv(..., relu).
struct FuseRelu : CountingPattern<ReluOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(ReluOp relu,
                                PatternRewriter &rewriter) const override {
    auto dcn = relu.getInput().getDefiningOp<FusedDeformConvOp>();
    if (!dcn || !dcn->hasOneUse() || dcn.getRelu())
      return rewriter.notifyMatchFailure(relu, "input is not a single-use fused DCN");
    Parts parts = Parts::of(dcn);
    parts.relu = true;
    rewriter.replaceOp(relu, parts.create(rewriter, dcn.getLoc(), relu.getType()));
    rewriter.eraseOp(dcn);
    return success();
  }
};

/// Addends that are single-use adds are split; single-use depthwise
/// transposed convs (kernel 2f, stride f, padding f/2) become up factors.
struct FuseInputs : CountingPattern<FusedDeformConvOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(FusedDeformConvOp dcn,
                                PatternRewriter &rewriter) const override {
    Parts parts = Parts::of(dcn);
    Parts next = parts;
    next.addends.clear();
    next.up.clear();
    next.upWeights.clear();
    auto weights = parts.upWeights.begin();
    bool changed = false;
    for (auto [a, f] : llvm::zip(parts.addends, parts.up)) {
      Value upWeight = f > 1 ? *weights++ : Value();
      if (auto add = a.getDefiningOp<AddOp>(); add && f == 1 && a.hasOneUse()) {
        next.addends.append({add.getLhs(), add.getRhs()});
        next.up.append({1, 1});
        changed = true;
        continue;
      }
      if (auto ct = a.getDefiningOp<ConvTranspose2dOp>();
          ct && f == 1 && a.hasOneUse() && isUpsample(ct)) {
        next.addends.push_back(ct.getInput());
        next.up.push_back(ct.getStride()[0]);
        next.upWeights.push_back(ct.getWeight());
        changed = true;
        continue;
      }
      next.addends.push_back(a);
      next.up.push_back(f);
      if (upWeight)
        next.upWeights.push_back(upWeight);
    }
    if (!changed)
      return rewriter.notifyMatchFailure(dcn, "no addend to fuse");
    rewriter.replaceOp(dcn, next.create(rewriter, dcn.getLoc(), dcn.getType()));
    ++counter;
    return success();
  }

  /// IDAUp's `up`: ConvTranspose2d(C, C, 2f, stride f, padding f/2, groups C).
  static bool isUpsample(ConvTranspose2dOp ct) {
    int64_t f = ct.getStride()[0];
    int64_t c = ct.getInput().getType().getDimSize(1);
    auto w = ct.getWeight().getType().getShape();
    return f > 1 && isPair(ct.getStride(), f) && isPair(ct.getPadding(), f / 2) &&
           isPair(ct.getOutputPadding(), 0) && !ct.getBias() &&
           static_cast<int64_t>(ct.getGroups()) == c && w[0] == c && w[1] == 1 &&
           w[2] == 2 * f && w[3] == 2 * f;
  }
};

struct DLAFuseDeformConvPass
    : mlir::dla::impl::DLAFuseDeformConvPassBase<DLAFuseDeformConvPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDCN, FuseRelu, FuseInputs>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
