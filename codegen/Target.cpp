//===- Target.cpp - What each target's kernels implement ------------------===//

#include "codegen/Target.h"

using namespace mlir;
using namespace mlir::dla;

bool mlir::dla::gpuKernelsImplement(FusedForm form, std::string *reason) {
  if (reason)
    *reason = form == FusedForm::ProjectedResidual
                  ? "a projected residual (`project`, formed by "
                    "dla-fuse-residual-projection for --target host)"
                  : "a tail conv (`then`, formed by dla-fuse-conv-tail for --target host)";
  return false;
}

bool mlir::dla::targetImplements(TargetAttr target, FusedForm form) {
  if (!target)
    return true;
  bool onGpu = target.hasCuda() || (target.hasHost() && !target.getCpuKernels());
  return !onGpu || gpuKernelsImplement(form);
}

std::optional<FusedForm> mlir::dla::restrictedForm(Operation *op) {
  auto conv = dyn_cast<FusedConvOp>(op);
  if (!conv)
    return std::nullopt;
  if (conv.getResidualWeight())
    return FusedForm::ProjectedResidual;
  if (conv.getTailWeight())
    return FusedForm::ConvTail;
  return std::nullopt;
}
