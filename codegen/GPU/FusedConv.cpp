//===- FusedConv.cpp - The GPU-shaped kernel of fused_conv ----------------===//
//
// The SIMT kernel (f32 models, grouped convs, the stem; TensorCoreConv.cpp
// has the others). A block is a TH x TW tile of output pixels, one per
// thread, and OCT output channels, a vector register tile per thread. Per
// chunk of CT input channels, the weights and the input patch (pooled and
// picked among the inputs while staging: the Root's concat never exists)
// are staged in workgroup memory, then each thread accumulates its pixel
// into its register tile, which stays in registers across the chunks'
// barriers on the GPU. The epilogue adds bias and residual and applies the
// ReLU.
//
//===----------------------------------------------------------------------===//

#include "codegen/GPU/Common.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

Value mlir::dla::kernelgen::readConvInput(KernelBuilder &e, FusedConvOp op, Value n, Value c,
                                          Value iy, Value ix) {
  int64_t numInputs = op.getInputs().size();
  // Input `in` (its channels start at `begin`), max-pooled on the fly.
  auto readInput = [&](int64_t in, int64_t begin) {
    Value local = e.sub(c, e.idx(begin));
    int64_t p = op.getPool()[in];
    if (p == 1)
      return e.load(e.arg(in), {n, local, iy, ix});
    Value v = e.f32(-std::numeric_limits<float>::infinity());
    for (int64_t dy = 0; dy < p; ++dy)
      for (int64_t dx = 0; dx < p; ++dx) {
        Value x = e.load(e.arg(in), {n, local, e.addc(e.mulc(iy, p), dy),
                                     e.addc(e.mulc(ix, p), dx)});
        v = e.maxf(v, x);
      }
    return v;
  };
  // The input holding channel c: nested scf.if on the channel ranges.
  std::function<Value(int64_t, int64_t)> read = [&](int64_t in, int64_t begin) {
    if (in + 1 == numInputs)
      return readInput(in, begin);
    int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
    return e.ifValue(
        e.ult(c, begin + ci), [&] { return readInput(in, begin); },
        [&] { return read(in + 1, begin + ci); });
  };
  return read(0, 0);
}

