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

#include <functional>
#include <map>
#include <string>

namespace mlir::dla {

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
};

/// The dla.param ops of `func` in program order, each name once.
std::vector<ParamInfo> collectParams(func::FuncOp func);

/// Returns the tensor stored under a parameter name, or null when absent.
using ParamSource = std::function<const ::dla::ref::Tensor *(const std::string &)>;

/// Runs `func` (primitive dla ops, func.return) on `inputs`. On failure
/// returns false and sets `error` to a message naming the op and its location.
bool evaluate(func::FuncOp func, const std::vector<::dla::ref::Tensor> &inputs,
              const ParamSource &params, std::vector<::dla::ref::Tensor> &outputs,
              std::string &error);

} // namespace mlir::dla

#endif // DLA_REFERENCE_EXECUTOR_H
