//===- FuseResidualProjection.cpp - dla-fuse-residual-projection ----------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "codegen/Target.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAFUSERESIDUALPROJECTIONPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// fused_conv(..., residual fused_conv(x pool q, Wp, bp)) →
/// fused_conv(..., residual x project Wp, bp pool q).
struct FuseProjection : CountingPattern<FusedConvOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(FusedConvOp conv,
                                PatternRewriter &rewriter) const override {
    auto k = conv.getWeight().getType().getShape();
    if (!conv.getResidual() || conv.getResidualWeight() || (k[2] == 1 && k[3] == 1))
      return rewriter.notifyMatchFailure(
          conv, "no plain residual, or a 1x1 conv (those keep their projection)");
    auto proj = conv.getResidual().getDefiningOp<FusedConvOp>();
    if (!proj || !proj->hasOneUse())
      return rewriter.notifyMatchFailure(conv, "the residual is not a single-use fused_conv");
    if (!isPlainPointwise(proj))
      return rewriter.notifyMatchFailure(
          conv, "the residual is not a plain 1x1 projection with a bias");
    FusedConvParts parts = FusedConvParts::of(conv);
    parts.residual = proj.getInputs().front();
    parts.residualWeight = proj.getWeight();
    parts.residualBias = proj.getBias();
    parts.residualPool = proj.getPool().front();
    rewriter.replaceOp(conv, parts.create(rewriter, conv.getLoc(), conv.getType()));
    rewriter.eraseOp(proj);
    ++counter;
    return success();
  }
};

struct DLAFuseResidualProjectionPass
    : mlir::dla::impl::DLAFuseResidualProjectionPassBase<DLAFuseResidualProjectionPass> {
  using Base::Base;
  void runOnOperation() override {
    // Formed only where every target of the build has a kernel for it.
    if (!targetImplements(TargetAttr::of(getOperation()), FusedForm::ProjectedResidual))
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseProjection>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
