//===- Passes.h - dla passes ------------------------------------*- C++ -*-===//

#ifndef DLA_PASSES_PASSES_H
#define DLA_PASSES_PASSES_H

#include "dialects/DLA/IR/DLAOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::dla {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Registers the named pipelines (see Pipelines.cpp).
void registerPipelines();

/// Options of the `dla-fuse` pipeline.
struct FusionOptions {
  /// Run dla-fuse-residual-projection (ops only the CPU kernels implement).
  bool projectResiduals = false;
  /// Run dla-fuse-conv-tail (ops only the CPU kernels implement).
  bool fuseTails = false;
};

/// Primitive IR → fused ops + @init (the `dla-fuse` pipeline).
void buildFusionPipeline(OpPassManager &pm, const FusionOptions &options = {});

} // namespace mlir::dla

#endif // DLA_PASSES_PASSES_H
