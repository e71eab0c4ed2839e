//===- FoldBatchNorm.cpp - The CPU kernel of fold_batch_norm, and dispatch -===//
//
// @init's fold_batch_norm on the host packs the folded weight for the CPU
// conv that reads it (the #dla.host_layout of its new weight, which
// dla-pack-weights set). generateHostKernel picks the CPU kernel of an op,
// if it has one.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Common.h"

#include "dialects/DLA/IR/DLAOps.h"

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

/// oc_block B: the conv layout [out / B][cin * kh * kw][B]; taps_first: the
/// DCN layout [kh * kw][cin][out].
bool mlir::dla::kernelgen::genHostFoldBatchNorm(FoldBatchNormOp op, HostLayoutAttr layout,
                                                const KernelPlace &place, KernelIR &k,
                                                std::string &error) {
  MLIRContext *ctx = op->getContext();
  auto w = op.getWeight().getType().getShape();
  if (w.size() != 4) {
    error = "a packed weight must have rank 4";
    return false;
  }
  int64_t out = w[0], per = w[1] * w[2] * w[3], perBlock = 16;
  bool tapsFirst = layout.getTapsFirst();
  int64_t ob = layout.getOcBlock();
  if (!tapsFirst && out % ob != 0) {
    error = "oc_block " + std::to_string(ob) + " does not divide the " + std::to_string(out) +
            " output channels";
    return false;
  }
  k.grid = {ceilDiv(out, perBlock), 1, 1};
  k.threads = 1;
  FoldBatchNormArgs args(op, k);
  // Both weights flat: [out][per] in, packed out.
  int64_t taps = w[2] * w[3];
  k.argTypes[args.weight] = memrefType(op.getWeight(), {out, per});
  k.argTypes[args.newWeight] = tapsFirst ? memrefType(op.getNewWeight(), {taps, w[1], out})
                                         : memrefType(op.getNewWeight(), {out / ob, per, ob});

  KernelBuilder e(place, k);
  Value o0 = e.mulc(e.bx(), perBlock);
  Value oEnd = e.minui(e.idx(perBlock), e.sub(e.idx(out), o0));
  Value oo = e.beginFor(e.idx(0), oEnd);
  Value o = e.add(o0, oo);
  Value scale = args.foldChannel(e, o);
  Value j = e.beginFor(0, per);
  Value nw = e.mulf(e.load(e.arg(args.weight), {o, j}), scale);
  // Kept widened: rounded to the storage type here, once.
  if (layout.getStorage())
    nw = e.roundTo(nw, op.getNewWeight().getType().getElementType());
  if (tapsFirst)
    e.store(nw, e.arg(args.newWeight), {e.rem(j, taps), e.div(j, taps), o});
  else
    e.store(nw, e.arg(args.newWeight), {e.div(o, ob), j, e.rem(o, ob)});
  e.endFor();
  e.endFor();
  e.finish();
  return true;
}

bool mlir::dla::generateHostKernel(Operation *op, const std::string &name,
                                   const HostTarget &target, const KernelPlace &place,
                                   KernelIR &kernel, std::string &error) {
  kernel = KernelIR();
  kernel.name = name;
  if (auto fold = dyn_cast<FoldBatchNormOp>(op)) {
    if (auto layout = hostLayoutOf(fold.getNewWeight()))
      return genHostFoldBatchNorm(fold, layout, place, kernel, error);
    return false;
  }
  if (!isa<FusedConvOp, FusedDeformConvOp>(op))
    return false;
  auto tile = op->getAttrOfType<CpuTileAttr>(CpuTileAttr::kAttrName);
  if (!tile) {
    error = "no dla.tile (run dla-choose-cpu-tiles first)";
    return false;
  }
  if (std::string why = checkCpuTile(op, tile, target); !why.empty()) {
    llvm::raw_string_ostream os(error);
    os << "dla.tile " << tile << ": " << why;
    return false;
  }
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return genHostFusedConv(conv, tile, place, kernel, error);
  return genHostFusedDeformConv(cast<FusedDeformConvOp>(op), tile, target, place, kernel,
                                error);
}
