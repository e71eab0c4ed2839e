//===- Expand.cpp - dla-expand: structural ops to primitive ops -----------===//

#include "passes/NetBuilder.h"
#include "passes/Passes.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAEXPANDPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// Emits the primitive form of one structural op and returns its results.
SmallVector<Value> expand(Operation *op, NetBuilder &net) {
  if (auto base = dyn_cast<BaseLayerOp>(op))
    return {net.baseLayer(base.getInput(), base.getPrefix().str(),
                          base.getOutChannels(), base.getKernelSize())};
  if (auto level = dyn_cast<ConvLevelOp>(op))
    return {net.convLevel(level.getInput(), level.getPrefix().str(),
                          level.getOutChannels(), level.getConvs(),
                          level.getStride(), level.getDilation())};
  if (auto tree = dyn_cast<TreeOp>(op)) {
    TreeConfig config{static_cast<int64_t>(tree.getLevels()),
                      tree.getBlock(),
                      channelsOf(tree.getInput()),
                      static_cast<int64_t>(tree.getOutChannels()),
                      static_cast<int64_t>(tree.getStride()),
                      tree.getLevelRoot(),
                      static_cast<int64_t>(tree.getRootKernelSize()),
                      static_cast<int64_t>(tree.getDilation()),
                      tree.getRootResidual(),
                      static_cast<int64_t>(tree.getCardinality())};
    SmallVector<Value> children;
    return {net.tree(tree.getInput(), children, tree.getPrefix().str(), config)};
  }
  if (auto up = dyn_cast<DLAUpOp>(op))
    return net.dlaUp(SmallVector<Value>(up.getLevels()), up.getStartLevel(),
                     up.getPrefix().str());
  if (auto ida = dyn_cast<IDAUpOp>(op)) {
    SmallVector<Value> layers(ida.getLayers());
    net.idaUp(layers, 0, layers.size(), ida.getPrefix().str(),
              ida.getOutChannels());
    return {layers.back()};
  }
  if (auto head = dyn_cast<HeadOp>(op))
    return {net.head(head.getInput(), head.getPrefix().str(), head.getHeadConv(),
                     head.getFinalKernel(), head.getClasses())};
  if (auto cls = dyn_cast<ClassifierOp>(op))
    return {net.classifier(cls.getInput(), cls.getPrefix().str(),
                           cls.getPoolSize(), cls.getClasses())};
  return {};
}

struct DLAExpandPass : mlir::dla::impl::DLAExpandPassBase<DLAExpandPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> structural;
    getOperation()->walk([&](Operation *op) {
      if (isa<BaseLayerOp, ConvLevelOp, TreeOp, DLAUpOp, IDAUpOp, HeadOp,
              ClassifierOp>(op))
        structural.push_back(op);
    });
    for (Operation *op : structural) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      NetBuilder net(b);
      SmallVector<Value> results = expand(op, net);
      for (auto [from, to] : llvm::zip_equal(op->getResults(), results)) {
        if (from.getType() != to.getType()) {
          op->emitOpError("expands to ")
              << to.getType() << " but declares " << from.getType();
          return signalPassFailure();
        }
        from.replaceAllUsesWith(to);
      }
      op->erase();
      ++numExpanded;
      numParams += net.numParams();
    }
  }
};
} // namespace
