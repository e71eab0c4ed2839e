//===- fuzz_dla_parser.cpp - libFuzzer target for dla IR parsing ----------===//
//
// Arbitrary bytes -> MLIR parser with the dla, func and arith dialects ->
// verifier; IR that verifies is then canonicalized (dla folds and patterns)
// and run through dla-expand, each followed by the verifier. No input may
// crash any of them.
//
// Only dlac's own code is instrumented for coverage: Debian's libMLIR.so is
// not, so the fuzzer is guided by the dla dialect's parsers, verifiers,
// folders and the expansion.
//
//===----------------------------------------------------------------------===//

#include "dialects/DLA/IR/DLAOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstdint>
#include <cstdlib>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    r->insert<dla::DLADialect, func::FuncDialect, arith::ArithDialect>();
    return r;
  }();
  // A fresh context per input: the uniqued types and attributes of millions
  // of inputs would otherwise accumulate.
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });

  // MLIR's lexer relies on the NUL that llvm::MemoryBuffer puts after every
  // file it reads (dla-opt's case); std::string provides the same.
  std::string text(reinterpret_cast<const char *>(data), size);
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module || failed(verify(*module)))
    return 0;

  // The passes' own verifier is off: IR a pass breaks must abort below, not
  // read as a failed run.
  PassManager canonicalize(&context);
  canonicalize.enableVerifier(false);
  canonicalize.addPass(createCanonicalizerPass());
  if (failed(canonicalize.run(*module)))
    return 0;
  if (failed(verify(*module)))
    std::abort(); // Canonicalization broke valid IR.

  PassManager expand(&context);
  expand.enableVerifier(false);
  expand.addPass(dla::createDLAExpandPass());
  if (failed(expand.run(*module)))
    return 0;
  if (failed(verify(*module)))
    std::abort(); // dla-expand produced invalid IR without failing.
  return 0;
}
