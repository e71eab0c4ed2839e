//===- DLAOps.h - The dla dialect -------------------------------*- C++ -*-===//

#ifndef DLA_DIALECTS_DLA_IR_DLAOPS_H
#define DLA_DIALECTS_DLA_IR_DLAOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/DLA/IR/DLADialect.h.inc"
#include "dialects/DLA/IR/DLAEnums.h.inc"

#define GET_OP_CLASSES
#include "dialects/DLA/IR/DLAOps.h.inc"

namespace mlir::dla {

/// Output extent of a convolution-like window along one axis:
/// ⌊(in + 2·pad − dil·(k − 1) − 1) / stride⌋ + 1, or a value ≤ 0 when the
/// window does not fit.
int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride,
                       int64_t pad, int64_t dilation);

} // namespace mlir::dla

#endif // DLA_DIALECTS_DLA_IR_DLAOPS_H
