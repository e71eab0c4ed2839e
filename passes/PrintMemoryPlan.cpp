//===- PrintMemoryPlan.cpp - dla-print-memory-plan ------------------------===//
//
// Prints the bundle's memory plan (codegen/Bundle.h) so that lit can check
// it, and optionally writes the manifest with placeholder launches.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "codegen/Bundle.h"
#include "codegen/KernelInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::dla {
#define GEN_PASS_DEF_DLAPRINTMEMORYPLANPASS
#include "passes/Passes.h.inc"
} // namespace mlir::dla

using namespace mlir;
using namespace mlir::dla;

namespace {
struct DLAPrintMemoryPlanPass
    : mlir::dla::impl::DLAPrintMemoryPlanPassBase<DLAPrintMemoryPlanPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MemoryPlan plan = planMemory(module);
    if (!plan.error.empty()) {
      module.emitError("dla-print-memory-plan: ") << plan.error;
      return signalPassFailure();
    }
    auto init = module.lookupSymbol<func::FuncOp>(kInitFunction);
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);

    // Kernels in program order, labelled "@func:name".
    std::map<Operation *, std::string> label;
    std::map<Operation *, KernelLaunch> launches;
    std::vector<Operation *> order;
    for (func::FuncOp f : {init, forward}) {
      if (!f)
        continue;
      std::map<Operation *, std::string> names = kernelNames(f);
      f.walk([&](Operation *op) {
        if (!isKernel(op))
          return;
        order.push_back(op);
        label[op] = "@" + f.getSymName().str() + ":" + names[op];
        KernelLaunch l;
        l.name = (f == init ? "init_" : "") + names[op];
        launches[op] = l;
      });
    }
    auto name = [&](const PlannedActivation &a) {
      std::string s = label[a.kernel];
      if (a.kernel->getNumResults() > 1)
        s += "#" + std::to_string(
                       llvm::cast<OpResult>(a.value).getResultNumber());
      return s;
    };

    llvm::raw_ostream &os = llvm::outs();
    os << "memory plan of @" << module.getSymName().value_or("model") << ": "
       << plan.numInitKernels << " @init kernels, " << plan.numForwardKernels
       << " @forward kernels\n";
    for (auto [i, op] : llvm::enumerate(order))
      os << "kernel " << i << " " << label[op] << "\n";
    for (const PlannedPrepared &p : plan.prepared) {
      os << "prepared";
      for (const std::string &n : p.names)
        os << " \"" << n << "\"";
      os << " bytes " << p.bytes << " offset " << p.offset << "\n";
    }
    for (const PlannedActivation &a : plan.activations)
      os << "activation " << name(a) << " bytes " << a.bytes << " offset "
         << a.offset << " live [" << a.first << ", " << a.last << "]\n";

    // Independent check of the plan: live at the same time => disjoint.
    int64_t conflicts = 0, misaligned = 0;
    for (size_t i = 0; i < plan.activations.size(); ++i) {
      const PlannedActivation &a = plan.activations[i];
      misaligned += a.offset % kBufferAlignment != 0;
      for (size_t j = i + 1; j < plan.activations.size(); ++j) {
        const PlannedActivation &b = plan.activations[j];
        bool liveTogether = a.first <= b.last && b.first <= a.last;
        bool overlap = a.offset < b.offset + b.bytes &&
                       b.offset < a.offset + a.bytes;
        if (liveTogether && overlap) {
          ++conflicts;
          os << "conflict: " << name(a) << " and " << name(b) << "\n";
        }
      }
    }
    os << "arena_bytes " << plan.arenaBytes << " activation_bytes_total "
       << plan.activationBytesTotal << " prepared_bytes " << plan.preparedBytes
       << "\n";
    if (plan.activationBytesTotal > 0)
      os << "arena/total "
         << llvm::format("%.4f", double(plan.arenaBytes) /
                                     double(plan.activationBytesTotal))
         << "\n";
    os << "conflicts " << conflicts << " misaligned " << misaligned << "\n";

    if (!manifestDir.empty()) {
      dlart::Manifest targets;
      targets.hasHost = true;
      std::string error;
      if (failed(writeManifest(module, launches, targets, manifestDir, error))) {
        module.emitError("dla-print-memory-plan: ") << error;
        return signalPassFailure();
      }
    }
    markAllAnalysesPreserved();
  }
};
} // namespace
