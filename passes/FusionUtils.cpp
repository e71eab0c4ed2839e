//===- FusionUtils.cpp - Helpers shared by the fusion passes --------------===//

#include "passes/FusionUtils.h"

using namespace mlir;
using namespace mlir::dla;

FusedConvParts FusedConvParts::of(FusedConvOp op) {
  FusedConvParts p;
  p.inputs.assign(op.getInputs().begin(), op.getInputs().end());
  p.pool.assign(op.getPool().begin(), op.getPool().end());
  p.weight = op.getWeight();
  p.bias = op.getBias();
  p.residual = op.getResidual();
  p.residualWeight = op.getResidualWeight();
  p.residualBias = op.getResidualBias();
  p.residualPool = op.getResidualPool();
  p.tailWeight = op.getTailWeight();
  p.tailBias = op.getTailBias();
  p.stride.assign(op.getStride().begin(), op.getStride().end());
  p.padding.assign(op.getPadding().begin(), op.getPadding().end());
  p.dilation.assign(op.getDilation().begin(), op.getDilation().end());
  p.groups = op.getGroups();
  p.relu = op.getRelu();
  return p;
}

FusedConvParts FusedConvParts::of(Conv2dOp op) {
  FusedConvParts p;
  p.inputs = {op.getInput()};
  p.pool = {1};
  p.weight = op.getWeight();
  p.bias = op.getBias();
  p.stride.assign(op.getStride().begin(), op.getStride().end());
  p.padding.assign(op.getPadding().begin(), op.getPadding().end());
  p.dilation.assign(op.getDilation().begin(), op.getDilation().end());
  p.groups = op.getGroups();
  return p;
}

FusedConvOp FusedConvParts::create(PatternRewriter &rewriter, Location loc,
                                   Type type) const {
  return FusedConvOp::create(rewriter, loc, type, inputs, weight, bias, residual,
                             residualWeight, residualBias, pool, stride, padding,
                             dilation, groups, tailWeight, tailBias, relu, residualPool);
}

bool mlir::dla::isPlainPointwise(FusedConvOp op) {
  auto w = op.getWeight().getType().getShape();
  auto all = [](ArrayRef<int64_t> values, int64_t v) {
    return llvm::all_of(values, [&](int64_t x) { return x == v; });
  };
  return op.getInputs().size() == 1 && w[2] == 1 && w[3] == 1 && op.getGroups() == 1 &&
         op.getBias() && !op.getResidual() && !op.getRelu() && !op.getTailWeight() &&
         all(op.getStride(), 1) && all(op.getPadding(), 0) && all(op.getDilation(), 1);
}
