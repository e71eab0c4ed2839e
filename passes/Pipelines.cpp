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
}
