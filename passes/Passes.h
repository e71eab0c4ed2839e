//===- Passes.h - dla passes ------------------------------------*- C++ -*-===//

#ifndef DLA_PASSES_PASSES_H
#define DLA_PASSES_PASSES_H

#include "dialects/DLA/IR/DLAOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::dla {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Registers the named pipelines (see Pipelines.cpp).
void registerPipelines();

/// Primitive IR → fused ops + @init (the `dla-fuse` pipeline).
/// The fusions that depend on the target (dla-fuse-residual-projection,
/// dla-fuse-conv-tail) ask the module's `dla.target`; without one they run.
/// Ends with dla-apply-precision unless `storagePrecision` is false (the
/// reference executor runs the fused program in f32).
void buildFusionPipeline(OpPassManager &pm, bool storagePrecision = true);

/// The storage type of the module's `dla.precision` (f32 when absent), or a
/// null Type and `err` naming the attribute's bad value.
Type storageType(ModuleOp module, std::string &err);

} // namespace mlir::dla

#endif // DLA_PASSES_PASSES_H
