//===- RunModel.h - A model run by the reference executor ------*- C++ -*-===//
//
// `dlac --run-reference`: a checkpoint and an input from safetensors files,
// the model's IR (primitive or fused) evaluated by the reference executor,
// the outputs written as safetensors.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_REFERENCE_RUNMODEL_H
#define DLA_REFERENCE_RUNMODEL_H

#include "reference/Executor.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::dla {

struct ReferenceRun {
  std::string weights; ///< the checkpoint (safetensors)
  std::string input;   ///< the input: a tensor 'input', or the file's only one
  std::string output;  ///< the outputs, named after @forward's results
  /// Accept NaN/Inf and negative variances in the checkpoint and the input.
  bool allowNonfinite = false;
};

/// Checks the checkpoint against the parameters `module` reads (warning, on
/// `notes`, of tensors that `expanded` — the faithful expansion — does not
/// accept either), evaluates `module` and writes the outputs. Fails with
/// `err` naming the file and the problem.
bool runReferenceModel(ModuleOp expanded, ModuleOp module, const ReferenceRun &run,
                       llvm::raw_ostream &notes, std::string &err);

} // namespace mlir::dla

#endif // DLA_REFERENCE_RUNMODEL_H