bool mlir::dla::kernelgen::genFusedConv(FusedConvOp op, const KernelPlace &place, KernelIR &k,
                                        std::string &error) {
  std::string why;
  if (tensorCoreConvApplies(op, place, why))
    return genTensorCoreConv(op, place, k, error);
  MLIRContext *ctx = op->getContext();
  auto out = op.getType().getShape();
  auto w = op.getWeight().getType().getShape();
  int64_t n = out[0], oc = out[1], ho = out[2], wo = out[3];
  int64_t kh = w[2], kw = w[3], groups = op.getGroups();
  int64_t cg = w[1], og = oc / groups;
  int64_t s = op.getStride()[0], pad = op.getPadding()[0], dil = op.getDilation()[0];
  if (op.getStride()[1] != s || op.getPadding()[1] != pad || op.getDilation()[1] != dil) {
    error = "non-square stride/padding/dilation";
    return false;
  }
  if (op.getResidualWeight() || op.getTailWeight()) {
    error = "a projected residual (`project`) or a tail conv (`then`) has no GPU "
            "kernel: they are formed for the host's CPU kernels only";
    return false;
  }
  int64_t oct = pow2Divisor(og, kMaxOCT);
  int64_t ph = (TH - 1) * s + (kh - 1) * dil + 1, pw = (TW - 1) * s + (kw - 1) * dil + 1;
  int64_t tilesW = ceilDiv(wo, TW), tilesH = ceilDiv(ho, TH);
  int64_t threads = TH * TW;
  k.grid = {tilesW * tilesH, oc / oct, n};
  k.threads = threads;

  // Buffers: inputs..., weight, [bias], [residual], result.
  ConvBuffers buffers(op, k);
  int64_t numInputs = buffers.numInputs;
  // The accumulators stay in registers across the barriers of the K loop
  // (one phase spanning the block).
  k.scratchTypes = {memrefType(ctx, {CT, kh, kw, oct}), memrefType(ctx, {CT, ph, pw})};
  k.scratchBytes = 4 * (CT * kh * kw * oct + CT * ph * pw);

  KernelBuilder e(place, k);
  Value wt = e.scratch(0), xt = e.scratch(1);
  // Block coordinates: output tile origin, channel tile, image.
  Value tileY = e.div(e.bx(), tilesW), tileX = e.rem(e.bx(), tilesW);
  Value oy0 = e.mulc(tileY, TH), ox0 = e.mulc(tileX, TW);
  Value oc0 = e.mulc(e.by(), oct);
  Value group = e.div(oc0, og);
  Value cbase = e.mulc(group, cg); // first input channel of the group

  // Thread t's share of staging the weights [cc][kh][kw][r] of chunk c0
  // (zero past the group's channels).
  auto stageWeights = [&](Value t, Value c0) {
    Value i = e.beginStrided(t, CT * kh * kw * oct, threads);
    Value r = e.rem(i, oct), rest = e.div(i, oct);
    Value x = e.rem(rest, kw);
    rest = e.div(rest, kw);
    Value y = e.rem(rest, kh), cc = e.div(rest, kh);
    Value ci = e.add(c0, cc);
    Value valid = e.ult(ci, cg);
    Value ciSafe = e.select(valid, ci, e.idx(0));
    Value wv = e.load(e.arg(numInputs), {e.add(oc0, r), ciSafe, y, x});
    e.store(e.select(valid, wv, e.f32(0)), wt, {cc, y, x, r});
    e.endFor();
  };
  // Thread t's share of staging the input patch [cc][py][px], pooling and
  // picking the input while reading (zero outside the image and past the
  // group's channels).
  auto stagePatch = [&](Value t, Value c0) {
    Value i = e.beginStrided(t, CT * ph * pw, threads);
    Value px = e.rem(i, pw), rest = e.div(i, pw);
    Value py = e.rem(rest, ph), cc = e.div(rest, ph);
    Value cLocal = e.add(c0, cc);
    Value iy = e.sub(e.add(e.mulc(oy0, s), py), e.idx(pad));
    Value ix = e.sub(e.add(e.mulc(ox0, s), px), e.idx(pad));
    auto inShape = llvm::cast<ShapedType>(op.getInputs().front().getType());
    int64_t hin = inShape.getDimSize(2) / op.getPool()[0]; // pooled = conv input size
    int64_t win = inShape.getDimSize(3) / op.getPool()[0];
    Value valid =
        e.andi(e.andi(e.inRange(iy, hin), e.inRange(ix, win)), e.ult(cLocal, cg));
    Value result = e.ifValue(
        valid, [&] { return readConvInput(e, op, e.bz(), e.add(cbase, cLocal), iy, ix); },
        [&] { return e.f32(0); });
    e.store(result, xt, {cc, py, px});
    e.endFor();
  };
  auto input = [&](Value ty, Value tx, Value cc, int64_t y, int64_t x) {
    return e.load(xt, {cc, e.addc(e.mulc(ty, s), y * dil), e.addc(e.mulc(tx, s), x * dil)});
  };
  auto weight = [&](Value cc, int64_t y, int64_t x) {
    return e.vload(wt, {cc, e.idx(y), e.idx(x), e.idx(0)}, oct);
  };
  // Thread t's epilogue (bias, residual, ReLU) and store, inside the image;
  // `value(r)` is its accumulator of channel r.
  auto epilogue = [&](Value t, const std::function<Value(int64_t)> &value) {
    Value oy = e.add(oy0, e.div(t, TW)), ox = e.add(ox0, e.rem(t, TW));
    e.beginIf(e.andi(e.ult(oy, ho), e.ult(ox, wo)));
    for (int64_t r = 0; r < oct; ++r) {
      Value o = e.addc(oc0, r);
      buffers.store(e, op, value(r), o, oy, ox);
    }
    e.endIf();
  };

  Value t = e.beginPhase(threads);
  Value ty = e.div(t, TW), tx = e.rem(t, TW);
  auto chunks = e.beginCarry(e.idx(0), e.idx(cg), e.idx(CT), {e.zeros(oct)});
  stageWeights(t, chunks.iv);
  stagePatch(t, chunks.iv);
  e.barrier();
  auto loop = e.beginCarry(e.idx(0), e.idx(CT), e.idx(1), {chunks.inside[0]});
  Value cc = loop.iv, sum = loop.inside[0];
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      sum = e.fma(e.broadcast(input(ty, tx, cc, y, x), oct), weight(cc, y, x), sum);
  Value chunkSum = e.endCarry(loop, {sum})[0];
  e.barrier(); // the next chunk overwrites the staged tiles
  Value total = e.endCarry(chunks, {chunkSum})[0];
  epilogue(t, [&](int64_t r) {
    return vector::ExtractOp::create(e.b, e.loc, total, ArrayRef<int64_t>{r}).getResult();
  });
  e.endPhase();
  e.finish();
  return true;
}
