//===- NetBuilder.h - PyTorch modules of DLA as primitive dla ops -*- C++ -*-===//
//
// One method per module of the seed's PyTorch code (BasicBlock, Bottleneck,
// BottleneckX, Root, Tree, DeformConv, IDAUp, DLAUp, heads), emitting the
// primitive ops it executes and one dla.param per state-dict entry. Kept apart
// from the pass so that the recipe reads like the Python it mirrors.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_PASSES_NETBUILDER_H
#define DLA_PASSES_NETBUILDER_H

#include "dialects/DLA/IR/DLAOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::dla {

struct TreeConfig {
  int64_t levels;
  BlockKind block;
  int64_t inChannels, outChannels, stride;
  bool levelRoot;
  int64_t rootKernel, dilation;
  bool rootResidual;
  int64_t cardinality;
};

class NetBuilder {
public:
  explicit NetBuilder(ImplicitLocOpBuilder &b) : b(b) {}

  // Building blocks.
  Value param(const std::string &name, ArrayRef<int64_t> shape, Type elt);
  Value conv(Value x, const std::string &prefix, int64_t out, int64_t kernel,
             int64_t stride, int64_t pad, int64_t dilation, int64_t groups,
             bool bias);
  Value batchNorm(Value x, const std::string &prefix);
  Value relu(Value x);
  /// conv (no bias) → BN → ReLU, the unit of the stem and the conv levels.
  Value convBnRelu(Value x, const std::string &convPrefix,
                   const std::string &bnPrefix, int64_t out, int64_t kernel,
                   int64_t stride, int64_t pad, int64_t dilation);

  // Modules.
  Value baseLayer(Value x, const std::string &prefix, int64_t out, int64_t kernel);
  Value convLevel(Value x, const std::string &prefix, int64_t out, int64_t convs,
                  int64_t stride, int64_t dilation);
  Value block(BlockKind kind, Value x, Value residual, const std::string &prefix,
              int64_t out, int64_t stride, int64_t dilation, int64_t cardinality);
  Value root(ArrayRef<Value> children, const std::string &prefix, int64_t out,
             bool residual);
  Value tree(Value x, SmallVectorImpl<Value> &children, const std::string &prefix,
             const TreeConfig &config);
  Value deformConv(Value x, const std::string &prefix, int64_t out);
  /// IDAUp.forward(layers, startp, endp), rewriting `layers` in place.
  void idaUp(SmallVectorImpl<Value> &layers, int64_t startp, int64_t endp,
             const std::string &prefix, int64_t out);
  /// DLAUp.forward(layers): the list `out`, finest level first.
  SmallVector<Value> dlaUp(SmallVector<Value> layers, int64_t startp,
                           const std::string &prefix);
  Value head(Value x, const std::string &prefix, int64_t headConv,
             int64_t finalKernel, int64_t classes);
  Value classifier(Value x, const std::string &prefix, int64_t pool,
                   int64_t classes);

  int64_t numParams() const { return params; }

private:
  ImplicitLocOpBuilder &b;
  int64_t params = 0;
};

/// Channels and height of an NCHW value.
int64_t channelsOf(Value v);
int64_t heightOf(Value v);

} // namespace mlir::dla

#endif // DLA_PASSES_NETBUILDER_H
