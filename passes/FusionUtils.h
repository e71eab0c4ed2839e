//===- FusionUtils.h - Helpers shared by the fusion passes ------*- C++ -*-===//

#ifndef DLA_PASSES_FUSIONUTILS_H
#define DLA_PASSES_FUSIONUTILS_H

#include "dialects/DLA/IR/DLAOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/Statistic.h"

namespace mlir::dla {

/// A rewrite pattern that counts what it fuses in a pass statistic.
template <typename OpTy>
struct CountingPattern : OpRewritePattern<OpTy> {
  CountingPattern(MLIRContext *ctx, llvm::Statistic &counter)
      : OpRewritePattern<OpTy>(ctx), counter(counter) {}
  llvm::Statistic &counter;
};

/// The parts of a dla.fused_conv, to rebuild one with a change.
struct FusedConvParts {
  SmallVector<Value> inputs;
  SmallVector<int64_t> pool;
  Value weight, bias, residual;
  Value residualWeight, residualBias; ///< `project`
  int64_t residualPool = 1;
  Value tailWeight, tailBias; ///< `then`
  SmallVector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
  bool relu = false;

  static FusedConvParts of(FusedConvOp op);
  static FusedConvParts of(Conv2dOp op);
  FusedConvOp create(PatternRewriter &rewriter, Location loc, Type type) const;
};

/// A 1x1 conv of one (possibly pooled) input with a bias and nothing else:
/// groups 1, stride 1, no padding or dilation, no residual, ReLU or tail.
/// What dla-fuse-residual-projection and dla-fuse-conv-tail move into
/// their neighbour.
bool isPlainPointwise(FusedConvOp op);

} // namespace mlir::dla

#endif // DLA_PASSES_FUSIONUTILS_H
