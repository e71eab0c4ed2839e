//===- KernelInfo.h - Names and costs of the kernels of fused IR -*- C++ -*-===//
//
// Every op left in @forward after fusion is one kernel. These helpers name
// it after the module it comes from (the state-dict prefix of its main
// weight: `dla_up_ida_0_node_1_dcn`) and count its work, for the Graphviz
// view, the report and the generated code.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_KERNELINFO_H
#define DLA_CODEGEN_KERNELINFO_H

#include "mlir/IR/Operation.h"

#include <map>
#include <string>

namespace mlir::dla {

struct KernelCost {
  int64_t macs = 0;         // multiply-accumulates, as PyTorch counts them
  int64_t bytesRead = 0;    // activations and weights read once
  int64_t bytesWritten = 0; // results written
};

/// The module an op's main weight belongs to, as an identifier:
/// "base.level2.tree1.conv1.weight" → "base_level2_tree1_conv1"; DCNs end in
/// "_dcn" ("dla_up_ida_0_node_1_dcn"). Ops without weights are named after
/// their kind ("max_pool2d").
std::string kernelBaseName(Operation *op);

/// Unique kernel names for the ops of a function body: kernelBaseName, with
/// "_2", "_3", ... appended on collisions.
std::map<Operation *, std::string> kernelNames(Operation *function);

/// Work of one op (fused or primitive).
KernelCost kernelCost(Operation *op);

/// Is `op` a kernel (as opposed to a parameter read or a return)?
bool isKernel(Operation *op);

} // namespace mlir::dla

#endif // DLA_CODEGEN_KERNELINFO_H
