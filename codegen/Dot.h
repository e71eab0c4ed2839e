//===- Dot.h - Graphviz view of a compiled network --------------*- C++ -*-===//

#ifndef DLA_CODEGEN_DOT_H
#define DLA_CODEGEN_DOT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::dla {

/// Writes @forward as a Graphviz digraph: one box per kernel (fused op),
/// labelled with its kernel name, what it computes and its GFLOP; one edge
/// per activation, labelled with its shape; the model's inputs and outputs
/// as ovals. Parameters are not drawn.
void emitDot(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::dla

#endif // DLA_CODEGEN_DOT_H
