//===- Common.h - Building blocks of the CPU kernels -----------*- C++ -*-===//
//
// Shared by the CPU kernels of codegen/CPU/: the register tile and its FMA
// rows, and the vectorised max-pool of one channel into a workspace.
// Internal to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_CODEGEN_CPU_COMMON_H
#define DLA_CODEGEN_CPU_COMMON_H

#include "codegen/KernelBuilder.h"
#include "dialects/DLA/IR/DLAOps.h"

namespace mlir::dla::kernelgen {

/// One step of a register tile: acc[base + j] += b * vecs[j] for every j
/// (one broadcast against a row of vectors).
inline void fmaRow(KernelBuilder &e, Value b, llvm::ArrayRef<Value> vecs,
                   llvm::SmallVectorImpl<Value> &acc, size_t base) {
  for (size_t j = 0; j < vecs.size(); ++j)
    acc[base + j] = e.fma(b, vecs[j], acc[base + j]);
}

/// Max-pools channel `local` of image `img` of `src` (pool factor p) into
/// channel `wsC` of the flat workspace `ws` [n][c][ho * wo]: a 2x2 row of
/// whole vectors of VW lanes with two maxima and an even/odd lane shuffle,
/// others scalar.
void emitPoolChannel(KernelBuilder &e, Value src, int64_t p, Value img, Value local, Value ws,
                     Value wsC, int64_t ho, int64_t wo, int64_t VW);

/// Register tile: P pixels x V vectors of VW lanes; the accumulators fit the
/// register file with room for the weight vectors and a broadcast input.
struct Tile {
  int64_t vw, v, p;
};
Tile chooseTile(const HostTarget &t, int64_t channels, int64_t width);
/// Vectors of `lanes` for a tile's output channels: two when that pads no
/// more than one would.
int64_t channelVectors(int64_t channels, int64_t lanes);
/// A 1x1 conv without stride, padding, groups, projection or tail over a
/// multiple of `lanes` pixels: a GEMM (PointwiseConv.cpp).
bool pointwiseEligible(FusedConvOp op, int64_t lanes);

// The CPU kernels, one file each, built as the op's `dla.tile` says (which
// the lowering has checked with checkCpuTile) and reading each weight in the
// layout its type's #dla.host_layout names. They return false with an
// `error` for what they cannot build.
/// Empty if the operand `weight` of `op` is in the logical layout or the
/// packed one its dla.tile reads, else why not.
std::string checkWeightLayout(Operation *op, Value weight);
bool genHostPointwiseConv(FusedConvOp op, CpuTileAttr tile, const KernelPlace &place,
                          KernelIR &k, std::string &error);
bool genHostFusedConv(FusedConvOp op, CpuTileAttr tile, const KernelPlace &place, KernelIR &k,
                      std::string &error);
bool genHostFusedDeformConv(FusedDeformConvOp op, CpuTileAttr tile, const HostTarget &target,
                            const KernelPlace &place, KernelIR &k, std::string &error);
bool genHostFoldBatchNorm(FoldBatchNormOp op, HostLayoutAttr layout, const KernelPlace &place,
                          KernelIR &k, std::string &error);

} // namespace mlir::dla::kernelgen

#endif // DLA_CODEGEN_CPU_COMMON_H
