//===- FusedDeformConv.cpp - The CPU kernel of fused_deform_conv ----------===//
//
// The DCN runs in two waves: x = the sum of its (upsampled) addends into a
// channels-last workspace with a zero border, then per block of rows the
// offset/mask conv, the bilinear samples of P pixels (vectorised over
// channels) and samples x packed weights in a register tile of P pixels x V
// vectors of output channels. There is no im2col buffer beyond the P pixels
// of one register tile. docs/codegen.md has the details.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Common.h"

#include "dialects/DLA/IR/DLAOps.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

//===----------------------------------------------------------------------===//
// fused_deform_conv
//===----------------------------------------------------------------------===//

/// Two waves of blocks (the runtime finishes the first before the second):
///  1. x = Σ addends (upsampled on the fly) for every pixel, channels-last
///     [image][row + 1][col + 1][channel] with a zero border, into the step's
///     workspace: each value once, whatever the offsets;
///  2. per block, TR output rows of one image, all output channels; per P
///     pixels of a row: the offset/mask conv from the workspace (register
///     tile of POM pixels x the 27 channels padded to OMV vectors), the
///     sigmoid, the 9 bilinear samples of every channel (vectorised over
///     channels, no bounds checks inside the image thanks to the border),
///     then samples x weights in a P x V register tile, bias and ReLU.
/// The DCN weights are read packed [k][channel][out] when @init packed them,
/// else repacked per block; the offset/mask weights are repacked per block.
bool mlir::dla::kernelgen::genHostFusedDeformConv(FusedDeformConvOp op, CpuTileAttr tile,
                                                  const HostTarget &target,
                                                  const KernelPlace &place, KernelIR &k,
                                                  std::string &error) {
  if (!(error = checkWeightLayout(op, op.getWeight())).empty())
    return false;
  MLIRContext *ctx = op->getContext();
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], h = out[2], w = out[3];
  int64_t c = op.getWeight().getType().getDimSize(1);
  // The tile (codegen/CPU/Tiles.cpp): P pixels x V vectors of VW output
  // channels, blocks of TR output rows.
  int64_t VW = tile.getLanes(), P = tile.getTile()[0], V = tile.getTile()[1], OB = V * VW;
  int64_t CP = roundUp(c, VW), OMV = ceilDiv(32, VW), OM = OMV * VW;
  int64_t OCP = roundUp(oc, OB);
  bool packed = static_cast<bool>(hostLayoutOf(op.getWeight()));
  int64_t accumulators = target.registers >= 32 ? 16 : 8;
  int64_t POM = 1;
  for (int64_t d = 1; d <= P; ++d)
    if (P % d == 0 && d * OMV <= accumulators)
      POM = d;
  int64_t XWP = roundUp(w, P), XW = XWP + 2, XH = h + 2;
  // Wave 1: rows of x; wave 2: TR output rows a block.
  int64_t xRows = ceilDiv(XH, 8), xBlocks = ceilDiv(XH, xRows);
  int64_t TR = tile.getBlock()[0];
  int64_t rowTiles = ceilDiv(h, TR);
  int64_t wave1 = n * xBlocks, wave2 = n * rowTiles;
  k.grid = {wave1 + wave2, 1, 1};
  k.threads = 1;
  k.hostWaves = {wave1, wave2};
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op.getResult()));
  int64_t base = op.getAddends().size() + op.getUpWeights().size();
  if (packed)
    k.argTypes[base + 2] = memrefType(op.getWeight(), {9, c, oc});
  k.argTypes.push_back(memrefType(ctx, {n, XH, XW, CP}));
  k.hostWorkspaceBytes = 4 * n * XH * XW * CP;
  k.scratchTypes = {memrefType(ctx, {9, CP, packed ? 1 : OCP}), memrefType(ctx, {9, CP, OM}),
                    memrefType(ctx, {P, OM}), memrefType(ctx, {P, 9, CP}),
                    memrefType(ctx, {P, OB})};
  k.scratchBytes =
      4 * (9 * CP * (packed ? 1 : OCP) + 9 * CP * OM + P * OM + P * 9 * CP + P * OB);

  KernelBuilder e(place, k);
  Value womArg = e.arg(base), bomArg = e.arg(base + 1), wArg = e.arg(base + 2),
        bArg = e.arg(base + 3), outArg = e.arg(base + 4), xArg = e.arg(base + 5);
  Value wdT = e.scratch(0), womT = e.scratch(1), omT = e.scratch(2), colT = e.scratch(3),
        epT = e.scratch(4);
  e.beginIf(e.ult(e.bx(), wave1), /*withElse=*/true);
  // Wave 1: rows [rb * xRows, ...) of x (row -1 and row h are the border).
  {
    Value img = e.div(e.bx(), xBlocks), rb = e.rem(e.bx(), xBlocks);
    Value y0 = e.mulc(rb, xRows);
    Value yEnd = e.minui(e.idx(XH), e.addc(y0, xRows));
    Value yy = e.beginFor(y0, yEnd);
    Value y = e.sub(yy, e.idx(1));
    Value rowIn = e.inRange(y, h);
    Value cc = e.beginFor(0, CP);
    Value chIn = e.andi(rowIn, e.ult(cc, e.idx(c)));
    Value xx = e.beginFor(0, XW);
    Value x = e.sub(xx, e.idx(1));
    Value valid = e.andi(chIn, e.inRange(x, w));
    Value zero = e.f32(0);
    Value v = e.ifValue(
        valid, [&] { return readDeformInput(e, op, img, cc, y, x); }, [&] { return zero; });
    e.store(v, xArg, {img, yy, xx, cc});
    e.endFor();
    e.endFor();
    e.endFor();
  }
  e.beginElse();
  Value b2 = e.sub(e.bx(), e.idx(wave1));
  Value img = e.div(b2, rowTiles), rt = e.rem(b2, rowTiles);
  Value r0 = e.mulc(rt, TR);
  // Weights [k][channel][out] of a [out][channel][3][3] weight, zero past
  // `valid` outputs and the channels.
  auto repack = [&](int64_t outs, int64_t valid, Value src, Value dst) {
    Value o = e.beginFor(0, outs);
    Value oValid = e.ult(o, e.idx(valid));
    Value cc = e.beginFor(0, CP);
    Value ok = e.andi(oValid, e.ult(cc, e.idx(c)));
    Value oS = e.select(ok, o, e.idx(0));
    Value cS = e.select(ok, cc, e.idx(0));
    for (int64_t kk = 0; kk < 9; ++kk) {
      Value v = e.load(src, {oS, cS, e.idx(kk / 3), e.idx(kk % 3)});
      e.store(e.select(ok, v, e.f32(0)), dst, {e.idx(kk), cc, o});
    }
    e.endFor();
    e.endFor();
  };
  if (!packed)
    repack(OCP, oc, wArg, wdT);
  repack(OM, 27, womArg, womT);
  Value rEnd = e.minui(e.idx(TR), e.sub(e.idx(h), r0));
  Value r = e.beginFor(e.idx(0), rEnd);
  Value y = e.add(r0, r);
  Value yF = e.indexToF32(y);
  Value x0 = e.beginFor(0, XWP, P);
  // The offset/mask conv of the P pixels: x row y - 1 + ky is row y + ky of
  // the workspace, column x - 1 + kx is column x + kx.
  {
    Value q = e.beginFor(0, P, POM);
    Value zero = e.zeros(VW);
    llvm::SmallVector<Value> init(POM * OMV, zero);
    auto loop = e.beginCarry(e.idx(0), e.idx(CP), e.idx(1), init);
    llvm::SmallVector<Value> acc = loop.inside;
    Value xq = e.add(x0, q);
    for (int64_t ky = 0; ky < 3; ++ky)
      for (int64_t kx = 0; kx < 3; ++kx) {
        llvm::SmallVector<Value> wv;
        for (int64_t j = 0; j < OMV; ++j)
          wv.push_back(e.vload(womT, {e.idx(ky * 3 + kx), loop.iv, e.idx(j * VW)}, VW));
        Value row = e.addc(y, ky);
        for (int64_t p = 0; p < POM; ++p) {
          Value xb = e.broadcast(e.load(xArg, {img, row, e.addc(xq, p + kx), loop.iv}), VW);
          fmaRow(e, xb, wv, acc, p * OMV);
        }
      }
    llvm::SmallVector<Value> res = e.endCarry(loop, acc);
    for (int64_t p = 0; p < POM; ++p)
      for (int64_t j = 0; j < OMV; ++j)
        e.vstore(res[p * OMV + j], omT, {e.addc(q, p), e.idx(j * VW)});
    e.endFor();
  }
  // The samples: col[p][k][channel] = mask * bilinear(x, point).
  {
    Value p = e.beginFor(0, P);
    Value pxF = e.indexToF32(e.add(x0, p));
    Value kk = e.beginFor(0, 9);
    Value ki = e.div(kk, 3), kj = e.rem(kk, 3);
    auto om = [&](Value ch) { return e.addf(e.load(omT, {p, ch}), e.load(bomArg, {ch})); };
    Value dy = om(e.mulc(kk, 2)), dx = om(e.addc(e.mulc(kk, 2), 1));
    Value ml = om(e.addc(kk, 18));
    // 1 / (1 + exp(-v)) without overflow: exp of a non-positive number.
    Value neg = e.subf(e.f32(0), e.maxf(ml, e.subf(e.f32(0), ml)));
    Value ex = e.exp(neg);
    Value one = e.f32(1);
    Value denom = e.addf(one, ex);
    Value m = e.select(e.cmpf(arith::CmpFPredicate::OGE, ml, e.f32(0)), e.divf(one, denom),
                       e.divf(ex, denom));
    Value ys = e.addf(e.addf(yF, e.indexToF32(ki)), dy);
    ys = e.subf(ys, one);
    Value xs = e.addf(e.addf(pxF, e.indexToF32(kj)), dx);
    xs = e.subf(xs, one);
    // torchvision's bilinear_interpolate: 0 outside (-1, h) x (-1, w);
    // corners outside the image read the zero border.
    Value inImage = e.andi(e.andi(e.cmpf(arith::CmpFPredicate::OGT, ys, e.f32(-1)),
                                  e.cmpf(arith::CmpFPredicate::OLT, ys, e.f32(h))),
                           e.andi(e.cmpf(arith::CmpFPredicate::OGT, xs, e.f32(-1)),
                                  e.cmpf(arith::CmpFPredicate::OLT, xs, e.f32(w))));
    e.beginIf(inImage, /*withElse=*/true);
    {
      Value yf = e.floor(ys);
      Value xf = e.floor(xs);
      Value ly = e.subf(ys, yf), lx = e.subf(xs, xf);
      Value hy = e.subf(one, ly), hx = e.subf(one, lx);
      // floor in [-1, size - 1]: border row/column index floor + 1.
      auto toIndex = [&](Value v) { return e.f32ToIndex(e.addf(v, one)); };
      Value rl = toIndex(yf), cl = toIndex(xf);
      Value rh = e.addc(rl, 1), ch = e.addc(cl, 1);
      Value w1 = e.mulf(e.mulf(hy, hx), m);
      Value w2 = e.mulf(e.mulf(hy, lx), m);
      Value w3 = e.mulf(e.mulf(ly, hx), m);
      Value w4 = e.mulf(e.mulf(ly, lx), m);
      Value b1 = e.broadcast(w1, VW), bw2 = e.broadcast(w2, VW), b3 = e.broadcast(w3, VW),
            b4 = e.broadcast(w4, VW);
      Value cv = e.beginFor(0, CP, VW);
      Value v = e.mulf(b1, e.vload(xArg, {img, rl, cl, cv}, VW));
      v = e.fma(bw2, e.vload(xArg, {img, rl, ch, cv}, VW), v);
      v = e.fma(b3, e.vload(xArg, {img, rh, cl, cv}, VW), v);
      v = e.fma(b4, e.vload(xArg, {img, rh, ch, cv}, VW), v);
      e.vstore(v, colT, {p, kk, cv});
      e.endFor();
    }
    e.beginElse();
    {
      // 0 * mask outside the image, NaN at a NaN position: a NaN never
      // becomes a plausible 0 (reference/Kernels.cpp).
      Value fill = e.mulf(
          e.select(e.cmpf(arith::CmpFPredicate::UNO, ys, xs), e.f32(NAN), e.f32(0)), m);
      Value vfill = e.broadcast(fill, VW);
      Value cv = e.beginFor(0, CP, VW);
      e.vstore(vfill, colT, {p, kk, cv});
      e.endFor();
    }
    e.endIf();
    e.endFor();
    e.endFor();
  }
  // Samples x weights, OB output channels at a time.
  {
    Value ob = e.beginFor(0, OCP, OB);
    Value zero = e.zeros(VW);
    llvm::SmallVector<Value> init(P * V, zero);
    auto loop = e.beginCarry(e.idx(0), e.idx(CP), e.idx(1), init);
    llvm::SmallVector<Value> acc = loop.inside;
    for (int64_t kk = 0; kk < 9; ++kk) {
      llvm::SmallVector<Value> wv;
      for (int64_t v = 0; v < V; ++v)
        wv.push_back(packed ? e.vload(wArg, {e.idx(kk), loop.iv, e.addc(ob, v * VW)}, VW)
                            : e.vload(wdT, {e.idx(kk), loop.iv, e.addc(ob, v * VW)}, VW));
      for (int64_t p = 0; p < P; ++p) {
        Value xb = e.broadcast(e.load(colT, {e.idx(p), e.idx(kk), loop.iv}), VW);
        fmaRow(e, xb, wv, acc, p * V);
      }
    }
    llvm::SmallVector<Value> res = e.endCarry(loop, acc);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t v = 0; v < V; ++v)
        e.vstore(res[p * V + v], epT, {e.idx(p), e.idx(v * VW)});
    Value oEnd = e.minui(e.idx(OB), e.sub(e.idx(oc), ob));
    Value o = e.beginFor(e.idx(0), oEnd);
    Value oAbs = e.add(ob, o);
    Value bias = e.load(bArg, {oAbs});
    Value pEnd = e.minui(e.idx(P), e.sub(e.idx(w), x0));
    Value p = e.beginFor(e.idx(0), pEnd);
    Value v = e.addf(e.load(epT, {p, o}), bias);
    if (op.getRelu())
      v = e.maxf(v, e.f32(0));
    e.store(v, outArg, {img, oAbs, y, e.add(x0, p)});
    e.endFor();
    e.endFor();
    e.endFor();
  }
  e.endFor(); // x0
  e.endFor(); // r
  e.endIf();
  e.finish();
  (void)error;
  return true;
}
