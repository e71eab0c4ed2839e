//===- FoldBatchNorm.cpp - The CPU kernel of fold_batch_norm, and dispatch -===//
//
// @init's fold_batch_norm on the host packs the folded weight for the CPU
// conv that reads it (the layout HostPacking chose). generateHostKernel
// picks the CPU kernel of an op, if it has one.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Common.h"

#include "dialects/DLA/IR/DLAOps.h"

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

/// `ob` > 0: the conv layout [out / ob][cin * kh * kw][ob]; kPackDeform: the
/// DCN layout [kh * kw][cin][out].
bool mlir::dla::kernelgen::genHostFoldBatchNorm(FoldBatchNormOp op, int64_t ob,
                                                const KernelPlace &place, KernelIR &k) {
  MLIRContext *ctx = op->getContext();
  auto w = op.getWeight().getType().getShape();
  int64_t out = w[0], per = w[1] * w[2] * w[3], perBlock = 16;
  k.grid = {ceilDiv(out, perBlock), 1, 1};
  k.threads = 1;
  FoldBatchNormArgs args(op, k);
  // Both weights flat: [out][per] in, packed out.
  int64_t taps = w[2] * w[3];
  k.argTypes[args.weight] = memrefType(ctx, {out, per});
  k.argTypes[args.newWeight] = ob == kPackDeform ? memrefType(ctx, {taps, w[1], out})
                                                 : memrefType(ctx, {out / ob, per, ob});

  KernelBuilder e(place, k);
  Value o0 = e.mulc(e.bx(), perBlock);
  Value oEnd = e.minui(e.idx(perBlock), e.sub(e.idx(out), o0));
  Value oo = e.beginFor(e.idx(0), oEnd);
  Value o = e.add(o0, oo);
  Value scale = args.foldChannel(e, o);
  Value j = e.beginFor(0, per);
  Value nw = e.mulf(e.load(e.arg(args.weight), {o, j}), scale);
  if (ob == kPackDeform)
    e.store(nw, e.arg(args.newWeight), {e.rem(j, taps), e.div(j, taps), o});
  else
    e.store(nw, e.arg(args.newWeight), {e.div(o, ob), j, e.rem(o, ob)});
  e.endFor();
  e.endFor();
  e.finish();
  return true;
}

int64_t mlir::dla::hostDeformPack(Operation *fusedDeformConv, const HostTarget &target) {
  auto op = cast<FusedDeformConvOp>(fusedDeformConv);
  auto out = op.getType().getShape();
  int64_t c = op.getWeight().getType().getDimSize(1);
  Tile tile = chooseTile(target, out[1], out[3]);
  return c % tile.vw == 0 && out[1] % (tile.v * tile.vw) == 0 ? kPackDeform : 0;
}

int64_t mlir::dla::hostConvPackBlock(Operation *fusedConv, const HostTarget &target) {
  auto op = cast<FusedConvOp>(fusedConv);
  auto out = op.getType().getShape();
  int64_t og = op.getWeight().getType().getDimSize(0) / op.getGroups();
  Tile tile = chooseTile(target, og, out[3]);
  int64_t ob = tile.v * tile.vw;
  return og % ob == 0 ? ob : 0;
}

bool mlir::dla::generateHostKernel(Operation *op, const std::string &name,
                                   const HostTarget &target, const HostPacking &packing,
                                   const KernelPlace &place, KernelIR &kernel,
                                   std::string &error) {
  kernel = KernelIR();
  kernel.name = name;
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return genHostFusedConv(conv, target, packing, place, kernel, error);
  if (auto fold = dyn_cast<FoldBatchNormOp>(op))
    if (int64_t ob = packing.packed.lookup(fold->getResult(0)))
      return genHostFoldBatchNorm(fold, ob, place, kernel);
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op))
    return genHostFusedDeformConv(dcn, target, packing, place, kernel, error);
  return false;
}
