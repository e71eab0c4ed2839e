//===- ApplyPrecision.cpp - dla-apply-precision ---------------------------===//
//
// Gives the fused IR its storage types from the module's `dla.precision`
// (docs/precision.md): every tensor @forward keeps in memory (kernel
// results, parameters, prepared tensors) is stored in the storage type; the
// model's input and outputs stay f32, as the API promises. The fused ops
// compute in f32 whatever their operands' types and round once on store, so
// retyping is all this pass does. In tf32 the storage type is `tf32`:
// 32-bit words in memory, holding values rounded to tf32's 10 mantissa bits
// (the operands tensor cores read).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAAPPLYPRECISIONPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

Type mlir::dla::storageType(ModuleOp module, std::string &err) {
  MLIRContext *ctx = module.getContext();
  Attribute attr = module->getAttr(kPrecisionAttr);
  if (!attr)
    return Float32Type::get(ctx);
  auto name = llvm::dyn_cast<StringAttr>(attr);
  if (name && name.getValue() == "f32")
    return Float32Type::get(ctx);
  if (name && name.getValue() == "tf32")
    return FloatTF32Type::get(ctx);
  if (name && name.getValue() == "f16")
    return Float16Type::get(ctx);
  if (name && name.getValue() == "bf16")
    return BFloat16Type::get(ctx);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << attr;
  err = std::string(kPrecisionAttr) + ": expected \"f32\", \"tf32\", \"f16\" or \"bf16\", got " + text;
  return {};
}

namespace {

/// Ops that compute in f32 and round once on store: their results take the
/// storage type whatever their operands are. Every other op (pools,
/// flatten) keeps one element type across its operands and results.
bool roundsOnStore(Operation *op) {
  return isa<FusedConvOp, FusedDeformConvOp, ParamOp, PreparedOp>(op);
}

bool isF32Tensor(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType().isF32();
}

void retype(Value v, Type storage) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  v.setType(RankedTensorType::get(t.getShape(), storage, t.getEncoding()));
}

struct DLAApplyPrecisionPass
    : mlir::dla::impl::DLAApplyPrecisionPassBase<DLAApplyPrecisionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string err;
    Type storage = storageType(module, err);
    if (!storage) {
      module.emitError(err);
      return signalPassFailure();
    }
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
    if (storage.isF32() || !forward || forward.isExternal())
      return;
    Block &body = forward.getBody().front();

    // What stays f32: the input, the outputs, and whatever shares an
    // element type with them through an op that does not round (a pool or
    // flatten that produces an output reads f32 too).
    llvm::DenseSet<Value> keep;
    for (Value arg : body.getArguments())
      keep.insert(arg);
    for (Value v : body.getTerminator()->getOperands())
      keep.insert(v);
    for (bool changed = true; changed;) {
      changed = false;
      for (Operation &op : body) {
        if (roundsOnStore(&op) || op.hasTrait<OpTrait::IsTerminator>())
          continue;
        auto values = llvm::concat<Value>(op.getOperands(), op.getResults());
        if (llvm::none_of(values, [&](Value v) { return keep.contains(v); }))
          continue;
        for (Value v : values)
          changed |= keep.insert(v).second;
      }
    }

    llvm::StringMap<unsigned> preparedIndex;
    auto init = module.lookupSymbol<func::FuncOp>(kInitFunction);
    if (init && !init.isExternal())
      for (unsigned i = 0; i < init.getNumResults(); ++i)
        if (auto name = init.getResultAttrOfType<StringAttr>(i, kNameAttr))
          preparedIndex[name.getValue()] = i;

    for (Operation &op : body)
      for (Value r : op.getResults()) {
        if (keep.contains(r) || !isF32Tensor(r))
          continue;
        retype(r, storage);
        ++numRetyped;
        // A prepared tensor is @init's result: its producer rounds on store.
        auto prepared = dyn_cast<PreparedOp>(op);
        if (!prepared)
          continue;
        auto it = preparedIndex.find(prepared.getName());
        if (it == preparedIndex.end()) {
          op.emitOpError("names no result of @init");
          return signalPassFailure();
        }
        Value produced = init.getBody().front().getTerminator()->getOperand(it->second);
        if (llvm::isa<BlockArgument>(produced)) {
          op.emitOpError("is an argument of @init, not a result of its kernels");
          return signalPassFailure();
        }
        if (isF32Tensor(produced))
          retype(produced, storage);
      }
    if (init && !init.isExternal())
      init.setType(FunctionType::get(
          module.getContext(), {},
          init.getBody().front().getTerminator()->getOperandTypes()));
  }
};
} // namespace
