//===- KernelGen.h - Fused dla ops → kernel IR ------------------*- C++ -*-===//
//
// One kernel per op of @init/@forward. A kernel is a grid of blocks; a block
// is a sequence of *phases*, each an `scf.forall` over the block's threads
// (mapping #gpu.thread<x>) with no barrier inside, reading and writing
// workgroup scratch memory declared once per kernel. Phases are separated by
// barriers. That one body is wrapped twice:
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

#include "mlir/IR/Operation.h"

#include <array>
#include <string>
#include <vector>

namespace mlir::dla {

struct KernelIR {
  std::string name;
  std::array<int64_t, 3> grid{1, 1, 1};
  int64_t threads = 1;
  std::vector<std::string> argTypes;     // memref types, operands then results
  std::vector<std::string> scratchTypes; // workgroup scratch (memref types)
  int64_t scratchBytes = 0;
  /// The block body. Uses %bx, %by, %bz (block ids), %a0.. (buffers) and
  /// %s0.. (scratch); phases are `scf.forall` ops over the threads.
  std::string body;

  /// `func.func @name(%a0..., %begin: index, %end: index)` for the host.
  std::string hostFunction() const;
  /// `gpu.func @name(%a0...) workgroup(%s0...) kernel` for CUDA.
  std::string gpuFunction() const;
};

/// Generates the kernel of one op; fails (with `error`) for ops that have no
/// kernel generator.
bool generateKernel(Operation *op, const std::string &name, KernelIR &kernel,
                    std::string &error);

} // namespace mlir::dla

#endif // DLA_CODEGEN_KERNELGEN_H
