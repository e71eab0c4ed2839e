//===- HoistInit.cpp - dla-hoist-init -------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAHOISTINITPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
/// A readable, stable name for a prepared tensor: the parameter it is
/// derived from and what was done to it ("base.level0.0.weight:folded_weight").
std::string preparedName(OpResult result, unsigned counter) {
  Operation *op = result.getOwner();
  if (auto fold = dyn_cast<FoldBatchNormOp>(op))
    if (auto param = fold.getWeight().getDefiningOp<ParamOp>())
      return param.getName().str() +
             (result.getResultNumber() == 0 ? ":folded_weight" : ":folded_bias");
  return "prepared_" + std::to_string(counter);
}

struct DLAHoistInitPass : mlir::dla::impl::DLAHoistInitPassBase<DLAHoistInitPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
    if (!forward || forward.isExternal())
      return;
    if (module.lookupSymbol(kInitFunction)) {
      module.emitError("dla-hoist-init: the module already has an @init");
      return signalPassFailure();
    }

    // Values computed from parameters alone, in program order.
    llvm::DenseSet<Value> paramOnly;
    SmallVector<Operation *> hoisted;
    for (Operation &op : forward.getBody().front()) {
      if (isa<ParamOp>(op)) {
        paramOnly.insert(op.getResult(0));
        continue;
      }
      if (op.getNumRegions() || !isPure(&op) || op.getNumOperands() == 0 ||
          !llvm::all_of(op.getOperands(),
                        [&](Value v) { return paramOnly.contains(v); }))
        continue;
      for (Value r : op.getResults())
        paramOnly.insert(r);
      hoisted.push_back(&op);
    }
    if (hoisted.empty())
      return;

    // Build @init from clones of the hoisted ops and the params they read.
    OpBuilder b(module.getContext());
    b.setInsertionPoint(forward);
    auto init = func::FuncOp::create(b, forward.getLoc(), kInitFunction,
                                     b.getFunctionType({}, {}));
    Block *body = init.addEntryBlock();
    b.setInsertionPointToEnd(body);
    IRMapping mapping;
    llvm::DenseSet<Operation *> hoistedSet(hoisted.begin(), hoisted.end());
    for (Operation *op : hoisted) {
      for (Value v : op->getOperands())
        if (!mapping.contains(v))
          b.clone(*v.getDefiningOp(), mapping);
      b.clone(*op, mapping);
    }

    // Every hoisted result that @forward still needs becomes a named result
    // of @init, read back with dla.prepared.
    SmallVector<Value> returned;
    SmallVector<std::string> names;
    llvm::StringMap<int> nameCount;
    OpBuilder fb = OpBuilder::atBlockBegin(&forward.getBody().front());
    for (Operation *op : hoisted)
      for (OpResult r : op->getResults()) {
        if (llvm::all_of(r.getUsers(),
                         [&](Operation *u) { return hoistedSet.contains(u); }))
          continue;
        // Names are unique: a second fold of the same weight gets "#2".
        std::string name = preparedName(r, names.size());
        if (int n = ++nameCount[name]; n > 1)
          name += "#" + std::to_string(n);
        names.push_back(name);
        returned.push_back(mapping.lookup(r));
        Value prepared = PreparedOp::create(fb, op->getLoc(), r.getType(),
                                            names.back());
        r.replaceUsesWithIf(prepared, [&](OpOperand &use) {
          return !hoistedSet.contains(use.getOwner());
        });
      }
    func::ReturnOp::create(b, forward.getLoc(), returned);
    init.setType(b.getFunctionType({}, ValueRange(returned).getTypes()));
    for (auto [i, name] : llvm::enumerate(names))
      init.setResultAttr(i, kNameAttr, b.getStringAttr(name));

    for (Operation *op : llvm::reverse(hoisted)) {
      op->erase();
      ++numHoisted;
    }
    // Parameters that only fed hoisted ops are dead in @forward now.
    for (Operation &op : llvm::make_early_inc_range(forward.getBody().front()))
      if (isa<ParamOp>(op) && op.use_empty())
        op.erase();
  }
};
} // namespace
