//===- FusedDeformConv.cpp - The GPU-shaped kernel of fused_deform_conv ---===//
//
// Per block a TH x TW pixel tile and every output channel:
//  1. the 27 offset/mask channels of each pixel, a 3x3 conv of the input sum
//     staged chunk by chunk in workgroup memory (mask through a sigmoid);
//  2. per chunk of OCT output channels, per chunk of CT input channels: the
//     DCN weights are staged, and each thread samples its pixel's 9 points
//     bilinearly (reading the addends, upsampling on the fly) and
//     accumulates into its register tile. No im2col buffer exists anywhere.
// Both accumulators stay in registers across the barriers of their channel
// loops (one phase spans the block); the epilogue stores each value once.
//
//===----------------------------------------------------------------------===//

#include "codegen/GPU/Common.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

using arith::CmpFPredicate;

bool mlir::dla::kernelgen::genFusedDeformConv(FusedDeformConvOp op, const KernelPlace &place,
                                              KernelIR &k) {
  MLIRContext *ctx = op->getContext();
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], h = out[2], w = out[3];
  int64_t c = op.getWeight().getType().getDimSize(1);
  int64_t oct = pow2Divisor(oc, kMaxOCT), threads = TH * TW;
  int64_t tilesW = ceilDiv(w, TW), tilesH = ceilDiv(h, TH);
  int64_t ph = TH + 2, pw = TW + 2;
  k.grid = {tilesW * tilesH, 1, n};
  k.threads = threads;
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op.getResult()));
  k.scratchTypes = {memrefType(ctx, {threads, 32}), memrefType(ctx, {CT, 3, 3, 32}),
                    memrefType(ctx, {CT, 9, oct}), memrefType(ctx, {CT, ph, pw})};
  k.scratchBytes = 4 * (threads * 32 + CT * 9 * 32 + CT * 9 * oct + CT * ph * pw);
  int64_t base = op.getAddends().size() + op.getUpWeights().size();

  KernelBuilder e(place, k);
  Value om = e.scratch(0), wom = e.scratch(1), wd = e.scratch(2), xt = e.scratch(3);
  Value womArg = e.arg(base), bomArg = e.arg(base + 1), wArg = e.arg(base + 2),
        bArg = e.arg(base + 3), outArg = e.arg(base + 4);
  auto readX = [&](Value ch, Value y, Value x) {
    return readDeformInput(e, op, e.bz(), ch, y, x);
  };

  Value tileY = e.div(e.bx(), tilesW), tileX = e.rem(e.bx(), tilesW);
  Value oy0 = e.mulc(tileY, TH), ox0 = e.mulc(tileX, TW);
  // One phase spanning the block: the accumulators stay in registers across
  // the barriers of the channel loops.
  Value t = e.beginPhase(threads);
  Value ty = e.div(t, TW), tx = e.rem(t, TW);
  Value oy = e.add(oy0, ty), ox = e.add(ox0, tx);
  Value pixel = e.andi(e.ult(oy, h), e.ult(ox, w));
  // The offset/mask conv, chunk by chunk.
  auto omChunks = e.beginCarry(e.idx(0), e.idx(c), e.idx(CT), {e.zeros(32)});
  {
    Value c0 = omChunks.iv;
    Value i = e.beginStrided(t, CT * 9 * 32, threads);
    Value r = e.rem(i, 32), rest = e.div(i, 32);
    Value kx = e.rem(rest, 3);
    rest = e.div(rest, 3);
    Value ky = e.rem(rest, 3), cc = e.div(rest, 3);
    Value ci = e.add(c0, cc);
    Value valid = e.andi(e.ult(ci, c), e.ult(r, 27));
    Value v = e.load(womArg, {e.select(valid, r, e.idx(0)), e.select(valid, ci, e.idx(0)),
                              ky, kx});
    e.store(e.select(valid, v, e.f32(0)), wom, {cc, ky, kx, r});
    e.endFor();
  }
  {
    Value c0 = omChunks.iv;
    Value i = e.beginStrided(t, CT * ph * pw, threads);
    Value px = e.rem(i, pw), rest = e.div(i, pw);
    Value py = e.rem(rest, ph), cc = e.div(rest, ph);
    Value ci = e.add(c0, cc);
    Value iy = e.addc(e.add(oy0, py), -1), ix = e.addc(e.add(ox0, px), -1);
    Value valid = e.andi(e.andi(e.inRange(iy, h), e.inRange(ix, w)), e.ult(ci, c));
    Value v = e.ifValue(
        valid, [&] { return readX(ci, iy, ix); }, [&] { return e.f32(0); });
    e.store(v, xt, {cc, py, px});
    e.endFor();
  }
  e.barrier();
  Value omChunk;
  {
    auto loop = e.beginCarry(e.idx(0), e.idx(CT), e.idx(1), {omChunks.inside[0]});
    Value cc = loop.iv, sum = loop.inside[0];
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 3; ++x)
        sum = e.fma(e.broadcast(e.load(xt, {cc, e.addc(ty, y), e.addc(tx, x)}), 32),
                    e.vload(wom, {cc, e.idx(y), e.idx(x), e.idx(0)}, 32), sum);
    omChunk = e.endCarry(loop, {sum})[0];
  }
  e.barrier(); // the next chunk overwrites the staged tiles
  Value omSum = e.endCarry(omChunks, {omChunk})[0];
  // offsets = om[0:18] + bias; mask = sigmoid(om[18:27] + bias): kept in
  // the thread's own row of workgroup memory (no other thread reads it),
  // which the sampling loop indexes by kernel point.
  for (int64_t r = 0; r < 27; ++r) {
    Value v = e.addf(vector::ExtractOp::create(e.b, e.loc, omSum, ArrayRef<int64_t>{r}),
                     e.load(bomArg, {e.idx(r)}));
    if (r >= 18) {
      // 1 / (1 + exp(-v)) without overflow: exp of a non-positive number.
      Value neg = e.subf(e.f32(0), e.maxf(v, e.subf(e.f32(0), v)));
      Value ex = e.exp(neg);
      Value one = e.f32(1);
      Value denom = e.addf(one, ex);
      Value pos = e.divf(one, denom);
      Value negv = e.divf(ex, denom);
      v = e.select(e.cmpf(CmpFPredicate::OGE, v, e.f32(0)), pos, negv);
    }
    e.store(v, om, {t, e.idx(r)});
  }
  // Output channels, chunk by chunk; per chunk of CT input channels the
  // DCN weights are staged and each thread samples its pixel's 9 points.
  Value o0 = e.beginFor(0, oc, oct);
  auto chunks = e.beginCarry(e.idx(0), e.idx(c), e.idx(CT), {e.zeros(oct)});
  Value d0 = chunks.iv;
  {
    Value i = e.beginStrided(t, CT * 9 * oct, threads);
    Value r = e.rem(i, oct), rest = e.div(i, oct);
    Value kk = e.rem(rest, 9), cc = e.div(rest, 9);
    Value ci = e.add(d0, cc);
    Value valid = e.ult(ci, c);
    Value v = e.load(wArg, {e.add(o0, r), e.select(valid, ci, e.idx(0)), e.div(kk, 3),
                            e.rem(kk, 3)});
    e.store(e.select(valid, v, e.f32(0)), wd, {cc, kk, r});
    e.endFor();
  }
  e.barrier();
  Value sampled = e.ifValue(
      pixel,
      [&] {
        auto chunk = e.beginCarry(e.idx(0), e.idx(CT), e.idx(1), {chunks.inside[0]});
        Value cc = chunk.iv;
        Value ci = e.add(d0, cc);
        Value chValid = e.ult(ci, c);
        Value ciS = e.select(chValid, ci, e.idx(0));
        Value oyf = e.indexToF32(oy), oxf = e.indexToF32(ox);
        // The 9 kernel points in a loop (not unrolled): keeps the sampling
        // code, and the registers it needs, small.
        auto points = e.beginCarry(e.idx(0), e.idx(9), e.idx(1), {chunk.inside[0]});
        Value kk = points.iv;
        Value ki = e.div(kk, 3), kj = e.rem(kk, 3);
        // Sample point: y = oy - 1 + i + dy, x = ox - 1 + j + dx.
        Value y = e.addf(e.addf(oyf, e.indexToF32(ki)), e.load(om, {t, e.mulc(kk, 2)}));
        y = e.subf(y, e.f32(1));
        Value x =
            e.addf(e.addf(oxf, e.indexToF32(kj)), e.load(om, {t, e.addc(e.mulc(kk, 2), 1)}));
        x = e.subf(x, e.f32(1));
        Value m = e.load(om, {t, e.addc(kk, 18)});
        // torchvision's bilinear_interpolate.
        Value inImage = e.andi(e.andi(e.cmpf(CmpFPredicate::OGT, y, e.f32(-1)),
                                      e.cmpf(CmpFPredicate::OLT, y, e.f32(h))),
                               e.andi(e.cmpf(CmpFPredicate::OGT, x, e.f32(-1)),
                                      e.cmpf(CmpFPredicate::OLT, x, e.f32(w))));
        Value yf = e.floor(y), xf = e.floor(x);
        Value ly = e.subf(y, yf), lx = e.subf(x, xf);
        Value hy = e.subf(e.f32(1), ly), hx = e.subf(e.f32(1), lx);
        // Clamp the floors before converting: far-away samples are masked anyway.
        auto toIndex = [&](Value v, int64_t size) {
          return e.f32ToIndex(e.minf(e.maxf(v, e.f32(-2)), e.f32(size + 1)));
        };
        Value yl = toIndex(yf, h), xl = toIndex(xf, w);
        Value yh = e.addc(yl, 1), xh = e.addc(xl, 1);
        auto corner = [&](Value yy, Value xx) {
          Value valid = e.andi(inImage, e.andi(e.inRange(yy, h), e.inRange(xx, w)));
          return e.ifValue(
              valid, [&] { return readX(ciS, yy, xx); }, [&] { return e.f32(0); });
        };
        Value v1 = corner(yl, xl), v2 = corner(yl, xh), v3 = corner(yh, xl),
              v4 = corner(yh, xh);
        Value val = e.mulf(e.mulf(hy, hx), v1);
        val = e.addf(val, e.mulf(e.mulf(hy, lx), v2));
        val = e.addf(val, e.mulf(e.mulf(ly, hx), v3));
        val = e.addf(val, e.mulf(e.mulf(ly, lx), v4));
        // Outside the image the sample is 0 * mask, and NaN at a NaN position:
        // a NaN never becomes a plausible 0 (reference/Kernels.cpp).
        Value outside =
            e.mulf(e.select(e.cmpf(CmpFPredicate::UNO, y, x), e.f32(NAN), e.f32(0)), m);
        val = e.select(chValid, e.select(inImage, e.mulf(val, m), outside), e.f32(0));
        Value wv = e.vload(wd, {cc, kk, e.idx(0)}, oct);
        Value sum = e.fma(e.broadcast(val, oct), wv, points.inside[0]);
        Value pointsOut = e.endCarry(points, {sum})[0];
        return e.endCarry(chunk, {pointsOut})[0];
      },
      [&] { return chunks.inside[0]; });
  e.barrier(); // the next chunk overwrites the staged weights
  Value acc = e.endCarry(chunks, {sampled})[0];
  e.beginIf(pixel);
  for (int64_t r = 0; r < oct; ++r) {
    Value o = e.addc(o0, r);
    Value v = e.addf(vector::ExtractOp::create(e.b, e.loc, acc, ArrayRef<int64_t>{r}),
                     e.load(bArg, {o}));
    if (op.getRelu())
      v = e.maxf(v, e.f32(0));
    e.store(v, outArg, {e.bz(), o, oy, ox});
  }
  e.endIf();
  e.endFor(); // o0
  e.endPhase();
  e.finish();
  return true;
}
