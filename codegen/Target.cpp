//===- Target.cpp - What each target's kernels implement ------------------===//

#include "codegen/Target.h"

#include "codegen/Codegen.h"

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
  return !target.hasCuda() || gpuKernelsImplement(form);
}

LogicalResult mlir::dla::hostTargetOf(ModuleOp module, HostTarget fallback,
                                      HostTarget &target) {
  target = fallback;
  if (auto t = TargetAttr::of(module)) {
    if (!t.hasHost())
      return module.emitError(
          "dla.target has no host part (cpu = \"\"): nothing to lower for the host");
    target = {t.getVectorWidth(), t.getRegisters()};
  }
  if (target.vectorWidth != 4 && target.vectorWidth != 8 && target.vectorWidth != 16)
    return module.emitError("vector width ") << target.vectorWidth << " is not 4, 8 or 16";
  return success();
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

bool mlir::dla::makeTarget(MLIRContext *ctx, bool host, const std::string &hostCpu,
                           const std::vector<std::string> &chips,
                           TargetAttr &target, std::string &err) {
  Builder b(ctx);
  std::string cpu;
  HostTarget shape{0, 0};
  SmallVector<Attribute> features, chipAttrs;
  if (host) {
    std::vector<std::string> names;
    if (!resolveHostCpu(hostCpu, cpu, shape, names, err))
      return false;
    for (const auto &f : names)
      features.push_back(b.getStringAttr(f));
  }
  for (const auto &chip : chips)
    chipAttrs.push_back(b.getStringAttr(chip));
  target = TargetAttr::get(ctx, cpu, shape.vectorWidth, shape.registers,
                           features.empty() ? ArrayAttr() : b.getArrayAttr(features),
                           chipAttrs.empty() ? ArrayAttr() : b.getArrayAttr(chipAttrs));
  return true;
}
