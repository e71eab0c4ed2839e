//===- Codegen.h - Fused IR → kernels for the host and CUDA -----*- C++ -*-===//

#ifndef DLA_CODEGEN_CODEGEN_H
#define DLA_CODEGEN_CODEGEN_H

#include "codegen/KernelGen.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/Timing.h"

#include <array>
#include <map>
#include <string>
#include <vector>

namespace mlir::dla {

/// Every kernel of a fused module (@init then @forward), in program order.
struct KernelSet {
  std::vector<Operation *> ops;
  /// Each op's own name (its kernel's, unless it shares one built for an
  /// earlier op of the same shape).
  std::map<Operation *, std::string> stepNames;
  /// The GPU-shaped kernels (codegen/GPU/): the CUDA build.
  std::map<Operation *, KernelIR> kernels;
  /// The host build's kernels: CPU kernels where there is one (and the host
  /// target asks for them), else the GPU-shaped kernel.
  std::map<Operation *, KernelIR> hostKernels;
  /// The host kernel module: a func.func per kernel, scf loops on memrefs
  /// (null without a host lowering).
  OwningOpRef<ModuleOp> hostModule;
  /// The CUDA kernel module: a gpu.module @kernels of gpu.func (null
  /// without a GPU lowering).
  OwningOpRef<ModuleOp> gpuModule;
};

/// What the kernel lowerings (codegen/Passes.td) record in the IR: the
/// nested kernel modules, the kernel an op runs, a kernel's launch.
constexpr llvm::StringLiteral kHostKernelsModule = "host_kernels";
constexpr llvm::StringLiteral kGpuKernelsModule = "kernels";
constexpr llvm::StringLiteral kKernelAttr = "dla.kernel";
constexpr llvm::StringLiteral kGridAttr = "dla.grid";
constexpr llvm::StringLiteral kThreadsAttr = "dla.threads";
constexpr llvm::StringLiteral kSharedBytesAttr = "dla.shared_bytes";
constexpr llvm::StringLiteral kWorkspaceBytesAttr = "dla.workspace_bytes";
constexpr llvm::StringLiteral kWavesAttr = "dla.waves";

/// Reads the kernels of a module lowered by dla-lower-to-cpu-kernels and/or
/// dla-lower-to-gpu-kernels back into `set` (the launches, and copies of
/// the kernel modules to lower further); fails with `error` for a kernel
/// op without a kernel.
bool collectKernels(ModuleOp lowered, KernelSet &set, std::string &error);

/// Resolves --host-cpu (an LLVM CPU name such as znver4 or haswell;
/// "native" or empty: this machine) to the CPU name for LLVM and its SIMD
/// shape, and the features of dlart::kHostFeatures that CPU has (what the
/// bundle records and the runtime checks before it loads kernels.so); fails
/// with `error` for a name LLVM does not know.
bool resolveHostCpu(const std::string &requested, std::string &cpu, HostTarget &target,
                    std::vector<std::string> &features, std::string &error);

// The toolchain steps of the two targets. Each times itself under `timing`
// (--mlir-timing: a step's passes, LLVM's optimisation and code emission,
// the link), a no-op scope when timing is off.

/// Host kernel module → LLVM dialect, plus the C-ABI entry points
/// `void NAME(void *const *args, int64_t block_begin, int64_t block_end)`.
LogicalResult lowerHostKernels(ModuleOp module, const KernelSet &set, TimingScope &timing);
/// LLVM dialect → a shared library at `path` (optimised object code for
/// `cpu`, linked with the system C compiler driver).
bool emitSharedLibrary(ModuleOp llvmModule, const std::string &path, const std::string &cpu,
                       std::string &error, TimingScope &timing);

/// CUDA kernel module → gpu.binary; `format` is "isa" (PTX) or "bin".
LogicalResult lowerGpuKernels(ModuleOp module, const std::string &format,
                              const std::string &toolkit, TimingScope &timing);
/// CUDA kernel module (a copy of KernelSet::gpuModule) → the same kernels
/// for the host with GPU semantics (cuda-emu, codegen/CudaEmu.cpp), in the
/// LLVM dialect: entry points
/// `void NAME(void *const *args, void *shared, const int64_t *ids)`.
LogicalResult lowerGpuKernelsForEmulation(ModuleOp module, TimingScope &timing);

/// The GPU mapping of a block's phases: each `scf.forall` over the threads
/// becomes the code of thread `gpu.thread_id x`, followed by `gpu.barrier`.
LogicalResult mapPhasesToThreads(ModuleOp module);
/// In an LLVM-dialect module: `void NAME(void *const *args, extra...)`, which
/// loads the first `buffers` pointers of `args` and calls NAME_impl with
/// them and its other arguments (the C entry point of a kernel).
void buildEntryPoint(ModuleOp module, OpBuilder &b, const std::string &name, int64_t buffers,
                     ArrayRef<Type> extra);
/// `const int64_t NAME[2] = {values}`, exported (a kernel's signature).
void buildSignature(ModuleOp module, OpBuilder &b, const std::string &name,
                    std::array<int64_t, 2> values);
/// The upstream passes that lower host kernel IR (scf, vector, memref,
/// func with bare pointers) to the LLVM dialect.
std::string hostLoweringPipeline();
/// bf16 conversions (arith.extf/truncf) rewritten as integer operations
/// (upstream's bf16 expansion, round to nearest even), for CPUs without
/// bf16 instructions; run on host kernel IR before hostLoweringPipeline.
/// Kernels without bf16 are left as they are.
LogicalResult expandBFloat16(ModuleOp module);

/// The objects of the gpu.binary of a lowered CUDA module, one per arch.
std::vector<std::pair<std::string, std::string>> gpuObjects(ModuleOp module);

} // namespace mlir::dla

#endif // DLA_CODEGEN_CODEGEN_H
