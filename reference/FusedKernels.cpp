//===- FusedKernels.cpp - Reference semantics of the fused dla ops --------===//

#include "reference/FusedKernels.h"

#include <cmath>
#include <stdexcept>

namespace dla::ref {

std::pair<Tensor, Tensor> foldBatchNorm(const Tensor &weight, const Tensor *bias,
                                        const Tensor &gamma, const Tensor &beta,
                                        const Tensor &mean, const Tensor &var,
                                        float eps) {
  int64_t out = weight.dim(0);
  for (const Tensor *t : {bias, &gamma, &beta, &mean, &var})
    if (t && (t->rank() != 1 || t->dim(0) != out))
      throw std::invalid_argument("dla::ref::foldBatchNorm: per-channel tensor " +
                                  t->shapeString() + " does not match weight " +
                                  weight.shapeString());
  Tensor w = weight, b({out});
  int64_t perChannel = out ? weight.numel() / out : 0;
  for (int64_t o = 0; o < out; ++o) {
    float s = gamma.data[o] / std::sqrt(var.data[o] + eps);
    for (int64_t i = 0; i < perChannel; ++i)
      w.data[o * perChannel + i] *= s;
    b.data[o] = ((bias ? bias->data[o] : 0.0f) - mean.data[o]) * s + beta.data[o];
  }
  return {std::move(w), std::move(b)};
}

Tensor fusedConv(const std::vector<const Tensor *> &inputs,
                 const std::vector<int64_t> &pool, const Tensor &weight,
                 const Tensor *bias, const Tensor *residual, Size2 stride,
                 Size2 padding, Size2 dilation, int64_t groups, bool relu) {
  if (inputs.empty() || pool.size() != inputs.size())
    throw std::invalid_argument("dla::ref::fusedConv: need one pool factor per input");
  std::vector<Tensor> pooled;
  for (size_t i = 0; i < inputs.size(); ++i)
    pooled.push_back(pool[i] > 1 ? maxPool2d(*inputs[i], pool[i], pool[i])
                                 : *inputs[i]);
  Tensor y = conv2d(concat(pooled), weight, bias, stride, padding, dilation, groups);
  if (residual)
    y = add(y, *residual);
  return relu ? ref::relu(y) : y;
}

Tensor fusedDeformConv(const std::vector<const Tensor *> &addends,
                       const std::vector<int64_t> &up,
                       const std::vector<const Tensor *> &upWeights,
                       const Tensor &offsetWeight, const Tensor &offsetBias,
                       const Tensor &weight, const Tensor &bias, bool relu) {
  if (addends.empty() || up.size() != addends.size())
    throw std::invalid_argument(
        "dla::ref::fusedDeformConv: need one up factor per addend");
  Tensor x;
  size_t nextWeight = 0;
  for (size_t i = 0; i < addends.size(); ++i) {
    Tensor a = *addends[i];
    if (up[i] > 1) {
      if (nextWeight >= upWeights.size())
        throw std::invalid_argument("dla::ref::fusedDeformConv: missing up weight");
      a = convTranspose2d(a, *upWeights[nextWeight++], nullptr, up[i], up[i] / 2,
                          0, a.dim(1));
    }
    x = i == 0 ? std::move(a) : add(x, a);
  }
  Tensor om = conv2d(x, offsetWeight, &offsetBias, 1, 1, 1, 1);
  Tensor offset = sliceChannels(om, 0, 18);
  Tensor mask = sigmoid(sliceChannels(om, 18, 9));
  Tensor y = deformConv2d(x, offset, &mask, weight, &bias, 1, 1, 1, 1, 1);
  return relu ? ref::relu(y) : y;
}

} // namespace dla::ref
