//===- FuseConvEpilogue.cpp - dla-fuse-conv-epilogue ----------------------===//

#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAFUSECONVEPILOGUEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// Every conv2d becomes a fused_conv, the form the other patterns extend.
struct ConvToFused : CountingPattern<Conv2dOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(Conv2dOp conv,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(conv, FusedConvParts::of(conv).create(rewriter, conv.getLoc(),
                                                             conv.getType()));
    return success();
  }
};

/// add(fused_conv, r) → fused_conv(..., residual r).
struct FuseResidualAdd : CountingPattern<AddOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (auto [mine, other] : {std::pair(add.getLhs(), add.getRhs()),
                               std::pair(add.getRhs(), add.getLhs())}) {
      auto conv = mine.getDefiningOp<FusedConvOp>();
      if (!conv || !conv->hasOneUse() || conv.getResidual() || conv.getRelu() ||
          mine == other)
        continue;
      FusedConvParts parts = FusedConvParts::of(conv);
      parts.residual = other;
      rewriter.replaceOp(add, parts.create(rewriter, conv.getLoc(), add.getType()));
      rewriter.eraseOp(conv);
      ++counter;
      return success();
    }
    return rewriter.notifyMatchFailure(
        add, "no operand is a single-use fused_conv without residual or ReLU");
  }
};

/// relu(fused_conv) → fused_conv(..., relu).
struct FuseRelu : CountingPattern<ReluOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(ReluOp relu,
                                PatternRewriter &rewriter) const override {
    auto conv = relu.getInput().getDefiningOp<FusedConvOp>();
    if (!conv || !conv->hasOneUse() || conv.getRelu())
      return rewriter.notifyMatchFailure(relu, "input is not a single-use fused_conv");
    FusedConvParts parts = FusedConvParts::of(conv);
    parts.relu = true;
    rewriter.replaceOp(relu, parts.create(rewriter, conv.getLoc(), relu.getType()));
    rewriter.eraseOp(conv);
    ++counter;
    return success();
  }
};

/// fused_conv(max_pool2d(x, k, stride k)) → fused_conv(x, pool k).
struct FusePoolPrologue : CountingPattern<FusedConvOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(FusedConvOp conv,
                                PatternRewriter &rewriter) const override {
    FusedConvParts parts = FusedConvParts::of(conv);
    bool changed = false;
    for (auto [input, pool] : llvm::zip(parts.inputs, parts.pool)) {
      auto mp = input.getDefiningOp<MaxPool2dOp>();
      if (!mp || pool != 1)
        continue;
      ArrayRef<int64_t> k = mp.getKernel(), s = mp.getStride(), p = mp.getPadding();
      auto in = mp.getInput().getType().getShape();
      if (k[0] != k[1] || s[0] != k[0] || s[1] != k[1] || p[0] || p[1] ||
          in[2] % k[0] || in[3] % k[0])
        continue;
      input = mp.getInput();
      pool = k[0];
      changed = true;
    }
    if (!changed)
      return rewriter.notifyMatchFailure(conv, "no input is a whole-window max-pool");
    rewriter.replaceOp(conv, parts.create(rewriter, conv.getLoc(), conv.getType()));
    ++counter;
    return success();
  }
};

struct DLAFuseConvEpiloguePass
    : mlir::dla::impl::DLAFuseConvEpiloguePassBase<DLAFuseConvEpiloguePass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ConvToFused, FuseResidualAdd, FuseRelu, FusePoolPrologue>(
        &getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
