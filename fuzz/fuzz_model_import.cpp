//===- fuzz_model_import.cpp - libFuzzer target: JSON -> dla IR -----------===//
//
// Arbitrary bytes -> parseModelSpec; a spec it accepts must import into
// structural dla IR that verifies, and dla-expand must turn that into
// primitive IR that verifies (ModelSpec.h: "whoever builds IR from a
// ModelSpec never needs to re-check it"). Inputs that do not parse are cheap,
// so the fuzzer spends most of its time in the frontend; the MLIR part only
// runs on the valid models it finds.
//
// Models are capped at 2^22 elements per activation (input.shape) so that
// one input does not take seconds to expand; limits::kMaxTensorElements
// itself is covered by fuzz_model_spec.
//
//===----------------------------------------------------------------------===//

#include "frontend/Importer.h"
#include "frontend/ModelSpec.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<::dla::frontend::Diagnostic> diags;
  auto spec = ::dla::frontend::parseModelSpec(text, "fuzz.json", diags);
  if (!spec)
    return 0;
  const auto &in = spec->input;
  if (in.batch * in.channels * in.height * in.width > (int64_t(1) << 22))
    return 0;

  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    r->insert<mlir::dla::DLADialect, func::FuncDialect>();
    return r;
  }();
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  std::string firstError;
  ScopedDiagnosticHandler capture(&context, [&](Diagnostic &d) {
    if (firstError.empty())
      firstError = d.str();
    return success();
  });

  OwningOpRef<ModuleOp> module = mlir::dla::importModel(*spec, &context, "fuzz.json");
  if (!module || failed(verify(*module))) {
    fprintf(stderr, "imported IR does not verify: %s\n", firstError.c_str());
    std::abort();
  }
  PassManager pm(&context);
  pm.enableVerifier(false);
  pm.addPass(mlir::dla::createDLAExpandPass());
  if (failed(pm.run(*module)) || failed(verify(*module))) {
    fprintf(stderr, "dla-expand failed on a valid model: %s\n",
            firstError.c_str());
    std::abort();
  }
  return 0;
}
