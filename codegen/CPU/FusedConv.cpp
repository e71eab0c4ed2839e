//===- FusedConv.cpp - The CPU kernel of fused_conv ------------------===//
//
// The CPU kernel of fused_conv (1x1 convs without stride or padding are the
// GEMM of PointwiseConv.cpp):
//  * a register tile of P output pixels x V vectors of output channels,
//    carried through the reduction loop as scf.for iter_args so that LLVM
//    keeps it in registers; each step is one weight vector load per V, one
//    broadcast input per P and P*V fused multiply-adds;
//  * per block (a tile of rows and columns of one image and one block of
//    output channels), the input patch is staged with its zero padding,
//    pooling and concat resolved, chunk of input channels by chunk, so the
//    inner loop has no bounds checks; the weights come packed by @init
//    ([oc / OB][ci][ky][kx][OB]) or are repacked per block;
//  * a Tree's projected residual (`project`) is one more reduction of the
//    same register tiles, over the pooled input's channels; a narrow tail
//    conv (`then`, a head's 1x1 to 2 channels) is folded in the epilogue,
//    the block covering every channel of its pixels;
//  * blocks are independent: the runtime's threads take them from a shared
//    counter (docs/runtime.md), so results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Common.h"

#include "dialects/DLA/IR/DLAOps.h"

#include <algorithm>
#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

namespace {

/// The input patch [cc][iy][ix] in xs of the block at (img, oy0, ox0), the
/// chunk of CK channels from c0 of the group from channel cbase: the input
/// holding the channel is chosen once per channel, then its rows are copied
/// (pooled) with zero padding.
void stagePatch(KernelBuilder &e, FusedConvOp op, Value xs, Value img, Value oy0, Value ox0,
                Value cbase, Value c0, int64_t cg, int64_t CK, int64_t IH, int64_t IW,
                int64_t s, int64_t pad, int64_t hin, int64_t win, int64_t VW) {
  int64_t numInputs = op.getInputs().size();
  Value cc = e.beginFor(0, CK);
  Value cl = e.add(c0, cc);
  Value c = e.add(cbase, cl);
  Value chValid = e.ult(cl, cg);
  auto copyRows = [&](int64_t in, Value local) {
    int64_t p = op.getPool()[in];
    Value iy = e.beginFor(0, IH);
    Value yIn = e.sub(e.add(e.mulc(oy0, s), iy), e.idx(pad));
    Value rowValid = e.andi(chValid, e.inRange(yIn, hin));
    if (p == 1) {
      // A row: zeros left of the image, the image's columns [a, b) copied
      // a vector at a time (then one by one), zeros right of it.
      auto zeros = [&](Value from, Value to) {
        Value ix = e.beginFor(from, to);
        e.store(e.f32(0), xs, {cc, iy, ix});
        e.endFor();
      };
      e.beginIf(rowValid, /*withElse=*/true);
      Value shift = e.sub(e.mulc(ox0, s), e.idx(pad)); // xIn - ix
      auto clampIW = [&](Value v) { return e.minsi(e.maxsi(v, e.idx(0)), e.idx(IW)); };
      Value a = clampIW(e.sub(e.idx(0), shift));
      Value b = clampIW(e.sub(e.idx(win), shift));
      Value vecEnd = e.add(a, e.mulc(e.div(e.sub(b, a), VW), VW));
      zeros(e.idx(0), a);
      Value ixv = e.beginFor(a, vecEnd, VW);
      e.vstore(e.vload(e.arg(in), {img, local, yIn, e.add(ixv, shift)}, VW), xs,
               {cc, iy, ixv});
      e.endFor();
      Value ixs = e.beginFor(vecEnd, b);
      e.store(e.load(e.arg(in), {img, local, yIn, e.add(ixs, shift)}), xs, {cc, iy, ixs});
      e.endFor();
      zeros(b, e.idx(IW));
      e.beginElse();
      zeros(e.idx(0), e.idx(IW));
      e.endIf();
      e.endFor();
      return;
    }
    Value ix = e.beginFor(0, IW);
    Value xIn = e.sub(e.add(e.mulc(ox0, s), ix), e.idx(pad));
    Value valid = e.andi(rowValid, e.inRange(xIn, win));
    Value zero = e.f32(0);
    Value v = e.ifValue(
        valid,
        [&]() -> Value {
          if (p == 1)
            return e.load(e.arg(in), {img, local, yIn, xIn});
          Value m = e.f32(-std::numeric_limits<float>::infinity());
          for (int64_t dy = 0; dy < p; ++dy)
            for (int64_t dx = 0; dx < p; ++dx)
              m = e.maxf(m, e.load(e.arg(in), {img, local, e.addc(e.mulc(yIn, p), dy),
                                               e.addc(e.mulc(xIn, p), dx)}));
          return m;
        },
        [&] { return zero; });
    e.store(v, xs, {cc, iy, ix});
    e.endFor();
    e.endFor();
  };
  // Nested scf.if on the channel ranges of the inputs (the Root's concat).
  std::function<void(int64_t, int64_t)> pick = [&](int64_t in, int64_t begin) {
    Value cS = e.select(chValid, c, e.idx(begin));
    Value local = e.sub(cS, e.idx(begin));
    if (in + 1 == numInputs) {
      copyRows(in, local);
      return;
    }
    int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
    e.beginIf(e.ult(cS, begin + ci), /*withElse=*/true);
    copyRows(in, local);
    e.beginElse();
    pick(in + 1, begin + ci);
    e.endIf();
  };
  pick(0, 0);
  e.endFor();
}

} // namespace

