//===- Target.h - What each target's kernels implement ---------*- C++ -*-===//
//
// The one place that knows which fused forms have a kernel on which target.
// The fusion passes ask it before they form an op (so that a build never
// holds an op one of its targets cannot run), and the GPU lowering asks it
// to explain an op it has no kernel for.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_TARGET_H
#define DLA_CODEGEN_TARGET_H

#include "codegen/KernelGen.h"
#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::dla {

/// The fused forms not every target's kernels implement.
enum class FusedForm {
  /// fused_conv ... residual %x project %wp, %bp: only the CPU kernels.
  ProjectedResidual,
  /// fused_conv ... then %w2, %b2: only the CPU kernels.
  ConvTail,
};

/// Whether the CUDA kernels implement `form`; if not, `reason` says what the form
/// is and who forms it.
bool gpuKernelsImplement(FusedForm form, std::string *reason = nullptr);

/// Whether every part of a build for `target` has a kernel for `form`: the
/// legality of the fusion that forms it. A null target (a module without
/// `dla.target`, as in dla-opt tests) allows every form.
bool targetImplements(TargetAttr target, FusedForm form);

/// The target description of a build: a host part for `hostCpu` (an LLVM
/// CPU name; "native" or empty: this machine) with its SIMD shape and
/// features when `host`; a CUDA part for `chips` when not empty. Fails with
/// `err` for a CPU LLVM does not know.
bool makeTarget(MLIRContext *ctx, bool host, const std::string &hostCpu,
                const std::vector<std::string> &chips, TargetAttr &target, std::string &err);

/// The host CPU a pass builds for: the module's `dla.target` (an error on
/// the module when it has no host part), else `fallback` (the pass's
/// options).
LogicalResult hostTargetOf(ModuleOp module, HostTarget fallback, HostTarget &target);

/// The fused form of `op` that not every target implements, if any.
std::optional<FusedForm> restrictedForm(Operation *op);

} // namespace mlir::dla

#endif // DLA_CODEGEN_TARGET_H
