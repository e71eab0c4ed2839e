//===- FusedKernels.h - Reference semantics of the fused dla ops -*- C++ -*-===//
//
// Each fused op is *defined* as a composition of the primitive reference
// kernels (reference/Kernels.h), exactly as its ODS description states. The
// reference executor evaluates fused IR with these, which is what makes every
// fusion pass checkable against the unfused program.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_REFERENCE_FUSEDKERNELS_H
#define DLA_REFERENCE_FUSEDKERNELS_H

#include "reference/Kernels.h"

#include <utility>

namespace dla::ref {

/// dla.fold_batch_norm: (weight · s, (bias − mean) · s + beta) with
/// s = gamma / sqrt(var + eps), per output channel (dimension 0).
std::pair<Tensor, Tensor> foldBatchNorm(const Tensor &weight, const Tensor *bias,
                                        const Tensor &gamma, const Tensor &beta,
                                        const Tensor &mean, const Tensor &var,
                                        float eps);

/// dla.fused_conv: relu?(conv2d(cat(maxpool_i(x_i)), w, b) + residual?).
Tensor fusedConv(const std::vector<const Tensor *> &inputs,
                 const std::vector<int64_t> &pool, const Tensor &weight,
                 const Tensor *bias, const Tensor *residual, Size2 stride,
                 Size2 padding, Size2 dilation, int64_t groups, bool relu);

/// dla.fused_deform_conv: CenterNet's DeformConv on the sum of the addends,
/// each upsampled by its depthwise transposed conv when up[i] > 1.
Tensor fusedDeformConv(const std::vector<const Tensor *> &addends,
                       const std::vector<int64_t> &up,
                       const std::vector<const Tensor *> &upWeights,
                       const Tensor &offsetWeight, const Tensor &offsetBias,
                       const Tensor &weight, const Tensor &bias, bool relu);

} // namespace dla::ref

#endif // DLA_REFERENCE_FUSEDKERNELS_H
