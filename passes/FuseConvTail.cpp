//===- FuseConvTail.cpp - dla-fuse-conv-tail ------------------------------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "codegen/Target.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAFUSECONVTAILPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// fused_conv(fused_conv(x, W1, b1, relu), W2, b2) with a narrow 1x1 second
/// conv → fused_conv(x, W1, b1, relu then W2, b2).
struct FuseTail : CountingPattern<FusedConvOp> {
  FuseTail(MLIRContext *ctx, llvm::Statistic &counter, int64_t maxChannels)
      : CountingPattern(ctx, counter), maxChannels(maxChannels) {}
  int64_t maxChannels;

  LogicalResult matchAndRewrite(FusedConvOp tail,
                                PatternRewriter &rewriter) const override {
    if (!isPlainPointwise(tail) || tail.getPool().front() != 1 ||
        tail.getWeight().getType().getDimSize(0) > maxChannels)
      return rewriter.notifyMatchFailure(
          tail, "not a plain 1x1 conv with a bias and few output channels");
    auto conv = tail.getInputs().front().getDefiningOp<FusedConvOp>();
    if (!conv || !conv->hasOneUse())
      return rewriter.notifyMatchFailure(tail, "the input is not a single-use fused_conv");
    auto k = conv.getWeight().getType().getShape();
    if ((k[2] == 1 && k[3] == 1) || conv.getGroups() != 1 || conv.getResidual() ||
        conv.getTailWeight())
      return rewriter.notifyMatchFailure(
          tail, "the conv before is 1x1, grouped, or has a residual or a tail");
    FusedConvParts parts = FusedConvParts::of(conv);
    parts.tailWeight = tail.getWeight();
    parts.tailBias = tail.getBias();
    rewriter.replaceOp(tail, parts.create(rewriter, conv.getLoc(), tail.getType()));
    rewriter.eraseOp(conv);
    ++counter;
    return success();
  }
};

struct DLAFuseConvTailPass
    : mlir::dla::impl::DLAFuseConvTailPassBase<DLAFuseConvTailPass> {
  using Base::Base;
  void runOnOperation() override {
    // Formed only where every target of the build has a kernel for it.
    if (!targetImplements(TargetAttr::of(getOperation()), FusedForm::ConvTail))
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseTail>(&getContext(), numFused, maxChannels);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
