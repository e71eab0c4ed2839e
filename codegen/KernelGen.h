//===- KernelGen.h - Fused dla ops → kernel IR ------------------*- C++ -*-===//
//
// One kernel per op of @init/@forward. A kernel is a grid of blocks; a block
// is a sequence of *phases*, each an `scf.forall` over the block's threads
// (mapping #gpu.thread<x>) with no barrier inside, reading and writing
// workgroup scratch memory declared once per kernel. Phases are separated by
// barriers. The body is built with MLIR builders (codegen/KernelBuilder.h)
// into one of two wrappers:
//
//  * host: `func.func @K(buffers..., %begin, %end)` loops over the blocks
//    [begin, end) and runs each phase's threads one after another
//    (scf-forall-to-for). With no barrier inside a phase this is exactly the
//    GPU semantics, so the host build checks the GPU kernels' arithmetic and
//    indexing on any machine.
//  * cuda: `gpu.func @K(buffers...) workgroup(scratch...) kernel`, each
//    phase guarded by the thread id and followed by `gpu.barrier`.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_KERNELGEN_H
#define DLA_CODEGEN_KERNELGEN_H

#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/DenseMap.h"

#include <array>
#include <string>
#include <vector>

namespace mlir::dla {

/// How a kernel is wrapped for its target.
enum class KernelWrapper {
  /// `func.func @K(buffers..., %begin: index, %end: index)`, a loop over the
  /// blocks [begin, end) running each phase's threads one after another.
  Host,
  /// `gpu.func @K(buffers...) workgroup(scratch...) kernel`.
  Gpu,
};

/// Where a kernel generator builds its kernel function: at the builder's
/// insertion point (in a module or a gpu.module), wrapped as `wrapper`.
struct KernelPlace {
  OpBuilder *builder;
  KernelWrapper wrapper;
  Location loc;
  /// GPU: the tensor-core kernels where they apply (else SIMT everywhere).
  bool tensorCores = true;
  /// GPU: the tensor-core convs halve their channel tile until a launch has
  /// this many blocks (the GPU's SMs: 132 on an H200).
  int64_t minBlocks = 132;
};

/// One kernel: its signature and launch, fixed by its generator before the
/// body is built, and the function built.
struct KernelIR {
  std::string name;
  std::array<int64_t, 3> grid{1, 1, 1};
  int64_t threads = 1;
  std::vector<MemRefType> argTypes;     // buffers: operands, then results
  std::vector<MemRefType> scratchTypes; // workgroup scratch (no memory space)
  int64_t scratchBytes = 0;
  /// Host kernels only: bytes of a workspace shared by all blocks, the last
  /// argument (its memref type is the last of argTypes), and the blocks of
  /// each wave (the runtime finishes a wave before it starts the next).
  int64_t hostWorkspaceBytes = 0;
  std::vector<int64_t> hostWaves;
  /// A GPU kernel that does not exist: the op is one only the CPU kernels
  /// implement (a fused_conv with a projected residual). `error` says why.
  bool hostOnly = false;
  std::string hostOnlyReason;
  /// The kernel function (func.func or gpu.func), once built.
  Operation *function = nullptr;
};

/// Builds the GPU-shaped kernel of one op (codegen/GPU/) at `place`, wrapped
/// for the host or the GPU; fails (with `error`, having built nothing) for
/// ops that have no kernel generator.
bool generateKernel(Operation *op, const std::string &name, const KernelPlace &place,
                    KernelIR &kernel, std::string &error);

/// The CPU the host kernels are generated for.
struct HostTarget {
  int64_t vectorWidth = 8; ///< f32 lanes of a SIMD register (4, 8 or 16)
  int64_t registers = 16;  ///< SIMD registers
};

/// The tile the CPU kernel of `op` gets on `target` (dla-choose-cpu-tiles),
/// null for ops without a CPU kernel (codegen/CPU/Tiles.cpp).
CpuTileAttr chooseCpuTile(Operation *op, const HostTarget &target);
/// Empty if the CPU kernel of `op` can be built with `tile` on `target`,
/// else why not.
std::string checkCpuTile(Operation *op, CpuTileAttr tile, const HostTarget &target);
/// The packed layout in which the CPU kernel of `op` (as its `dla.tile`
/// says) reads the operand `weight`, null where it reads the logical layout.
HostLayoutAttr hostLayoutFor(Operation *op, Value weight);
/// The #dla.host_layout of a value's tensor type, null if none.
HostLayoutAttr hostLayoutOf(Value v);
/// f32 for a weight stored in f16 or bf16, which the host keeps widened
/// (the values rounded to the storage type; see #dla.host_layout): x86
/// converts f16 with F16C, 2 instructions per vector, and bf16 with integer
/// operations; either costs more in the CPU kernels' inner loops than the
/// bandwidth it saves (measured on DLASeg-34, docs/precision.md). Null
/// otherwise (f32 and tf32 weights are f32 words already).
Type hostWidenedStorage(Value weight);
/// The element type a tensor of type `type` has in memory: its
/// #dla.host_layout's `storage` (an f16 weight the host keeps widened), else
/// its element type; f32 for tf32 (tf32 values are kept in f32 words).
Type storedElementType(Type type);

/// Builds the CPU kernel of one op (codegen/CPU/) at `place`, whose wrapper
/// must be KernelWrapper::Host: blocked for a CPU core (`threads` is 1,
/// `grid` is the host's blocks). Returns false with an empty `error`, having
/// built nothing, for ops that have no CPU kernel: the host then runs their
/// GPU-shaped kernel.
bool generateHostKernel(Operation *op, const std::string &name, const HostTarget &target,
                        const KernelPlace &place, KernelIR &kernel, std::string &error);

} // namespace mlir::dla

#endif // DLA_CODEGEN_KERNELGEN_H
