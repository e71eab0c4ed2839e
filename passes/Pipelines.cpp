//===- Pipelines.cpp - Named dla pipelines ---------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
struct FusePipelineOptions : PassPipelineOptions<FusePipelineOptions> {
  Option<bool> projectResiduals{
      *this, "project-residuals",
      llvm::cl::desc("Fuse a Tree's projected residual into the conv that adds it "
                     "(dla-fuse-residual-projection; CPU kernels only)"),
      llvm::cl::init(false)};
  Option<bool> fuseTails{
      *this, "fuse-tails",
      llvm::cl::desc("Fuse a narrow 1x1 conv into the conv before it "
                     "(dla-fuse-conv-tail; CPU kernels only)"),
      llvm::cl::init(false)};
};
} // namespace

void mlir::dla::registerPipelines() {
  PassPipelineRegistration<>(
      "dla-to-primitive",
      "Expand structural dla ops and clean up (dla-expand, canonicalize, cse): "
      "the form the reference executor runs",
      [](OpPassManager &pm) {
        pm.addPass(createDLAExpandPass());
        pm.addPass(createCanonicalizerPass());
        pm.addPass(createCSEPass());
      });
  PassPipelineRegistration<FusePipelineOptions>(
      "dla-fuse",
      "From primitive dla IR to fused ops and @init: fold BatchNorms, fuse "
      "DeformConvs, Root concats and conv epilogues, hoist parameter-only "
      "work into @init",
      [](OpPassManager &pm, const FusePipelineOptions &o) {
        FusionOptions options;
        options.projectResiduals = o.projectResiduals;
        options.fuseTails = o.fuseTails;
        buildFusionPipeline(pm, options);
      });
}

void mlir::dla::buildFusionPipeline(OpPassManager &pm, const FusionOptions &options) {
  pm.addPass(createDLAFoldBatchNormPass());
  pm.addPass(createDLAFuseDeformConvPass());
  pm.addPass(createDLAFuseRootPass());
  pm.addPass(createDLAFuseConvEpiloguePass());
  if (options.projectResiduals)
    pm.addPass(createDLAFuseResidualProjectionPass());
  if (options.fuseTails)
    pm.addPass(createDLAFuseConvTailPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDLAHoistInitPass());
  pm.addPass(createCanonicalizerPass());
}
