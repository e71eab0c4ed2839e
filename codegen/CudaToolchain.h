//===- CudaToolchain.h - The CUDA toolkit's tools a build calls -*- C++ -*-===//
//
// ptxas (through gpu-module-to-binary, and here for its resource usage and
// its list of architectures) and fatbinary: found in one toolkit directory,
// checked before the work, their output read back.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_CUDATOOLCHAIN_H
#define DLA_CODEGEN_CUDATOOLCHAIN_H

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mlir::dla {

/// What ptxas -v says of one kernel.
struct PtxasInfo {
  int64_t registers = -1, spillBytes = 0, sharedBytes = 0;
  /// mma.sync instructions in the kernel's PTX (static count).
  int64_t mmaInstructions = 0;
};

class CudaToolchain {
public:
  /// `toolkit`: the directory (--cuda-toolkit), else $CUDA_HOME, else
  /// /usr/local/cuda; `archs`: the CUDA architectures, sm_90 when empty.
  CudaToolchain(const std::string &toolkit, std::vector<std::string> archs);

  const std::string &dir() const { return toolkit; }
  const std::vector<std::string> &archs() const { return archList; }
  std::string ptxas() const { return toolkit + "/bin/ptxas"; }
  std::string fatbinary() const { return toolkit + "/bin/fatbinary"; }

  /// Checks, before the work, the --arch names and, when a binary is to be
  /// built (`needBinary`), that ptxas is there (and fatbinary for several
  /// archs) and knows every arch (read from its own --help, so the list
  /// follows the toolkit). `targetFlag` names what asked for the binary in
  /// the message ("--target cuda").
  bool check(bool needBinary, const std::string &targetFlag, std::string &err) const;

  /// ptxas -v on `ptxPath` for the newest arch: registers, spills and
  /// shared memory per kernel (empty if ptxas fails).
  std::map<std::string, PtxasInfo> resourceUsage(const std::string &ptxPath) const;

  /// `dir`/kernels.fatbin from one cubin per arch plus the PTX of the
  /// newest arch (`ptxs`, (chip, text) pairs), so that newer GPUs can JIT it.
  bool writeFatbin(const std::string &dir,
                   const std::vector<std::pair<std::string, std::string>> &cubins,
                   const std::vector<std::pair<std::string, std::string>> &ptxs,
                   std::string &err) const;

private:
  std::string toolkit;
  std::vector<std::string> archList;
};

/// Writes `data` to `path`; on failure `err` names the file.
bool writeFile(const std::string &path, const std::string &data, std::string &err);

} // namespace mlir::dla

#endif // DLA_CODEGEN_CUDATOOLCHAIN_H
