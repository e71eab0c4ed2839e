//===- Bundle.h - Memory plan and manifest of a dlac bundle ------*- C++ -*-===//
//
// The bundle's manifest.json (docs/bundle-format.md, format "dlab" version 1)
// and the memory plan behind it: every activation of fused IR gets an offset
// in one arena, chosen by liveness so that buffers share memory once dead;
// the tensors @init prepares are packed into their own buffer. The manifest
// is a dlart::Manifest (runtime/schema/Manifest.h, the schema the runtime
// reads it with) filled from the IR and the driver's facts below, and
// written by the schema's writer.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_BUNDLE_H
#define DLA_CODEGEN_BUNDLE_H

#include "runtime/schema/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlir::dla {

/// How a kernel is launched; filled by the code generator for every kernel op.
struct KernelLaunch {
  std::string name; // symbol in kernels.so / the cubin
  /// The step's own name when it runs a kernel built for another op of the
  /// same shape ("name" in manifest.json); empty: the kernel's.
  std::string step;
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  int64_t sharedBytes = 0;
  /// Blocks of the host kernel (0: the grid's); written as host_blocks when
  /// the bundle has a host build and they differ.
  int64_t hostBlocks = 0;
  /// Host workspace and waves (KernelIR); written when non-empty.
  int64_t hostWorkspaceBytes = 0;
  std::vector<int64_t> hostWaves;
};

/// Alignment of every offset in the arena and the prepared buffer.
constexpr int64_t kBufferAlignment = 256;

/// One activation: a tensor written by a kernel that is neither a model
/// output nor a tensor returned by @init.
struct PlannedActivation {
  Value value;
  Operation *kernel = nullptr; // its defining kernel op
  int64_t bytes = 0;
  int64_t offset = 0; // in the arena, a multiple of kBufferAlignment
  // Kernel indices in program order, @init's kernels first, then @forward's:
  // written by kernel `first`, last read by kernel `last` (== first when
  // unread). Two activations may share memory iff their ranges are disjoint.
  int64_t first = 0, last = 0;
};

/// One tensor returned by @init (possibly under several names).
struct PlannedPrepared {
  Value value; // the returned value in @init
  std::vector<std::string> names;
  int64_t bytes = 0;
  int64_t offset = 0; // in the prepared buffer, a multiple of kBufferAlignment
};

struct MemoryPlan {
  int64_t arenaBytes = 0;           // max(offset + bytes) over the activations
  int64_t activationBytesTotal = 0; // sum of the activation sizes
  int64_t preparedBytes = 0;        // max(offset + bytes) over the prepared
  int64_t numInitKernels = 0, numForwardKernels = 0;
  std::vector<PlannedActivation> activations; // in program order
  std::vector<PlannedPrepared> prepared;      // in @init's result order
  std::string error; // non-empty when the module is not plannable
};

/// The memory plan of `module` (fused IR with @forward and optionally @init).
/// Activations are placed by size (largest first, ties in program order) at
/// the lowest aligned offset that does not overlap an already placed
/// activation whose lifetime meets its own; @init's intermediates share the
/// arena (their lifetimes end before @forward's first kernel). @init results
/// that are kernel results are packed in result order. @init results that
/// are plain parameters (dla.param) are not copied and get no entry.
MemoryPlan planMemory(ModuleOp module);

/// Plans memory and writes <dir>/manifest.json for `module` (fused IR with
/// @forward and optionally @init). `launches` has an entry for every op with
/// isKernel(op) in @init and @forward, in program order. Buffer ids: the
/// model inputs, the outputs, the parameters (dla.param, deduplicated by name
/// across @init and @forward), the prepared tensors (@init results, read in
/// @forward through dla.prepared by name), then one per activation. Step args
/// are the kernel op's operands in operand order, then its results.
/// `targets` is the part of the manifest the driver knows (the schema's own
/// fields: hasHost, hostCpu, hostFeatures, hasCuda, cudaArchs, cudaBinary,
/// files, ignoredParameters); the rest comes from the module.
LogicalResult writeManifest(ModuleOp module,
                            const std::map<Operation *, KernelLaunch> &launches,
                            const dlart::Manifest &targets, llvm::StringRef dir,
                            std::string &error);

/// The manifest as text (what writeManifest writes), for tools and tests.
LogicalResult renderManifest(ModuleOp module,
                             const std::map<Operation *, KernelLaunch> &launches,
                             const dlart::Manifest &targets, std::string &text,
                             std::string &error);

} // namespace mlir::dla

#endif // DLA_CODEGEN_BUNDLE_H
