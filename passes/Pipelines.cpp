//===- Pipelines.cpp - Named dla pipelines ---------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

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
  PassPipelineRegistration<>(
      "dla-fuse",
      "From primitive dla IR to fused ops and @init: fold BatchNorms, fuse "
      "DeformConvs, Root concats and conv epilogues, hoist parameter-only "
      "work into @init, store tensors in the model's precision",
      [](OpPassManager &pm) { buildFusionPipeline(pm); });
}

void mlir::dla::buildFusionPipeline(OpPassManager &pm, bool storagePrecision) {
  pm.addPass(createDLAFoldBatchNormPass());
  pm.addPass(createDLAFuseDeformConvPass());
  pm.addPass(createDLAFuseRootPass());
  pm.addPass(createDLAFuseConvEpiloguePass());
  // Both ask the module's dla.target whether its kernels implement them.
  pm.addPass(createDLAFuseResidualProjectionPass());
  pm.addPass(createDLAFuseConvTailPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDLAHoistInitPass());
  pm.addPass(createCanonicalizerPass());
  if (storagePrecision)
    pm.addPass(createDLAApplyPrecisionPass());
}
