//===- Importer.h - ModelSpec → structural dla IR ---------------*- C++ -*-===//

#ifndef DLA_FRONTEND_IMPORTER_H
#define DLA_FRONTEND_IMPORTER_H

#include "frontend/ModelSpec.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::dla {

/// Builds a module with `func.func @forward` whose body is the model as
/// structural dla ops, one per JSON construct, each located at the JSON path
/// it came from. Input and output tensors are named with `dla.name`.
OwningOpRef<ModuleOp> importModel(const ::dla::frontend::ModelSpec &spec,
                                  MLIRContext *context,
                                  llvm::StringRef filename);

} // namespace mlir::dla

#endif // DLA_FRONTEND_IMPORTER_H
