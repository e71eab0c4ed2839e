//===- FuseRoot.cpp - dla-fuse-root ---------------------------------------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAFUSEROOTPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// conv2d(concat(x1..xk)) → fused_conv(x1..xk): the Root reads its children.
struct FuseConcatIntoConv : CountingPattern<Conv2dOp> {
  using CountingPattern::CountingPattern;

  LogicalResult matchAndRewrite(Conv2dOp conv,
                                PatternRewriter &rewriter) const override {
    auto concat = conv.getInput().getDefiningOp<ConcatOp>();
    if (!concat)
      return rewriter.notifyMatchFailure(conv, "input is not a concat");
    if (!concat->hasOneUse())
      return rewriter.notifyMatchFailure(conv, "concat has other users");
    FusedConvParts parts = FusedConvParts::of(conv);
    parts.inputs.assign(concat.getInputs().begin(), concat.getInputs().end());
    parts.pool.assign(parts.inputs.size(), 1);
    rewriter.replaceOp(conv, parts.create(rewriter, conv.getLoc(), conv.getType()));
    ++counter;
    return success();
  }
};

struct DLAFuseRootPass : mlir::dla::impl::DLAFuseRootPassBase<DLAFuseRootPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseConcatIntoConv>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
