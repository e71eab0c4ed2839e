//===- KernelInfo.cpp - Names and costs of the kernels of fused IR --------===//

#include "codegen/KernelInfo.h"
#include "codegen/KernelGen.h"

#include "dialects/DLA/IR/DLAOps.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::dla;

namespace {
int64_t numElements(Value v) {
  return llvm::cast<ShapedType>(v.getType()).getNumElements();
}
int64_t bytesOf(Value v) {
  auto type = llvm::cast<ShapedType>(v.getType());
  return type.getNumElements() * storedElementType(type).getIntOrFloatBitWidth() / 8;
}
ArrayRef<int64_t> shapeOf(Value v) {
  return llvm::cast<ShapedType>(v.getType()).getShape();
}

/// The state-dict name a weight value comes from, through dla.prepared
/// ("x.weight:folded_weight") or dla.param.
std::string sourceName(Value weight) {
  if (auto p = weight.getDefiningOp<ParamOp>())
    return p.getName().str();
  if (auto p = weight.getDefiningOp<PreparedOp>())
    return p.getName().split(':').first.str();
  return "";
}

std::string identifier(StringRef name) {
  std::string id;
  for (char c : name)
    id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return id;
}

/// MACs of a convolution producing `out` with weight [O, C/g, kh, kw].
int64_t convMacs(Value out, Value weight) {
  auto w = shapeOf(weight);
  return numElements(out) * w[1] * w[2] * w[3];
}
} // namespace

bool mlir::dla::isKernel(Operation *op) {
  return op->getDialect() && isa<DLADialect>(op->getDialect()) &&
         !isa<ParamOp, PreparedOp>(op);
}

std::string mlir::dla::kernelBaseName(Operation *op) {
  Value weight;
  if (auto c = dyn_cast<FusedConvOp>(op))
    weight = c.getWeight();
  else if (auto c = dyn_cast<Conv2dOp>(op))
    weight = c.getWeight();
  else if (auto c = dyn_cast<FusedDeformConvOp>(op))
    weight = c.getWeight();
  else if (auto c = dyn_cast<DeformConv2dOp>(op))
    weight = c.getWeight();
  else if (auto c = dyn_cast<ConvTranspose2dOp>(op))
    weight = c.getWeight();
  else if (auto c = dyn_cast<FoldBatchNormOp>(op))
    weight = c.getWeight();
  std::string name = weight ? sourceName(weight) : "";
  StringRef base = StringRef(name);
  base.consume_back(".weight");
  if (base.empty())
    return op->getName().stripDialect().str();
  std::string id = identifier(base);
  if (isa<FusedDeformConvOp, DeformConv2dOp>(op) && StringRef(id).ends_with("_conv"))
    id = id.substr(0, id.size() - 5) + "_dcn";
  if (isa<FoldBatchNormOp>(op))
    id += "_fold_bn";
  return id;
}

std::map<Operation *, std::string> mlir::dla::kernelNames(Operation *function) {
  std::map<Operation *, std::string> names;
  llvm::StringMap<int> seen;
  function->walk([&](Operation *op) {
    if (!isKernel(op))
      return;
    std::string base = kernelBaseName(op);
    int n = ++seen[base];
    names[op] = n == 1 ? base : base + "_" + std::to_string(n);
  });
  return names;
}

KernelCost mlir::dla::kernelCost(Operation *op) {
  KernelCost cost;
  for (Value v : op->getOperands())
    cost.bytesRead += bytesOf(v);
  for (Value v : op->getResults())
    cost.bytesWritten += bytesOf(v);
  cost.macs =
      llvm::TypeSwitch<Operation *, int64_t>(op)
          .Case([](FusedConvOp c) {
            // The conv's own output has the weight's channels (the result
            // has the tail's when a `then` conv follows).
            auto w = shapeOf(c.getWeight());
            auto out = shapeOf(c.getResult());
            int64_t convOut = out[0] * w[0] * out[2] * out[3];
            int64_t macs = convOut * w[1] * w[2] * w[3];
            if (c.getResidualWeight())
              macs += convOut * shapeOf(c.getResidualWeight())[1];
            if (c.getTailWeight())
              macs += convMacs(c.getResult(), c.getTailWeight());
            return macs;
          })
          .Case([](Conv2dOp c) { return convMacs(c.getResult(), c.getWeight()); })
          .Case([](DeformConv2dOp c) {
            return convMacs(c.getResult(), c.getWeight());
          })
          .Case([](ConvTranspose2dOp c) {
            auto w = shapeOf(c.getWeight());
            return numElements(c.getInput()) * w[1] * w[2] * w[3];
          })
          .Case([](FusedDeformConvOp c) {
            // The offset/mask conv and the DCN run at the output size; each
            // upsampled addend is a depthwise transposed conv.
            auto out = shapeOf(c.getResult());
            int64_t pixels = out[0] * out[2] * out[3];
            int64_t channels = shapeOf(c.getWeight())[1];
            int64_t macs = pixels * 27 * channels * 9 +
                           convMacs(c.getResult(), c.getWeight());
            auto weights = c.getUpWeights().begin();
            for (auto [a, f] : llvm::zip(c.getAddends(), c.getUp()))
              if (f > 1) {
                auto w = shapeOf(*weights++);
                macs += numElements(a) * w[1] * w[2] * w[3];
              }
            return macs;
          })
          .Default([](Operation *) { return int64_t(0); });
  return cost;
}
