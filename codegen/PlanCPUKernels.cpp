//===- PlanCPUKernels.cpp - dla-choose-cpu-tiles, dla-pack-weights --------===//
//
// The decisions of the CPU kernels, made in IR before they are built: each
// kernel's tile (`dla.tile`, codegen/CPU/Tiles.cpp chooses it) and the
// packed layout of the folded weights they read (`#dla.host_layout` on the
// weight's tensor type, which follows from the tiles). `--emit=kernel` and
// `--mlir-print-ir-after` show both; dla-lower-to-cpu-kernels builds what
// they say.
//
//===----------------------------------------------------------------------===//

#include "codegen/Codegen.h"
#include "codegen/Passes.h"
#include "codegen/Target.h"

#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>
#include <set>

namespace mlir::dla {
#define GEN_PASS_DEF_DLACHOOSECPUTILESPASS
#define GEN_PASS_DEF_DLAPACKWEIGHTSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {

struct ChooseCPUTiles
    : public mlir::dla::impl::DLAChooseCPUTilesPassBase<ChooseCPUTiles> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    HostTarget target;
    if (failed(hostTargetOf(module, {vectorWidth, registers}, target)))
      return signalPassFailure();
    auto func = module.lookupSymbol<func::FuncOp>(kForwardFunction);
    if (!func)
      return;
    func.walk([&](Operation *op) {
      if (!isa<FusedConvOp, FusedDeformConvOp>(op))
        return;
      if (op->hasAttr(CpuTileAttr::kAttrName)) {
        ++numKept;
        return;
      }
      if (auto tile = chooseCpuTile(op, target)) {
        op->setAttr(CpuTileAttr::kAttrName, tile);
        ++numChosen;
      }
    });
  }
};

/// `v`'s tensor type with `encoding` (null: none).
void setEncoding(Value v, Attribute encoding) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  v.setType(RankedTensorType::get(type.getShape(), type.getElementType(), encoding));
}

struct PackWeights : public mlir::dla::impl::DLAPackWeightsPassBase<PackWeights> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto init = module.lookupSymbol<func::FuncOp>(kInitFunction);
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
    if (!init || !forward)
      return;
    // Start from the logical layouts.
    init.walk([](FoldBatchNormOp fold) {
      if (hostLayoutOf(fold.getNewWeight()))
        setEncoding(fold.getNewWeight(), nullptr);
    });
    // The layout every reader of a prepared weight takes; null: at least one
    // reads the logical layout (or they disagree).
    std::map<std::string, HostLayoutAttr> layout;
    std::vector<PreparedOp> prepared;
    forward.walk([&](PreparedOp p) {
      if (hostLayoutOf(p.getResult()))
        setEncoding(p.getResult(), nullptr);
      prepared.push_back(p);
      std::string name = p.getName().str();
      auto [it, fresh] = layout.emplace(name, HostLayoutAttr());
      bool first = fresh;
      for (Operation *user : p->getUsers()) {
        HostLayoutAttr l = hostLayoutFor(user, p.getResult());
        if (first)
          it->second = l;
        else if (it->second != l)
          it->second = nullptr;
        first = false;
      }
    });
    // @init's folded weights that only its return reads.
    std::set<std::string> packed;
    auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      auto name = init.getResultAttrOfType<StringAttr>(i, kNameAttr);
      auto fold = v.getDefiningOp<FoldBatchNormOp>();
      if (!name || !fold || v != fold.getNewWeight() || !v.hasOneUse() ||
          fold.getWeight().getType().getRank() != 4)
        continue;
      auto it = layout.find(name.str());
      if (it == layout.end() || !it->second)
        continue;
      setEncoding(v, it->second);
      packed.insert(name.str());
      ++numPacked;
    }
    init.setType(FunctionType::get(&getContext(), init.getArgumentTypes(),
                                   ret.getOperandTypes()));
    for (PreparedOp p : prepared)
      if (packed.count(p.getName().str()))
        setEncoding(p.getResult(), layout[p.getName().str()]);
    // A reduced-precision parameter that CPU kernels read is kept widened
    // too: the runtime rounds it to its element type, then stores f32.
    Type f32 = Float32Type::get(&getContext());
    forward.walk([&](ParamOp p) {
      auto type = p.getType();
      setEncoding(p.getResult(), nullptr);
      if (!hostWidenedStorage(p.getResult()) || p->use_empty() ||
          !llvm::all_of(p->getUsers(),
                        [](Operation *u) { return u->hasAttr(CpuTileAttr::kAttrName); }))
        return;
      setEncoding(p.getResult(), HostLayoutAttr::get(&getContext(), 0, false, f32));
      ++numPacked;
    });
  }
};

} // namespace
