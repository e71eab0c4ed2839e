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

#include <optional>

#include "dialects/DLA/IR/DLADialect.h.inc"
#include "dialects/DLA/IR/DLAEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/DLA/IR/DLAAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/DLA/IR/DLAOps.h.inc"

namespace mlir::dla {

/// The entry points of a compiled model: @init runs once on the parameters
/// (BatchNorm folding, ...), @forward once per inference.
inline constexpr llvm::StringLiteral kInitFunction = "init";
inline constexpr llvm::StringLiteral kForwardFunction = "forward";
/// Argument/result attribute holding a tensor's user-facing name (model
/// inputs and outputs, @init's prepared tensors).
inline constexpr llvm::StringLiteral kNameAttr = "dla.name";
/// Module attribute: the model's precision, "f32", "f16" or "bf16" (the
/// JSON's `precision`, or dlac --precision). dla-apply-precision gives the
/// fused IR's tensors their storage type from it; absent means "f32".
inline constexpr llvm::StringLiteral kPrecisionAttr = "dla.precision";

/// Output extent of a convolution-like window along one axis:
/// ⌊(in + 2·pad − dil·(k − 1) − 1) / stride⌋ + 1, or a value ≤ 0 when the
/// window does not fit.
int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride,
                       int64_t pad, int64_t dilation);

/// The same, with every step checked for signed 64-bit overflow (hostile
/// attribute values such as a padding of 2^63 - 1): std::nullopt when an
/// intermediate value does not fit. convOutputSize returns 0 then.
std::optional<int64_t> checkedConvOutputSize(int64_t in, int64_t kernel,
                                             int64_t stride, int64_t pad,
                                             int64_t dilation);

} // namespace mlir::dla

#endif // DLA_DIALECTS_DLA_IR_DLAOPS_H
