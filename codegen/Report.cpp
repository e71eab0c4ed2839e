//===- Report.cpp - dlac --report: the kernels of a build -----------------===//

#include "codegen/Report.h"

#include "codegen/KernelInfo.h"
#include "dialects/DLA/IR/DLAOps.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::dla;

void mlir::dla::printKernelReport(const KernelSet &set,
                                  const std::map<std::string, PtxasInfo> &ptxas,
                                  const std::string &arch, llvm::raw_ostream &os) {
  os << llvm::format("%-44s %-16s %5s %10s %12s %12s %8s %5s %6s %5s\n", "kernel", "grid",
                     "block", "GFLOP", "read MiB", "write MiB", "smem B", "regs",
                     "spill", "mma");
  double flops = 0, read = 0, written = 0;
  int64_t forward = 0, spills = 0, convs = 0, convsWithMma = 0;
  for (Operation *op : set.ops) {
    const auto &k = set.kernels.at(op).hostOnly ? set.hostKernels.at(op) : set.kernels.at(op);
    auto cost = kernelCost(op);
    bool isInit = llvm::StringRef(set.stepNames.at(op)).starts_with("init_");
    forward += !isInit;
    flops += 2.0 * cost.macs;
    read += cost.bytesRead;
    written += cost.bytesWritten;
    std::string grid = std::to_string(k.grid[0]) + "x" + std::to_string(k.grid[1]) +
                       "x" + std::to_string(k.grid[2]);
    auto it = ptxas.find(k.name);
    std::string regs = it == ptxas.end() ? "-" : std::to_string(it->second.registers);
    std::string spill = it == ptxas.end() ? "-" : std::to_string(it->second.spillBytes);
    std::string mma = it == ptxas.end() ? "-" : std::to_string(it->second.mmaInstructions);
    if (it != ptxas.end())
      spills += it->second.spillBytes;
    if (!isInit && isa<FusedConvOp, FusedDeformConvOp>(op) && !set.kernels.at(op).hostOnly) {
      ++convs;
      convsWithMma += it != ptxas.end() && it->second.mmaInstructions > 0;
    }
    os << llvm::format("%-44s %-16s %5lld %10.4f %12.3f %12.3f %8lld %5s %6s %5s\n",
                       set.stepNames.at(op).c_str(), grid.c_str(), (long long)k.threads,
                       2.0 * cost.macs / 1e9, cost.bytesRead / 1048576.0,
                       cost.bytesWritten / 1048576.0, (long long)k.scratchBytes,
                       regs.c_str(), spill.c_str(), mma.c_str());
  }
  os << llvm::format("total: %zu kernels (%lld forward launches, %zu init), %.3f GFLOP, "
                     "%.1f MiB read, %.1f MiB written",
                     set.ops.size(), (long long)forward, set.ops.size() - forward,
                     flops / 1e9, read / 1048576.0, written / 1048576.0);
  if (!ptxas.empty())
    os << llvm::format(", %lld spill bytes (ptxas, %s), %lld of %lld forward conv "
                       "kernels on tensor cores (mma.sync)",
                       (long long)spills, arch.c_str(), (long long)convsWithMma,
                       (long long)convs);
  os << "\n";
}