bool mlir::dla::kernelgen::genHostFusedConv(FusedConvOp op, CpuTileAttr tile,
                                            const KernelPlace &place, KernelIR &k,
                                            std::string &error) {
  for (Value w : {op.getWeight(), op.getResidualWeight()})
    if (w && !(error = checkWeightLayout(op, w)).empty())
      return false;
  if (tile.getForm() == CpuKernel::gemm)
    return genHostPointwiseConv(op, tile, place, k, error);
  MLIRContext *ctx = op->getContext();
  auto out = op.getType().getShape();
  auto w = op.getWeight().getType().getShape();
  // oc: the conv's own channels (the result has the tail's with `then`).
  int64_t n = out[0], oc = w[0], ho = out[2], wo = out[3];
  int64_t kh = w[2], kw = w[3], groups = op.getGroups(), cg = w[1], og = oc / groups;
  int64_t s = op.getStride()[0], pad = op.getPadding()[0], dil = op.getDilation()[0];
  if (op.getStride()[1] != s || op.getPadding()[1] != pad || op.getDilation()[1] != dil) {
    error = "non-square stride/padding/dilation";
    return false;
  }
  // The tile (codegen/CPU/Tiles.cpp): a register tile of P pixels x V
  // vectors of VW channels (OB = V * VW channels a block), or for the row
  // tile (conv_rows: few output channels, the stem and level 0) RR channels
  // x VR vectors of pixels along a row (VR contiguous loads from the patch
  // and RR broadcast weights for RR * VR FMAs); blocks of TR rows x TC
  // columns; CK input channels staged at a time.
  bool rowTile = tile.getForm() == CpuKernel::conv_rows;
  // 1x1 without padding (projections, Root convs): the inputs are read in
  // place, all channels in one pass, no patch is staged.
  bool direct = tile.getForm() == CpuKernel::conv_1x1;
  int64_t VW = tile.getLanes();
  int64_t RR = rowTile ? tile.getTile()[0] : 0, VR = rowTile ? tile.getTile()[1] : 0;
  int64_t P = rowTile ? 1 : tile.getTile()[0], V = rowTile ? 1 : tile.getTile()[1];
  int64_t OB = V * VW;
  int64_t ocBlocks = ceilDiv(og, OB);
  int64_t TR = tile.getBlock()[0], TC = tile.getBlock()[1], CK = tile.getChunk();
  // Weights packed by @init ([oc / OB][cg][kh][kw][OB]) are read in place;
  // otherwise each block repacks its slice into scratch.
  bool packed = static_cast<bool>(hostLayoutOf(op.getWeight()));
  // A projected residual (`project`): after the conv's input channels, each
  // register tile goes on over the residual's channels at its pixels (read
  // in place, or from the copy a first wave max-pooled into the workspace)
  // with the 1x1 weights, so the projection adds into the accumulators and
  // the projected map never exists.
  bool project = static_cast<bool>(op.getResidualWeight());
  // A tail (`then`: a 1x1 conv to T channels after the ReLU): each block
  // computes every channel of its pixels, OB at a time, and folds each OB
  // into the T outputs (dot products over the channels) in its epilogue;
  // the conv's own output never leaves the block.
  bool tail = static_cast<bool>(op.getTailWeight());
  int64_t T = tail ? op.getTailWeight().getType().getDimSize(0) : 0;
  int64_t gridOcBlocks = tail ? 1 : ocBlocks;
  int64_t colTiles = ceilDiv(wo, TC), rowTiles = ceilDiv(ho, TR);
  int64_t IH = (TR - 1) * s + (kh - 1) * dil + 1, IW = (TC - 1) * s + (kw - 1) * dil + 1;
  if (direct)
    IH = IW = 1;
  if (project && (direct || groups != 1)) {
    error = "a projected residual needs a conv larger than 1x1 without groups";
    return false;
  }
  if (tail && (direct || groups != 1 || op.getResidual())) {
    error = "a tail conv needs a conv larger than 1x1 without groups or residual";
    return false;
  }
  int64_t cr = 0, q = 1;
  if (project) {
    cr = op.getResidual().getType().getDimSize(1);
    q = op.getResidualPool();
  }
  k.grid = {n * groups * gridOcBlocks * rowTiles * colTiles, 1, 1};
  k.threads = 1;

  // Buffers: operands, result (, workspace); -1 where the op has none.
  int64_t numInputs = op.getInputs().size();
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op.getResult()));
  if (packed)
    k.argTypes[numInputs] = memrefType(op.getWeight(), {oc / OB, cg, kh, kw, OB});
  int64_t next = numInputs + 1;
  int64_t biasI = op.getBias() ? next++ : -1;
  int64_t residualI = op.getResidual() ? next++ : -1;
  int64_t projWI = -1, projBI = -1;
  bool projPacked = project && hostLayoutOf(op.getResidualWeight());
  if (project) {
    if (projPacked)
      k.argTypes[next] = memrefType(op.getResidualWeight(), {oc / OB, cr, 1, 1, OB});
    projWI = next++;
    projBI = next++;
  }
  int64_t tailWI = -1, tailBI = -1;
  if (tail) {
    tailWI = next++;
    tailBI = next++;
  }
  int64_t outI = next;
  // Accumulators [pixel][channel], or [channel][pixel] for the row tile.
  k.scratchTypes = {rowTile ? memrefType(ctx, {OB, TR * TC}) : memrefType(ctx, {TR * TC, OB}),
                    memrefType(ctx, {packed ? 1 : CK, kh, kw, OB}),
                    memrefType(ctx, {CK, IH, IW})};
  k.scratchBytes = 4 * (TR * TC * OB + (packed ? 1 : CK) * kh * kw * OB + CK * IH * IW);
  // The projected residual's source: the residual itself, or (pooled) its
  // max-pooled copy [n][cr][ho * wo], made once by a first wave of blocks in
  // the step's workspace (rather than by every block of output channels).
  int64_t wsI = -1;
  int64_t PCH = 0, poolBlocks = 0, mainBlocks = k.grid[0];
  if (project) {
    // Scratch 3: the 1x1 weights [cr][OB] when @init did not pack them.
    k.scratchTypes.push_back(memrefType(ctx, {projPacked ? 1 : cr, OB}));
    k.scratchBytes += 4 * (projPacked ? 1 : cr) * OB;
    if (q > 1) {
      wsI = next + 1;
      k.argTypes.push_back(memrefType(ctx, {n, cr, ho * wo}));
      k.hostWorkspaceBytes = 4 * n * cr * ho * wo;
      PCH = std::clamp(ceilDiv(n * cr, 8), ceilDiv(1024, ho * wo), ceilDiv(16384, ho * wo));
      poolBlocks = n * ceilDiv(cr, PCH);
      k.hostWaves = {poolBlocks, mainBlocks};
      k.grid = {poolBlocks + mainBlocks, 1, 1};
    }
  }
  // Tail scratch: the T outputs of the block's pixels, the tail weights and
  // the conv's bias, both zero past the conv's channels.
  int64_t ocPad = ocBlocks * OB;
  int64_t tAccI = -1, tWI = -1, tBI = -1;
  if (tail) {
    auto add = [&](llvm::ArrayRef<int64_t> shape) {
      int64_t i = k.scratchTypes.size();
      k.scratchTypes.push_back(memrefType(ctx, shape));
      k.scratchBytes += 4 * k.scratchTypes.back().getNumElements();
      return i;
    };
    tAccI = add({T, TR * TC});
    tWI = add({T, ocPad});
    tBI = add({ocPad});
  }
  auto inShape = llvm::cast<ShapedType>(op.getInputs().front().getType());
  int64_t hin = inShape.getDimSize(2) / op.getPool()[0];
  int64_t win = inShape.getDimSize(3) / op.getPool()[0];

  KernelBuilder e(place, k);
  auto argOr = [&](int64_t i) { return i < 0 ? Value() : e.arg(i); };
  auto scratchOr = [&](int64_t i) { return i < 0 ? Value() : e.scratch(i); };
  Value weightArg = e.arg(numInputs), biasArg = argOr(biasI), residualArg = argOr(residualI);
  Value projWArg = argOr(projWI), projBArg = argOr(projBI);
  Value tailWArg = argOr(tailWI), tailBArg = argOr(tailBI);
  Value outArg = e.arg(outI), wsArg = argOr(wsI);
  Value accS = e.scratch(0), wS = e.scratch(1), xS = e.scratch(2);
  Value tAcc = scratchOr(tAccI), tW = scratchOr(tWI), tB = scratchOr(tBI);
  // The P x V register tiles' accumulators live in scratch 0 at
  // [pixel][v * VW]: the tile's pixel rows of output row r from column x0,
  // and loading / storing its P * V vectors.
  auto tileRows = [&](Value r, Value x0) {
    Value base = e.mulc(r, TC);
    llvm::SmallVector<Value> rowOf(P);
    for (int64_t p = 0; p < P; ++p)
      rowOf[p] = e.add(base, e.addc(x0, p));
    return rowOf;
  };
  auto loadTile = [&](llvm::ArrayRef<Value> rowOf) {
    llvm::SmallVector<Value> acc;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t v = 0; v < V; ++v)
        acc.push_back(e.vload(accS, {rowOf[p], e.idx(v * VW)}, VW));
    return acc;
  };
  auto storeTile = [&](llvm::ArrayRef<Value> acc, llvm::ArrayRef<Value> rowOf) {
    for (int64_t p = 0; p < P; ++p)
      for (int64_t v = 0; v < V; ++v)
        e.vstore(acc[p * V + v], accS, {rowOf[p], e.idx(v * VW)});
  };
  Value bx = e.bx();
  if (poolBlocks) {
    e.beginIf(e.ult(e.bx(), poolBlocks), /*withElse=*/true);
    Value chunks = e.idx(ceilDiv(cr, PCH));
    Value img = e.divui(e.bx(), chunks), c0 = e.mulc(e.remui(e.bx(), chunks), PCH);
    Value cc = e.beginFor(e.idx(0), e.minui(e.idx(PCH), e.sub(e.idx(cr), c0)));
    Value c = e.add(c0, cc);
    emitPoolChannel(e, residualArg, q, img, c, wsArg, c, ho, wo, VW);
    e.endFor();
    e.beginElse();
    bx = e.sub(e.bx(), e.idx(poolBlocks));
  }
  Value ct = e.rem(bx, colTiles), r1 = e.div(bx, colTiles);
  Value rt = e.rem(r1, rowTiles), r2 = e.div(r1, rowTiles);
  Value ob, r3 = r2;
  if (!tail) {
    ob = e.rem(r2, ocBlocks);
    r3 = e.div(r2, ocBlocks);
  }
  Value g = e.rem(r3, groups), img = e.div(r3, groups);
  Value oy0 = e.mulc(rt, TR), ox0 = e.mulc(ct, TC);
  Value gOc = e.mulc(g, og), cbase = e.mulc(g, cg);
  Value zeroVec;
  if (tail) {
    // Stage the tail weights and the bias; zero the T outputs; then every
    // block of OB channels in turn.
    Value o = e.beginFor(0, ocPad);
    Value oValid = e.ult(o, og);
    Value oS = e.select(oValid, o, e.idx(0));
    Value b = !biasArg ? e.f32(0) : e.load(biasArg, {oS});
    e.store(e.select(oValid, b, e.f32(0)), tB, {o});
    Value t = e.beginFor(0, T);
    Value wv = e.load(tailWArg, {t, oS, e.idx(0), e.idx(0)});
    e.store(e.select(oValid, wv, e.f32(0)), tW, {t, o});
    e.endFor();
    e.endFor();
    Value t2 = e.beginFor(0, T);
    Value px = e.beginFor(0, TR * TC);
    e.store(e.f32(0), tAcc, {t2, px});
    e.endFor();
    e.endFor();
    zeroVec = e.zeros(VW);
    ob = e.beginFor(0, ocBlocks);
  }
  Value ocg0 = e.mulc(ob, OB);

  // Zero the accumulators.
  Value zero = e.zeros(VW);
  if (rowTile) {
    Value o = e.beginFor(0, OB);
    Value i = e.beginFor(0, TR * TC, VW);
    e.vstore(zero, accS, {o, i});
    e.endFor();
    e.endFor();
  } else {
    Value i = e.beginFor(0, TR * TC);
    for (int64_t v = 0; v < V; ++v)
      e.vstore(zero, accS, {i, e.idx(v * VW)});
    e.endFor();
  }
  Value c0 = e.beginFor(0, cg, CK);
  Value ckEnd = e.minui(e.idx(CK), e.sub(e.idx(cg), c0));
  Value wBlock = e.div(e.add(gOc, ocg0), OB);
  // Weights [cc][ky][kx][o], zero past the group's channels.
  if (!packed) {
    Value o = e.beginFor(0, OB);
    Value ocg = e.add(ocg0, o);
    Value oValid = e.ult(ocg, og);
    Value ocAbs = e.add(gOc, e.select(oValid, ocg, e.idx(0)));
    Value cc = e.beginFor(0, CK);
    Value ci = e.add(c0, cc);
    Value valid = e.andi(oValid, e.ult(ci, cg));
    Value ciS = e.select(valid, ci, e.idx(0));
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        Value v = e.load(weightArg, {ocAbs, ciS, e.idx(y), e.idx(x)});
        e.store(e.select(valid, v, e.f32(0)), wS, {cc, e.idx(y), e.idx(x), o});
      }
    e.endFor();
    e.endFor();
  }
  if (!direct)
    stagePatch(e, op, xS, img, oy0, ox0, cbase, c0, cg, CK, IH, IW, s, pad, hin, win, VW);
  // The register tiles of a direct 1x1 conv: pixels past the map's edge
  // read its last row/column (their results are not stored).
  if (direct) {
    Value r = e.beginFor(0, TR);
    Value x0 = e.beginFor(0, TC, P);
    llvm::SmallVector<Value> ix(P), rowOf = tileRows(r, x0), acc = loadTile(rowOf);
    Value iy = e.mulc(e.minui(e.add(oy0, r), e.idx(ho - 1)), s);
    for (int64_t p = 0; p < P; ++p)
      ix[p] = e.mulc(e.minui(e.add(ox0, e.addc(x0, p)), e.idx(wo - 1)), s);
    int64_t begin = 0;
    for (int64_t in = 0; in < numInputs; ++in) {
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      int64_t pool = op.getPool()[in];
      KernelBuilder::Carry loop = e.beginCarry(e.idx(0), e.idx(ci), e.idx(1), acc);
      llvm::SmallVector<Value> a = loop.inside;
      Value c = e.addc(loop.iv, begin);
      llvm::SmallVector<Value> wv;
      for (int64_t v = 0; v < V; ++v)
        wv.push_back(packed ? e.vload(weightArg, {wBlock, c, e.idx(0), e.idx(0), e.idx(v * VW)},
                                      VW)
                            : e.vload(wS, {c, e.idx(0), e.idx(0), e.idx(v * VW)}, VW));
      for (int64_t p = 0; p < P; ++p) {
        Value xv;
        if (pool == 1) {
          xv = e.load(e.arg(in), {img, loop.iv, iy, ix[p]});
        } else {
          for (int64_t dy = 0; dy < pool; ++dy)
            for (int64_t dx = 0; dx < pool; ++dx) {
              Value t = e.load(e.arg(in), {img, loop.iv, e.addc(e.mulc(iy, pool), dy),
                                           e.addc(e.mulc(ix[p], pool), dx)});
              xv = xv ? e.maxf(xv, t) : t;
            }
        }
        Value xb = e.broadcast(xv, VW);
        fmaRow(e, xb, wv, a, p * V);
      }
      acc = e.endCarry(loop, a);
      begin += ci;
    }
    storeTile(acc, rowOf);
    e.endFor();
    e.endFor();
  }
  // The row tiles: RR channels x VR vectors of one row's pixels.
  if (rowTile) {
    Value r = e.beginFor(0, TR);
    Value orow = e.beginFor(0, og, RR);
    llvm::SmallVector<Value> init, px(VR), oS(RR);
    for (int64_t j = 0; j < VR; ++j)
      px[j] = e.addc(e.mulc(r, TC), j * VW);
    for (int64_t rr = 0; rr < RR; ++rr) {
      oS[rr] = e.addc(orow, rr);
      for (int64_t j = 0; j < VR; ++j)
        init.push_back(e.vload(accS, {oS[rr], px[j]}, VW));
    }
    KernelBuilder::Carry loop = e.beginCarry(e.idx(0), ckEnd, e.idx(1), init);
    llvm::SmallVector<Value> acc = loop.inside;
    Value ci = packed ? e.add(c0, loop.iv) : Value();
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        Value iy = e.addc(r, y * dil);
        llvm::SmallVector<Value> xv;
        for (int64_t j = 0; j < VR; ++j)
          xv.push_back(e.vload(xS, {loop.iv, iy, e.idx(j * VW + x * dil)}, VW));
        for (int64_t rr = 0; rr < RR; ++rr) {
          Value wt = packed ? e.load(weightArg, {wBlock, ci, e.idx(y), e.idx(x), oS[rr]})
                            : e.load(wS, {loop.iv, e.idx(y), e.idx(x), oS[rr]});
          Value wb = e.broadcast(wt, VW);
          fmaRow(e, wb, xv, acc, rr * VR);
        }
      }
    llvm::SmallVector<Value> res = e.endCarry(loop, acc);
    for (int64_t rr = 0; rr < RR; ++rr)
      for (int64_t j = 0; j < VR; ++j)
        e.vstore(res[rr * VR + j], accS, {oS[rr], px[j]});
    e.endFor();
    e.endFor();
  }
  // The register tiles.
  if (!direct && !rowTile) {
    Value r = e.beginFor(0, TR);
    Value x0 = e.beginFor(0, TC, P);
    llvm::SmallVector<Value> rowOf = tileRows(r, x0);
    KernelBuilder::Carry loop = e.beginCarry(e.idx(0), ckEnd, e.idx(1), loadTile(rowOf));
    llvm::SmallVector<Value> acc = loop.inside;
    Value ry = e.mulc(r, s), xs = e.mulc(x0, s);
    Value ci = packed ? e.add(c0, loop.iv) : Value();
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        llvm::SmallVector<Value> wv;
        for (int64_t v = 0; v < V; ++v)
          wv.push_back(packed ? e.vload(weightArg,
                                        {wBlock, ci, e.idx(y), e.idx(x), e.idx(v * VW)}, VW)
                              : e.vload(wS, {loop.iv, e.idx(y), e.idx(x), e.idx(v * VW)}, VW));
        Value iy = e.addc(ry, y * dil);
        for (int64_t p = 0; p < P; ++p) {
          Value xv = e.load(xS, {loop.iv, iy, e.addc(xs, p * s + x * dil)});
          Value xb = e.broadcast(xv, VW);
          fmaRow(e, xb, wv, acc, p * V);
        }
      }
    storeTile(e.endCarry(loop, acc), rowOf);
    e.endFor();
    e.endFor();
  }
  e.endFor(); // c0
  // The projected residual: per register tile, the residual's cr channels
  // read in place at the tile's pixels (from the pooled copy when pooled)
  // against the 1x1 weights. Pixels past the map's edge read its last
  // row/column (their results are not stored).
  if (project) {
    Value pS = e.scratch(3);
    Value wBlock = e.div(ocg0, OB);
    if (!projPacked) {
      Value o = e.beginFor(0, OB);
      Value ocg = e.add(ocg0, o);
      Value oValid = e.ult(ocg, og);
      Value ocS = e.select(oValid, ocg, e.idx(0));
      Value c = e.beginFor(0, cr);
      Value v = e.load(projWArg, {ocS, c, e.idx(0), e.idx(0)});
      e.store(e.select(oValid, v, e.f32(0)), pS, {c, o});
      e.endFor();
      e.endFor();
    }
    Value r = e.beginFor(0, TR);
    Value x0 = e.beginFor(0, TC, P);
    Value oyC = e.minui(e.add(oy0, r), e.idx(ho - 1));
    llvm::SmallVector<Value> rowOf = tileRows(r, x0), oxC(P), pix(P);
    for (int64_t p = 0; p < P; ++p) {
      oxC[p] = e.minui(e.add(ox0, e.addc(x0, p)), e.idx(wo - 1));
      if (q > 1)
        pix[p] = e.add(e.mulc(oyC, wo), oxC[p]);
    }
    KernelBuilder::Carry loop = e.beginCarry(e.idx(0), e.idx(cr), e.idx(1), loadTile(rowOf));
    llvm::SmallVector<Value> acc = loop.inside;
    llvm::SmallVector<Value> wv;
    for (int64_t v = 0; v < V; ++v)
      wv.push_back(projPacked ? e.vload(projWArg,
                                        {wBlock, loop.iv, e.idx(0), e.idx(0), e.idx(v * VW)}, VW)
                              : e.vload(pS, {loop.iv, e.idx(v * VW)}, VW));
    for (int64_t p = 0; p < P; ++p) {
      Value xv = q > 1 ? e.load(wsArg, {img, loop.iv, pix[p]})
                       : e.load(residualArg, {img, loop.iv, oyC, oxC[p]});
      fmaRow(e, e.broadcast(xv, VW), wv, acc, p * V);
    }
    storeTile(e.endCarry(loop, acc), rowOf);
    e.endFor();
    e.endFor();
  }
  // Tail epilogue: per pixel, m = relu(acc + bias) over the OB channels,
  // dotted with each tail output's weights and added to its sum.
  if (tail) {
    Value px = e.beginFor(0, TR * TC);
    llvm::SmallVector<Value> part(T, zeroVec);
    for (int64_t v = 0; v < V; ++v) {
      Value oc0v = e.addc(ocg0, v * VW);
      Value m = e.addf(e.vload(accS, {px, e.idx(v * VW)}, VW), e.vload(tB, {oc0v}, VW));
      if (op.getRelu())
        m = e.maxf(m, zeroVec);
      for (int64_t t = 0; t < T; ++t)
        part[t] = e.fma(m, e.vload(tW, {e.idx(t), oc0v}, VW), part[t]);
    }
    for (int64_t t = 0; t < T; ++t) {
      Value sum = e.reduceAdd(part[t]);
      e.store(e.addf(e.load(tAcc, {e.idx(t), px}), sum), tAcc, {e.idx(t), px});
    }
    e.endFor();
    e.endFor(); // ob
    // The T outputs with the tail's bias; rows are written contiguously.
    Value rEnd = e.minui(e.idx(TR), e.sub(e.idx(ho), oy0));
    Value xEnd = e.minui(e.idx(TC), e.sub(e.idx(wo), ox0));
    Value t = e.beginFor(0, T);
    Value tb = e.load(tailBArg, {t});
    Value r = e.beginFor(e.idx(0), rEnd);
    Value x = e.beginFor(e.idx(0), xEnd);
    Value v = e.addf(e.load(tAcc, {t, e.add(e.mulc(r, TC), x)}), tb);
    e.store(v, outArg, {img, t, e.add(oy0, r), e.add(ox0, x)});
    e.endFor();
    e.endFor();
    e.endFor();
  }
  // Epilogue: bias, residual, ReLU; output rows are written contiguously.
  if (!tail) {
    Value o = e.beginFor(0, OB);
    Value ocg = e.add(ocg0, o);
    e.beginIf(e.ult(ocg, og));
    Value ocAbs = e.add(gOc, ocg);
    Value bias = !biasArg ? Value() : e.load(biasArg, {ocAbs});
    if (project) {
      Value pb = e.load(projBArg, {ocAbs});
      bias = !bias ? pb : e.addf(bias, pb);
    }
    Value rEnd = e.minui(e.idx(TR), e.sub(e.idx(ho), oy0));
    Value xEnd = e.minui(e.idx(TC), e.sub(e.idx(wo), ox0));
    Value r = e.beginFor(e.idx(0), rEnd);
    Value oy = e.add(oy0, r);
    Value x = e.beginFor(e.idx(0), xEnd);
    Value ox = e.add(ox0, x);
    Value v = rowTile ? e.load(accS, {o, e.add(e.mulc(r, TC), x)})
                      : e.load(accS, {e.add(e.mulc(r, TC), x), o});
    if (bias)
      v = e.addf(v, bias);
    if (residualArg && !project)
      v = e.addf(v, e.load(residualArg, {img, ocAbs, oy, ox}));
    if (op.getRelu())
      v = e.maxf(v, e.f32(0));
    e.store(v, outArg, {img, ocAbs, oy, ox});
    e.endFor();
    e.endFor();
    e.endIf();
    e.endFor();
  }
  if (poolBlocks)
    e.endIf();
  e.finish();
  return true;
}
