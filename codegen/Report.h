//===- Report.h - dlac --report: the kernels of a build ---------*- C++ -*-===//

#ifndef DLA_CODEGEN_REPORT_H
#define DLA_CODEGEN_REPORT_H

#include "codegen/Codegen.h"
#include "codegen/CudaToolchain.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::dla {

/// One line per step (kernel, grid, block, GFLOP, bytes read and written,
/// shared memory, and from `ptxas` — for `arch` — registers and spills),
/// then the totals.
void printKernelReport(const KernelSet &set, const std::map<std::string, PtxasInfo> &ptxas,
                       const std::string &arch, llvm::raw_ostream &os);

} // namespace mlir::dla

#endif // DLA_CODEGEN_REPORT_H
