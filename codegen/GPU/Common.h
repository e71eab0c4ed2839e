//===- Common.h - The GPU-shaped kernels -----------------------*- C++ -*-===//
//
// The kernels of codegen/GPU/: the SIMT convs (one thread per output pixel,
// a one-vector register tile per thread, operands staged in workgroup
// memory between barriers), the tensor-core convs and the barrier-free
// kernels of the other ops (docs/codegen.md). Internal to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_GPU_COMMON_H
#define DLA_CODEGEN_GPU_COMMON_H

#include "codegen/KernelBuilder.h"
#include "dialects/DLA/IR/DLAOps.h"

namespace mlir::dla::kernelgen {

/// Output tile of TH x TW pixels (one per thread) and up to kMaxOCT output
/// channels (a vector register tile per thread); input channels in chunks of
/// CT whose weights and input patch are staged in workgroup memory.
constexpr int64_t TH = 8, TW = 8, CT = 8, kMaxOCT = 16;

/// A fused_conv kernel's buffers: inputs..., weight, [bias], [residual],
/// result (their memref types appended to `k.argTypes`), and where each is.
struct ConvBuffers {
  int64_t numInputs, weight, bias = -1, residual = -1, out;
  ConvBuffers(FusedConvOp op, KernelIR &k) {
    numInputs = static_cast<int64_t>(op.getInputs().size());
    for (Value v : op->getOperands())
      k.argTypes.push_back(memrefType(v));
    k.argTypes.push_back(memrefType(op.getResult()));
    weight = numInputs;
    int64_t next = numInputs + 1;
    if (op.getBias())
      bias = next++;
    if (op.getResidual())
      residual = next++;
    out = next;
  }
  /// The epilogue of output channel `o` at (oy, ox) of image bz: bias,
  /// residual, ReLU on the accumulator `v`, stored once.
  void store(KernelBuilder &e, FusedConvOp op, Value v, Value o, Value oy, Value ox) const {
    if (bias >= 0)
      v = e.addf(v, e.load(e.arg(bias), {o}));
    if (residual >= 0)
      v = e.addf(v, e.load(e.arg(residual), {e.bz(), o, oy, ox}));
    if (op.getRelu())
      v = e.maxf(v, e.f32(0));
    e.store(v, e.arg(out), {e.bz(), o, oy, ox});
  }
};

/// Channel `c` of the concatenation of `op`'s inputs (the Root's several
/// inputs; the concat is never stored), max-pooled as `op` says, at
/// position (iy, ix) of the conv's input in image `n`; the position must be
/// inside the input. The inputs are the kernel's first buffers.
Value readConvInput(KernelBuilder &e, FusedConvOp op, Value n, Value c, Value iy, Value ix);

bool genFusedConv(FusedConvOp op, const KernelPlace &place, KernelIR &k, std::string &error);
/// The tensor-core kernel of a fused_conv (codegen/GPU/TensorCoreConv.cpp):
/// whether it applies (else why not, in `why`), and the kernel.
bool tensorCoreConvApplies(FusedConvOp op, const KernelPlace &place, std::string &why);
bool genTensorCoreConv(FusedConvOp op, const KernelPlace &place, KernelIR &k, std::string &error);
bool genFusedDeformConv(FusedDeformConvOp op, const KernelPlace &place, KernelIR &k);

} // namespace mlir::dla::kernelgen

#endif // DLA_CODEGEN_GPU_COMMON_H
