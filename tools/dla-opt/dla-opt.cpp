//===- dla-opt.cpp - mlir-opt with the dla dialect and passes -------------===//

#include "dialects/DLA/IR/DLAOps.h"
#include "passes/Passes.h"
#include "codegen/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::dla::DLADialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllPasses();
  mlir::dla::registerDLAPasses();
  mlir::dla::registerDLACodegenPasses();
  mlir::dla::registerPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "dla optimizer driver\n", registry));
}
