//===- PointwiseConv.cpp - The CPU kernel of 1x1 fused_convs --------------===//
//
// A 1x1 conv with stride 1 and no padding is a GEMM over the pixels, which
// are contiguous in NCHW: out[oc][px] = sum_c w[oc][c] x[c][px].
//  * Register tile: R output channels x VP vectors of pixels; per input
//    channel VP vector loads of x, R broadcast weights, R * VP FMAs.
//  * Blocks are OCB output channels x PXB pixels of one image. Inside a
//    block the input channels go in chunks of KC: per chunk and pixel tile,
//    the KC x VP vectors of x (a few KB, in L1) serve every R channels of
//    the block. Partial sums live in the output between chunks (in a
//    reduced-precision model, in an f32 scratch of the block, so that the
//    result is rounded once, on its last store); the last chunk adds bias
//    and residual and applies the ReLU.
//  * Max-pooled inputs (the projections) are pooled once, vectorised, into
//    the step's workspace by a first wave of blocks; the GEMM reads the
//    pooled copy.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Common.h"

#include "dialects/DLA/IR/DLAOps.h"

#include <algorithm>
#include <functional>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

bool mlir::dla::kernelgen::genHostPointwiseConv(FusedConvOp op, CpuTileAttr tileAttr,
                                                const KernelPlace &place, KernelIR &k,
                                                std::string &error) {
  MLIRContext *ctx = op->getContext();
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], ho = out[2], wo = out[3], hw = ho * wo;
  int64_t cin = op.getWeight().getType().getDimSize(1);
  // The tile (codegen/CPU/Tiles.cpp): R channels x VP vectors of VW pixels,
  // blocks of OCB channels x PXB pixels, KC input channels a chunk.
  int64_t VW = tileAttr.getLanes();
  int64_t R = tileAttr.getTile()[0], VP = tileAttr.getTile()[1];
  int64_t tile = VP * VW;
  int64_t OCB = tileAttr.getBlock()[0], PXB = tileAttr.getBlock()[1], KC = tileAttr.getChunk();
  int64_t ocBlocks = ceilDiv(oc, OCB), pxBlocks = ceilDiv(hw, PXB);
  int64_t tailV = (hw % tile) / VW; // vectors of the last block's last tile

  // Activations flat over the pixels (the same memory as NCHW); max-pooled
  // inputs keep their shape for wave 1, which pools them into the
  // workspace [n][pooled channels][hw].
  auto flat = [&](Value v) {
    auto shape = llvm::cast<ShapedType>(v.getType()).getShape();
    return memrefType(v, {shape[0], shape[1], shape[2] * shape[3]});
  };
  int64_t numInputs = op.getInputs().size();
  std::vector<int64_t> wsOffset(numInputs, -1);
  int64_t pooledChannels = 0;
  for (auto [i, v] : llvm::enumerate(op.getInputs())) {
    bool pooled = op.getPool()[i] != 1;
    k.argTypes.push_back(pooled ? memrefType(v) : flat(v));
    if (pooled) {
      wsOffset[i] = pooledChannels;
      pooledChannels += llvm::cast<ShapedType>(v.getType()).getDimSize(1);
    }
  }
  HostLayoutAttr layout = hostLayoutOf(op.getWeight());
  int64_t ob = layout ? layout.getOcBlock() : 0;
  k.argTypes.push_back(ob > 0 ? memrefType(op.getWeight(), {oc / ob, cin, ob})
                              : memrefType(op.getWeight(), {oc, cin}));
  int64_t next = numInputs + 1;
  int64_t biasArg = -1, residualArg = -1;
  if (op.getBias()) {
    biasArg = next++;
    k.argTypes.push_back(memrefType(op.getBias()));
  }
  if (op.getResidual()) {
    residualArg = next++;
    k.argTypes.push_back(flat(op.getResidual()));
  }
  int64_t outArg = next;
  k.argTypes.push_back(flat(op.getResult()));
  // Wave 1: per image, chunks of PCH pooled channels.
  int64_t PCH = 0, poolBlocks = 0;
  if (pooledChannels) {
    k.argTypes.push_back(memrefType(ctx, {n, pooledChannels, hw}));
    k.hostWorkspaceBytes = 4 * n * pooledChannels * hw;
    // Blocks of 4 to 64 KB of pooled values, 8 of them when that allows.
    PCH = std::clamp(ceilDiv(n * pooledChannels, 8), ceilDiv(1024, hw), ceilDiv(16384, hw));
    poolBlocks = n * ceilDiv(pooledChannels, PCH);
    k.hostWaves = {poolBlocks, n * ocBlocks * pxBlocks};
  }
  k.grid = {poolBlocks + n * ocBlocks * pxBlocks, 1, 1};
  k.threads = 1;
  // An output stored in a reduced precision (f16, bf16, tf32) would round
  // the partial sums it held between chunks: they go to an f32 scratch of
  // the block's OCB x PXB sums instead, and only the result is stored.
  bool f32Partials = !k.argTypes[outArg].getElementType().isF32();
  if (f32Partials)
    k.scratchTypes.push_back(memrefType(ctx, {OCB, PXB}));

  KernelBuilder e(place, k);
  Value weight = e.arg(numInputs), output = e.arg(outArg);
  Value ws = pooledChannels ? e.arg(outArg + 1) : Value();
  Value partials = f32Partials ? e.scratch(0) : Value();
  Value zero = e.zeros(VW);
  Value bx = e.bx();
  if (pooledChannels) {
    e.beginIf(e.ult(e.bx(), poolBlocks), /*withElse=*/true);
    Value chunks = e.idx(ceilDiv(pooledChannels, PCH));
    Value img = e.divui(e.bx(), chunks), cb = e.remui(e.bx(), chunks);
    Value c0 = e.mulc(cb, PCH);
    Value cEnd = e.minui(e.idx(PCH), e.sub(e.idx(pooledChannels), c0));
    Value cc = e.beginFor(e.idx(0), cEnd);
    Value c = e.add(c0, cc);
    // The input holding workspace channel c.
    std::function<void(int64_t)> pick = [&](int64_t in) {
      int64_t last = in;
      for (int64_t j = in + 1; j < numInputs; ++j)
        if (wsOffset[j] >= 0)
          last = j;
      auto pool = [&] {
        emitPoolChannel(e, e.arg(in), op.getPool()[in], img,
                        e.sub(c, e.idx(wsOffset[in])), ws, c, ho, wo, VW);
      };
      if (in == last) {
        pool();
        return;
      }
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      e.beginIf(e.ult(c, wsOffset[in] + ci), /*withElse=*/true);
      pool();
      e.beginElse();
      int64_t nextPooled = in + 1;
      while (wsOffset[nextPooled] < 0)
        ++nextPooled;
      pick(nextPooled);
      e.endIf();
    };
    int64_t firstPooled = 0;
    while (wsOffset[firstPooled] < 0)
      ++firstPooled;
    pick(firstPooled);
    e.endFor();
    e.beginElse();
    bx = e.sub(e.bx(), e.idx(poolBlocks));
  }
  Value pb = e.rem(bx, pxBlocks), r1 = e.div(bx, pxBlocks);
  Value obk = e.rem(r1, ocBlocks), img = e.div(r1, ocBlocks);
  Value oc0 = e.mulc(obk, OCB), px0 = e.mulc(pb, PXB);
  Value pxEnd = e.minui(e.idx(PXB), e.sub(e.idx(hw), px0));
  Value fullEnd = e.mulc(e.div(pxEnd, tile), tile);
  // One pixel tile of nv vectors at pixel pxs: every input channel in
  // chunks, every R channels of the block per chunk. The tile's partial sums
  // (OCB x nv vectors) stay in L1 between chunks.
  auto pixelTile = [&](Value pxs, int64_t nv) {
    int64_t begin = 0;
    for (int64_t in = 0; in < numInputs; ++in) {
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      bool pooled = wsOffset[in] >= 0;
      Value src = pooled ? ws : e.arg(in);
      int64_t srcBase = pooled ? wsOffset[in] : 0;
      Value k0 = e.beginFor(0, ci, KC);
      Value kEnd = e.minui(e.idx(KC), e.sub(e.idx(ci), k0));
      Value first = in == 0 ? e.cmpi(arith::CmpIPredicate::eq, k0, e.idx(0)) : Value();
      Value last = in + 1 == numInputs
                       ? e.cmpi(arith::CmpIPredicate::uge, e.addc(k0, KC), e.idx(ci))
                       : Value();
      Value orow = e.beginFor(0, OCB, R);
      Value o0 = e.add(oc0, orow);
      e.beginIf(e.ult(o0, oc));
      llvm::SmallVector<Value> oS(R), px(nv), acc;
      for (int64_t r = 0; r < R; ++r) // rows past the channels read the last one
        oS[r] = e.minui(e.addc(o0, r), e.idx(oc - 1));
      for (int64_t j = 0; j < nv; ++j)
        px[j] = e.addc(pxs, j * VW);
      // Where the partial sums of (channel, pixel) are kept between chunks.
      auto partialAt = [&](Value o, Value p) -> std::pair<Value, llvm::SmallVector<Value>> {
        if (partials)
          return {partials, {e.sub(o, oc0), e.sub(p, px0)}};
        return {output, {img, o, p}};
      };
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < nv; ++j) {
          auto [buffer, at] = partialAt(oS[r], px[j]);
          Value v = e.vload(buffer, at, VW);
          acc.push_back(first ? e.select(first, zero, v) : v);
        }
      auto loop = e.beginCarry(e.idx(0), kEnd, e.idx(1), acc);
      llvm::SmallVector<Value> a = loop.inside;
      Value cl = e.add(k0, loop.iv);
      Value c = e.addc(cl, begin), cs = e.addc(cl, srcBase);
      llvm::SmallVector<Value> xv;
      for (int64_t j = 0; j < nv; ++j)
        xv.push_back(e.vload(src, {img, cs, px[j]}, VW));
      // The weights stream from memory (a deep Root's are MBs, read once):
      // prefetch the next chunk's line of this row (the R rows share it).
      if (ob > 0) {
        Value ahead = e.minui(e.addc(c, KC), e.idx(cin - 1));
        e.prefetch(weight, {e.div(oS[0], ob), ahead, e.rem(oS[0], ob)});
      }
      for (int64_t r = 0; r < R; ++r) {
        Value wv = ob > 0 ? e.load(weight, {e.div(oS[r], ob), c, e.rem(oS[r], ob)})
                          : e.load(weight, {oS[r], c});
        fmaRow(e, e.broadcast(wv, VW), xv, a, r * nv);
      }
      acc = e.endCarry(loop, a);
      for (int64_t r = 0; r < R; ++r) {
        Value o = e.addc(o0, r);
        e.beginIf(e.ult(o, oc));
        Value bias;
        if (last && biasArg >= 0)
          bias = e.broadcast(e.load(e.arg(biasArg), {o}), VW);
        for (int64_t j = 0; j < nv; ++j) {
          Value v = acc[r * nv + j];
          Value f = v;
          if (last) {
            if (bias)
              f = e.addf(f, bias);
            if (residualArg >= 0)
              f = e.addf(f, e.vload(e.arg(residualArg), {img, o, px[j]}, VW));
            if (op.getRelu())
              f = e.maxf(f, zero);
          }
          if (!partials) {
            e.vstore(last ? e.select(last, f, v) : v, output, {img, o, px[j]});
            continue;
          }
          // The result is stored (rounded) once; partial sums stay f32.
          auto [buffer, at] = partialAt(o, px[j]);
          if (!last) {
            e.vstore(v, buffer, at);
            continue;
          }
          e.beginIf(last, /*withElse=*/true);
          e.vstore(f, output, {img, o, px[j]});
          e.beginElse();
          e.vstore(v, buffer, at);
          e.endIf();
        }
        e.endIf();
      }
      e.endIf();
      e.endFor(); // orow
      e.endFor(); // k0
      begin += ci;
    }
  };
  Value pt = e.beginFor(e.idx(0), fullEnd, tile);
  pixelTile(e.add(px0, pt), VP);
  e.endFor();
  if (tailV) {
    e.beginIf(e.ult(fullEnd, pxEnd));
    pixelTile(e.add(px0, fullEnd), tailV);
    e.endIf();
  }
  if (pooledChannels)
    e.endIf();
  e.finish();
  return true;
}
