//===- Executor.h - Reference executor of primitive dla IR ------*- C++ -*-===//
//
// The oracle of dlac: evaluates a function of primitive dla ops op by op with
// the plain loops of reference/Kernels.h. No fusion, no tiling; every later
// stage of the compiler is checked against it.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_REFERENCE_EXECUTOR_H
#define DLA_REFERENCE_EXECUTOR_H

#include "reference/Kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <map>
#include <string>

namespace mlir::dla {

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
};

/// The dla.param ops under `root` (a function or a module) in program order,
/// each name once.
std::vector<ParamInfo> collectParams(Operation *root);

/// Returns the tensor stored under a parameter name, or null when absent.
using ParamSource = std::function<const ::dla::ref::Tensor *(const std::string &)>;

/// Runs the module's `@init` (when present) and then `@forward` on `inputs`;
/// both may hold primitive and fused dla ops. On failure returns false and
/// sets `error` to a message naming the op and its location.
bool evaluate(ModuleOp module, const std::vector<::dla::ref::Tensor> &inputs,
              const ParamSource &params, std::vector<::dla::ref::Tensor> &outputs,
              std::string &error);

} // namespace mlir::dla

#endif // DLA_REFERENCE_EXECUTOR_H
