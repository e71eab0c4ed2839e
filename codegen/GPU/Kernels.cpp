//===- Kernels.cpp - The small GPU-shaped kernels, and dispatch -----------===//
//
// fold_batch_norm (@init: one thread per output channel) and the pools and
// reshapes that survive fusion (one thread per output element); and
// generateKernel, which picks the GPU-shaped kernel of an op.
//
//===----------------------------------------------------------------------===//

#include "codegen/GPU/Common.h"

#include "llvm/ADT/TypeSwitch.h"

#include <limits>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

namespace {

/// One thread per output channel: scales its weights, computes its bias.
bool genFoldBatchNorm(FoldBatchNormOp op, const KernelPlace &place, KernelIR &k) {
  auto w = op.getWeight().getType().getShape();
  int64_t out = w[0], threads = 64;
  k.grid = {ceilDiv(out, threads), 1, 1};
  k.threads = threads;
  FoldBatchNormArgs args(op, k);

  KernelBuilder e(place, k);
  Value t = e.beginPhase(threads);
  Value o = e.add(e.mulc(e.bx(), threads), t);
  e.beginIf(e.ult(o, out));
  Value scale = args.foldChannel(e, o);
  Value ci = e.beginFor(0, w[1]);
  Value y = e.beginFor(0, w[2]);
  Value x = e.beginFor(0, w[3]);
  Value nw = e.mulf(e.load(e.arg(args.weight), {o, ci, y, x}), scale);
  e.store(nw, e.arg(args.newWeight), {o, ci, y, x});
  e.endFor();
  e.endFor();
  e.endFor();
  e.endIf();
  e.endPhase();
  e.finish();
  return true;
}

/// Pools and reshapes that survive fusion (the Tree's max-pooled residual,
/// the classifier's average pool and flatten).
bool genElementwise(Operation *op, const KernelPlace &place, KernelIR &k, std::string &error) {
  if (!isa<MaxPool2dOp, AvgPool2dOp, FlattenOp>(op)) {
    error = "no kernel generator for '" + op->getName().getStringRef().str() + "' yet";
    return false;
  }
  auto out = llvm::cast<ShapedType>(op->getResult(0).getType());
  int64_t total = out.getNumElements(), threads = 256;
  k.grid = {ceilDiv(total, threads), 1, 1};
  k.threads = threads;
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op->getResult(0)));

  KernelBuilder e(place, k);
  Value in = e.arg(0), result = e.arg(op->getNumOperands());
  Value t = e.beginPhase(threads);
  Value i = e.add(e.mulc(e.bx(), threads), t);
  e.beginIf(e.ult(i, total));
  // Output coordinates (row-major).
  llvm::SmallVector<Value> coord(out.getRank());
  Value rest = i;
  for (int64_t d = out.getRank() - 1; d >= 0; --d) {
    coord[d] = e.rem(rest, out.getDimSize(d));
    rest = e.div(rest, out.getDimSize(d));
  }
  llvm::TypeSwitch<Operation *>(op)
      .Case<MaxPool2dOp, AvgPool2dOp>([&](auto pool) {
        bool isMax = isa<MaxPool2dOp>(op);
        double init = isMax ? -std::numeric_limits<float>::infinity() : 0.0;
        auto inShape = pool.getInput().getType().getShape();
        ArrayRef<int64_t> kern = pool.getKernel(), st = pool.getStride(),
                          pad = pool.getPadding();
        Value acc = e.f32(init);
        for (int64_t ky = 0; ky < kern[0]; ++ky)
          for (int64_t kx = 0; kx < kern[1]; ++kx) {
            Value y = e.addc(e.mulc(coord[2], st[0]), ky - pad[0]);
            Value x = e.addc(e.mulc(coord[3], st[1]), kx - pad[1]);
            Value inside = e.andi(e.inRange(y, inShape[2]), e.inRange(x, inShape[3]));
            Value v = e.ifValue(
                inside, [&] { return e.load(in, {coord[0], coord[1], y, x}); },
                [&] { return e.f32(init); });
            acc = isMax ? e.maxf(acc, v) : e.addf(acc, v);
          }
        if (!isMax) // count_include_pad: always the window size
          acc = e.divf(acc, e.f32(double(kern[0] * kern[1])));
        e.store(acc, result, coord);
      })
      .Case([&](FlattenOp) {
        auto inType = llvm::cast<ShapedType>(op->getOperand(0).getType());
        Value r = coord[1];
        llvm::SmallVector<Value> src(4);
        src[0] = coord[0];
        for (int64_t d = 3; d >= 1; --d) {
          src[d] = e.rem(r, inType.getDimSize(d));
          r = e.div(r, inType.getDimSize(d));
        }
        e.store(e.load(in, src), result, coord);
      });
  e.endIf();
  e.endPhase();
  e.finish();
  return true;
}

} // namespace

bool mlir::dla::generateKernel(Operation *op, const std::string &name, const KernelPlace &place,
                               KernelIR &kernel, std::string &error) {
  kernel = KernelIR();
  kernel.name = name;
  // The conv and DCN kernels keep values in registers across barriers: they
  // run on a GPU or on cuda-emu, never as the host's block-after-block loop
  // (the host has CPU kernels for them).
  if (isa<FusedConvOp, FusedDeformConvOp>(op) && place.wrapper != KernelWrapper::Gpu) {
    error = "the conv and DCN kernels of codegen/GPU/ are built for the GPU only (a dlac "
            "bug: the host build runs their CPU kernels)";
    return false;
  }
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return genFusedConv(conv, place, kernel, error);
  if (auto fold = dyn_cast<FoldBatchNormOp>(op))
    return genFoldBatchNorm(fold, place, kernel);
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op))
    return genFusedDeformConv(dcn, place, kernel);
  return genElementwise(op, place, kernel, error);
}
