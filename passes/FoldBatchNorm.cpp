//===- FoldBatchNorm.cpp - dla-fold-batch-norm ----------------------------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAFOLDBATCHNORMPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// batch_norm(conv(x, w, b)) → conv(x, w', b'), with the fold as a separate,
/// parameter-only op.
template <typename ConvOp>
struct FoldIntoConv : CountingPattern<BatchNormOp> {
  using CountingPattern<BatchNormOp>::CountingPattern;

  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    auto conv = bn.getInput().getDefiningOp<ConvOp>();
    if (!conv)
      return rewriter.notifyMatchFailure(bn, "input is not this conv kind");
    if (!conv->hasOneUse())
      return rewriter.notifyMatchFailure(bn, "conv result has other users");
    // The BN's parameters may be defined after the conv: fold right before
    // the BN and move the conv (its only user is the BN) after the fold.
    rewriter.setInsertionPoint(bn);
    auto fold = FoldBatchNormOp::create(
        rewriter, bn.getLoc(), conv.getWeight().getType(), bn.getWeight().getType(),
        conv.getWeight(), conv.getBias(), bn.getWeight(), bn.getBias(),
        bn.getMean(), bn.getVar(), bn.getEpsilonAttr());
    rewriter.moveOpBefore(conv, bn);
    rewriter.modifyOpInPlace(conv, [&] {
      conv.getWeightMutable().assign(fold.getNewWeight());
      if (conv.getBias())
        conv.getBiasMutable().assign(fold.getNewBias());
      else
        conv.getBiasMutable().append(fold.getNewBias());
    });
    rewriter.replaceOp(bn, conv.getResult());
    ++this->counter;
    return success();
  }
};

struct DLAFoldBatchNormPass
    : mlir::dla::impl::DLAFoldBatchNormPassBase<DLAFoldBatchNormPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntoConv<Conv2dOp>, FoldIntoConv<DeformConv2dOp>>(
        &getContext(), numFolded);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
