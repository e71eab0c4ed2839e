//===- Dot.cpp - Graphviz view of a compiled network ----------------------===//

#include "codegen/Dot.h"

#include "codegen/KernelInfo.h"
#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::dla;

namespace {
std::string shapeLabel(Type type) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(llvm::cast<ShapedType>(type).getShape()))
    s += (i ? "x" : "") + std::to_string(d);
  return s;
}

/// One line on what the kernel does, beyond its name.
std::string summary(Operation *op) {
  if (auto c = dyn_cast<FusedConvOp>(op)) {
    auto w = c.getWeight().getType().getShape();
    std::string s = "conv " + std::to_string(w[2]) + "x" + std::to_string(w[3]);
    if (c.getStride()[0] > 1)
      s += " /" + std::to_string(c.getStride()[0]);
    if (c.getInputs().size() > 1)
      s += ", " + std::to_string(c.getInputs().size()) + " inputs (no concat)";
    if (llvm::any_of(c.getPool(), [](int64_t p) { return p > 1; }))
      s += ", max-pool on read";
    if (c.getResidualWeight())
      s += ", +projected residual (1x1" +
           std::string(c.getResidualPool() > 1 ? ", max-pool on read)" : ")");
    else if (c.getResidual())
      s += ", +residual";
    if (c.getRelu())
      s += ", relu";
    if (c.getTailWeight())
      s += ", then 1x1 to " + std::to_string(c.getType().getDimSize(1)) + " channels";
    return s;
  }
  if (auto c = dyn_cast<FusedDeformConvOp>(op)) {
    std::string s = "DCNv2 3x3: offsets, mask, sampling";
    if (c.getAddends().size() > 1)
      s += ", sum of " + std::to_string(c.getAddends().size()) + " inputs";
    if (!c.getUpWeights().empty())
      s += ", upsample on read";
    if (c.getRelu())
      s += ", relu";
    return s;
  }
  return op->getName().stripDialect().str();
}
} // namespace

void mlir::dla::emitDot(ModuleOp module, llvm::raw_ostream &os) {
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
  auto names = kernelNames(forward);
  std::string title = module.getName() ? module.getName()->str() : "model";
  os << "digraph \"" << title << "\" {\n"
     << "  rankdir=TB;\n"
     << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
        "fontsize=10, fillcolor=\"#dbe9f6\"];\n"
     << "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\"];\n";

  llvm::DenseMap<Value, std::string> producer;
  for (BlockArgument arg : forward.getArguments()) {
    std::string id = "in" + std::to_string(arg.getArgNumber());
    auto name = forward.getArgAttrOfType<StringAttr>(arg.getArgNumber(), kNameAttr);
    os << "  " << id << " [shape=oval, fillcolor=\"#f2f2f2\", label=\""
       << (name ? name.str() : id) << "\\n" << shapeLabel(arg.getType()) << "\"];\n";
    producer[arg] = id;
  }
  int64_t totalMacs = 0;
  int index = 0;
  for (Operation &op : forward.getBody().front()) {
    if (!isKernel(&op))
      continue;
    std::string id = "k" + std::to_string(index++);
    KernelCost cost = kernelCost(&op);
    totalMacs += cost.macs;
    bool dcn = isa<FusedDeformConvOp, DeformConv2dOp>(op);
    os << "  " << id << " [label=\"" << names[&op] << "\\n" << summary(&op)
       << "\\n" << llvm::format("%.2f", 2.0 * cost.macs / 1e9) << " GFLOP\""
       << (dcn ? ", fillcolor=\"#fde3c8\"" : "") << "];\n";
    for (Value v : op.getOperands()) {
      auto it = producer.find(v);
      if (it != producer.end())
        os << "  " << it->second << " -> " << id << " [label=\""
           << shapeLabel(v.getType()) << "\"];\n";
    }
    for (Value r : op.getResults())
      producer[r] = id;
  }
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto name = forward.getResultAttrOfType<StringAttr>(i, kNameAttr);
    std::string id = "out" + std::to_string(i);
    os << "  " << id << " [shape=oval, fillcolor=\"#f2f2f2\", label=\""
       << (name ? name.str() : id) << "\\n" << shapeLabel(v.getType()) << "\"];\n";
    auto it = producer.find(v);
    if (it != producer.end())
      os << "  " << it->second << " -> " << id << ";\n";
  }
  os << "  label=\"" << title << ": " << index << " kernels, " << totalMacs
     << " MACs (" << llvm::format("%.2f", 2.0 * totalMacs / 1e9) << " GFLOP)\";\n"
     << "  labelloc=t;\n}\n";
}
