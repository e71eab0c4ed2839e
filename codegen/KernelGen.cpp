//===- KernelGen.cpp - Fused dla ops → kernel IR --------------------------===//
//
// Kernels are written as MLIR text from small, named building blocks (one
// emitter per op kind) and parsed back; the text is what `dlac
// --emit=kernel` shows, so it is kept readable.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelGen.h"
#include "codegen/KernelEmitter.h"

#include "dialects/DLA/IR/DLAOps.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

namespace {

//===----------------------------------------------------------------------===//
// fused_conv
//===----------------------------------------------------------------------===//

/// Output tile of TH x TW pixels (one per thread) and OCT output channels
/// (a vector register tile per thread); input channels in chunks of CT whose
/// weights and input patch are staged in workgroup memory.
constexpr int64_t TH = 8, TW = 8, CT = 8, kMaxOCT = 16;

bool genFusedConv(FusedConvOp op, KernelIR &k, std::string &error) {
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
  std::string vec = "vector<" + std::to_string(oct) + "xf32>";

  // Buffers: inputs..., weight, [bias], [residual], result.
  int64_t numInputs = op.getInputs().size();
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op.getResult()));
  auto arg = [](int64_t i) { return "%a" + std::to_string(i); };
  std::string weightArg = arg(numInputs);
  int64_t next = numInputs + 1;
  std::string biasArg = op.getBias() ? arg(next++) : "";
  std::string residualArg = op.getResidual() ? arg(next++) : "";
  std::string outArg = arg(next);
  k.scratchTypes = {scratchType({threads, oct}), scratchType({CT, kh, kw, oct}),
                    scratchType({CT, ph, pw})};
  // Scratch types are spelled as placeholders in the body: the wrappers put
  // them in the host's or the GPU's workgroup address space.
  std::string accT = "$S0", wtT = "$S1", xtT = "$S2";
  k.scratchBytes = 4 * (threads * oct + CT * kh * kw * oct + CT * ph * pw);

  Emitter e;
  // Block coordinates: output tile origin, channel tile, image.
  std::string tileY = e.div("%bx", tilesW), tileX = e.rem("%bx", tilesW);
  std::string oy0 = e.mulc(tileY, TH), ox0 = e.mulc(tileX, TW);
  std::string oc0 = e.mulc("%by", oct);
  std::string group = e.div(oc0, og);
  std::string cbase = e.mulc(group, cg); // first input channel of the group

  zeroPhase(e, threads, "%s0", accT, vec);
  std::string c0 = beginChunkLoop(e, cg, CT);
  // Phase: stage the weights [cc][kh][kw][r] (zero past the group's channels).
  {
    std::string t = beginPhase(e, threads);
    std::string i = beginStrided(e, t, CT * kh * kw * oct, threads);
    std::string r = e.rem(i, oct), rest = e.div(i, oct);
    std::string x = e.rem(rest, kw);
    rest = e.div(rest, kw);
    std::string y = e.rem(rest, kh), cc = e.div(rest, kh);
    std::string ci = e.add(c0, cc);
    std::string valid = e.cmp("ult", ci, e.idx(cg));
    std::string ciSafe = e.select(valid, ci, e.idx(0), "index");
    std::string wv = e.load(weightArg, k.argTypes[numInputs],
                            {e.add(oc0, r), ciSafe, y, x});
    std::string v = e.select(valid, wv, e.f32(0));
    e.store(v, "%s1", wtT, {cc, y, x, r});
    endFor(e);
    endPhase(e);
  }
  // Phase: stage the input patch [cc][py][px], pooling and picking the input
  // while reading (zero outside the image and past the group's channels).
  {
    std::string t = beginPhase(e, threads);
    std::string i = beginStrided(e, t, CT * ph * pw, threads);
    std::string px = e.rem(i, pw), rest = e.div(i, pw);
    std::string py = e.rem(rest, ph), cc = e.div(rest, ph);
    std::string cLocal = e.add(c0, cc);
    std::string iy = e.bin("subi", e.add(e.mulc(oy0, s), py), e.idx(pad));
    std::string ix = e.bin("subi", e.add(e.mulc(ox0, s), px), e.idx(pad));
    auto inShape = op.getInputs().front().getType(); // pooled size = conv input size
    int64_t hin = llvm::cast<ShapedType>(inShape).getDimSize(2) / op.getPool()[0];
    int64_t win = llvm::cast<ShapedType>(inShape).getDimSize(3) / op.getPool()[0];
    std::string valid = e.andi(e.andi(e.inRange(iy, hin), e.inRange(ix, win)),
                               e.cmp("ult", cLocal, e.idx(cg)));
    std::string c; // the channel, computed inside the scf.if
    // Read input `in` (its channels start at `begin`), max-pooling on the fly.
    auto readInput = [&](int64_t in, int64_t begin) {
      std::string local = e.bin("subi", c, e.idx(begin));
      int64_t p = op.getPool()[in];
      if (p == 1)
        return e.load(arg(in), k.argTypes[in], {"%bz", local, iy, ix});
      std::string v = e.f32(-std::numeric_limits<float>::infinity());
      for (int64_t dy = 0; dy < p; ++dy)
        for (int64_t dx = 0; dx < p; ++dx) {
          std::string x = e.load(arg(in), k.argTypes[in],
                                 {"%bz", local, e.addc(e.mulc(iy, p), dy),
                                  e.addc(e.mulc(ix, p), dx)});
          v = e.bin("maximumf", v, x, "f32");
        }
      return v;
    };
    // Pick the input holding channel c: nested scf.if on the channel ranges.
    std::function<std::string(int64_t, int64_t)> read = [&](int64_t in,
                                                            int64_t begin) {
      if (in + 1 == numInputs)
        return readInput(in, begin);
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      std::string isThis = e.cmp("ult", c, e.idx(begin + ci));
      return ifValue(
          e, isThis, [&] { return readInput(in, begin); },
          [&] { return read(in + 1, begin + ci); });
    };
    std::string result = ifValue(
        e, valid,
        [&] {
          c = e.add(cbase, cLocal);
          return read(0, 0);
        },
        [&] { return e.f32(0); });
    e.store(result, "%s2", xtT, {cc, py, px});
    endFor(e);
    endPhase(e);
  }
  // Phase: accumulate the chunk into each thread's register tile.
  {
    std::string t = beginPhase(e, threads);
    std::string ty = e.div(t, TW), tx = e.rem(t, TW);
    std::string acc0 = e.fresh();
    e.line(acc0 + " = vector.load %s0[" + t + ", " + e.idx(0) + "] : " + accT + ", " + vec);
    std::string cc = e.fresh(), a1 = e.fresh(), accCc = e.fresh();
    e.line(a1 + " = scf.for " + cc + " = " + e.idx(0) + " to " + e.idx(CT) + " step " +
           e.idx(1) + " iter_args(" + accCc + " = " + acc0 + ") -> (" + vec + ") {");
    std::string accOut = accCc;
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        std::string xv = e.load("%s2", xtT,
                                {cc, e.addc(e.mulc(ty, s), y * dil),
                                 e.addc(e.mulc(tx, s), x * dil)});
        std::string wv = e.fresh();
        e.line(wv + " = vector.load %s1[" + cc + ", " + e.idx(y) + ", " + e.idx(x) +
               ", " + e.idx(0) + "] : " + wtT + ", " + vec);
        std::string xb = e.fresh();
        e.line(xb + " = vector.broadcast " + xv + " : f32 to " + vec);
        std::string next = e.fresh();
        e.line(next + " = vector.fma " + xb + ", " + wv + ", " + accOut + " : " + vec);
        accOut = next;
      }
    e.line("scf.yield " + accOut + " : " + vec);
    e.line("}");
    e.line("vector.store " + a1 + ", %s0[" + t + ", " + e.idx(0) + "] : " + accT + ", " +
           vec);
    endPhase(e);
  }
  e.line("}"); // c0 loop
  // Phase: epilogue (bias, residual, ReLU) and store, inside the image.
  {
    std::string t = beginPhase(e, threads);
    std::string oy = e.add(oy0, e.div(t, TW)), ox = e.add(ox0, e.rem(t, TW));
    std::string inside = e.andi(e.cmp("ult", oy, e.idx(ho)), e.cmp("ult", ox, e.idx(wo)));
    e.line("scf.if " + inside + " {");
    for (int64_t r = 0; r < oct; ++r) {
      std::string o = e.addc(oc0, r);
      std::string v = e.load("%s0", accT, {t, e.idx(r)});
      if (!biasArg.empty())
        v = e.bin("addf", v, e.load(biasArg, memrefType(op.getBias()), {o}), "f32");
      if (!residualArg.empty())
        v = e.bin("addf", v,
                  e.load(residualArg, memrefType(op.getResidual()), {"%bz", o, oy, ox}),
                  "f32");
      if (op.getRelu())
        v = e.bin("maximumf", v, e.f32(0), "f32");
      e.store(v, outArg, k.argTypes.back(), {"%bz", o, oy, ox});
    }
    e.line("}");
    endPhase(e);
  }
  k.body = e.text;
  return true;
}
//===----------------------------------------------------------------------===//
// fused_deform_conv
//===----------------------------------------------------------------------===//

/// Per block a TH x TW pixel tile and every output channel:
///  1. the 27 offset/mask channels of each pixel, a 3x3 conv of the input sum
///     staged chunk by chunk in workgroup memory (mask through a sigmoid);
///  2. per chunk of OCT output channels, per chunk of CT input channels: the
///     DCN weights are staged, and each thread samples its pixel's 9 points
///     bilinearly (reading the addends, upsampling on the fly) and
///     accumulates into its register tile. No im2col buffer exists anywhere.
bool genFusedDeformConv(FusedDeformConvOp op, KernelIR &k, std::string &error) {
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
  k.scratchTypes = {scratchType({threads, oct}), scratchType({threads, 32}),
                    scratchType({CT, 3, 3, 32}), scratchType({CT, 9, oct}),
                    scratchType({CT, ph, pw})};
  k.scratchBytes = 4 * (threads * oct + threads * 32 + CT * 9 * 32 + CT * 9 * oct +
                        CT * ph * pw);
  std::string accT = "$S0", omT = "$S1", womT = "$S2", wdT = "$S3", xtT = "$S4";
  std::string vec = "vector<" + std::to_string(oct) + "xf32>", vec32 = "vector<32xf32>";
  auto arg = [](int64_t i) { return "%a" + std::to_string(i); };
  int64_t numAddends = op.getAddends().size(), numUp = op.getUpWeights().size();
  int64_t base = numAddends + numUp;
  std::string womArg = arg(base), bomArg = arg(base + 1), wArg = arg(base + 2),
              bArg = arg(base + 3), outArg = arg(base + 4);
  std::string womTy = k.argTypes[base], bomTy = k.argTypes[base + 1],
              wTy = k.argTypes[base + 2], bTy = k.argTypes[base + 3];

  Emitter e;
  auto readX = [&](const std::string &ch, const std::string &y, const std::string &x) {
    return readDeformInput(e, op, k.argTypes, "%bz", ch, y, x);
  };

  std::string tileY = e.div("%bx", tilesW), tileX = e.rem("%bx", tilesW);
  std::string oy0 = e.mulc(tileY, TH), ox0 = e.mulc(tileX, TW);
  zeroPhase(e, threads, "%s1", omT, vec32);
  // The offset/mask conv, chunk by chunk.
  std::string c0 = beginChunkLoop(e, c, CT);
  {
    std::string t = beginPhase(e, threads);
    std::string i = beginStrided(e, t, CT * 9 * 32, threads);
    std::string r = e.rem(i, 32), rest = e.div(i, 32);
    std::string kx = e.rem(rest, 3);
    rest = e.div(rest, 3);
    std::string ky = e.rem(rest, 3), cc = e.div(rest, 3);
    std::string ci = e.add(c0, cc);
    std::string valid = e.andi(e.cmp("ult", ci, e.idx(c)), e.cmp("ult", r, e.idx(27)));
    std::string v = e.load(womArg, womTy,
                           {e.select(valid, r, e.idx(0), "index"),
                            e.select(valid, ci, e.idx(0), "index"), ky, kx});
    e.store(e.select(valid, v, e.f32(0)), "%s2", womT, {cc, ky, kx, r});
    endFor(e);
    endPhase(e);
  }
  {
    std::string t = beginPhase(e, threads);
    std::string i = beginStrided(e, t, CT * ph * pw, threads);
    std::string px = e.rem(i, pw), rest = e.div(i, pw);
    std::string py = e.rem(rest, ph), cc = e.div(rest, ph);
    std::string ci = e.add(c0, cc);
    std::string iy = e.addc(e.add(oy0, py), -1), ix = e.addc(e.add(ox0, px), -1);
    std::string valid = e.andi(e.andi(e.inRange(iy, h), e.inRange(ix, w)),
                               e.cmp("ult", ci, e.idx(c)));
    std::string v = ifValue(
        e, valid, [&] { return readX(ci, iy, ix); }, [&] { return e.f32(0); });
    e.store(v, "%s4", xtT, {cc, py, px});
    endFor(e);
    endPhase(e);
  }
  {
    std::string t = beginPhase(e, threads);
    std::string ty = e.div(t, TW), tx = e.rem(t, TW);
    std::string acc0 = e.fresh();
    e.line(acc0 + " = vector.load %s1[" + t + ", " + e.idx(0) + "] : " + omT +
           ", " + vec32);
    std::string cc = e.fresh(), res = e.fresh(), accIn = e.fresh();
    e.line(res + " = scf.for " + cc + " = " + e.idx(0) + " to " + e.idx(CT) + " step " +
           e.idx(1) + " iter_args(" + accIn + " = " + acc0 + ") -> (" + vec32 + ") {");
    std::string acc = accIn;
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 3; ++x) {
        std::string xv = e.load("%s4", xtT, {cc, e.addc(ty, y), e.addc(tx, x)});
        std::string wv = e.fresh();
        e.line(wv + " = vector.load %s2[" + cc + ", " + e.idx(y) + ", " +
               e.idx(x) + ", " + e.idx(0) + "] : " + womT + ", " + vec32);
        std::string xb = e.fresh();
        e.line(xb + " = vector.broadcast " + xv + " : f32 to " + vec32);
        std::string nx = e.fresh();
        e.line(nx + " = vector.fma " + xb + ", " + wv + ", " + acc + " : " + vec32);
        acc = nx;
      }
    e.line("scf.yield " + acc + " : " + vec32);
    e.line("}");
    e.line("vector.store " + res + ", %s1[" + t + ", " + e.idx(0) + "] : " + omT +
           ", " + vec32);
    endPhase(e);
  }
  e.line("}");
  // Phase: offsets = om[0:18] + bias; mask = sigmoid(om[18:27] + bias).
  {
    std::string t = beginPhase(e, threads);
    for (int64_t r = 0; r < 27; ++r) {
      std::string v = e.bin("addf", e.load("%s1", omT, {t, e.idx(r)}),
                            e.load(bomArg, bomTy, {e.idx(r)}), "f32");
      if (r >= 18) {
        // 1 / (1 + exp(-v)) without overflow: exp of a non-positive number.
        std::string neg = e.bin("subf", e.f32(0), e.bin("maximumf", v, e.bin("subf", e.f32(0), v, "f32"), "f32"), "f32");
        std::string ex = e.fresh();
        e.line(ex + " = math.exp " + neg + " : f32");
        std::string one = e.f32(1);
        std::string denom = e.bin("addf", one, ex, "f32");
        std::string pos = e.bin("divf", one, denom, "f32");
        std::string negv = e.bin("divf", ex, denom, "f32");
        v = e.select(e.cmp("oge", v, e.f32(0), "f32"), pos, negv);
      }
      e.store(v, "%s1", omT, {t, e.idx(r)});
    }
    endPhase(e);
  }
  // Output channels, chunk by chunk.
  std::string o0 = beginChunkLoop(e, oc, oct);
  zeroPhase(e, threads, "%s0", accT, vec);
  std::string d0 = beginChunkLoop(e, c, CT);
  {
    std::string t = beginPhase(e, threads);
    std::string i = beginStrided(e, t, CT * 9 * oct, threads);
    std::string r = e.rem(i, oct), rest = e.div(i, oct);
    std::string kk = e.rem(rest, 9), cc = e.div(rest, 9);
    std::string ci = e.add(d0, cc);
    std::string valid = e.cmp("ult", ci, e.idx(c));
    std::string v = e.load(wArg, wTy,
                           {e.add(o0, r), e.select(valid, ci, e.idx(0), "index"),
                            e.div(kk, 3), e.rem(kk, 3)});
    e.store(e.select(valid, v, e.f32(0)), "%s3", wdT, {cc, kk, r});
    endFor(e);
    endPhase(e);
  }
  {
    std::string t = beginPhase(e, threads);
    std::string oy = e.add(oy0, e.div(t, TW)), ox = e.add(ox0, e.rem(t, TW));
    std::string inside = e.andi(e.cmp("ult", oy, e.idx(h)), e.cmp("ult", ox, e.idx(w)));
    e.line("scf.if " + inside + " {");
    std::string acc0 = e.fresh();
    e.line(acc0 + " = vector.load %s0[" + t + ", " + e.idx(0) + "] : " + accT +
           ", " + vec);
    std::string cc = e.fresh(), res = e.fresh(), accIn = e.fresh();
    e.line(res + " = scf.for " + cc + " = " + e.idx(0) + " to " + e.idx(CT) + " step " +
           e.idx(1) + " iter_args(" + accIn + " = " + acc0 + ") -> (" + vec + ") {");
    std::string ci = e.add(d0, cc);
    std::string chValid = e.cmp("ult", ci, e.idx(c));
    std::string ciS = e.select(chValid, ci, e.idx(0), "index");
    std::string acc = accIn;
    std::string fy = e.fresh(), fx = e.fresh();
    e.line(fy + " = arith.index_cast " + oy + " : index to i64");
    e.line(fx + " = arith.index_cast " + ox + " : index to i64");
    std::string oyf = e.fresh(), oxf = e.fresh();
    e.line(oyf + " = arith.sitofp " + fy + " : i64 to f32");
    e.line(oxf + " = arith.sitofp " + fx + " : i64 to f32");
    // The 9 kernel points in a loop (not unrolled): keeps the sampling code,
    // and the registers it needs, small.
    std::string kk = e.fresh(), accK = e.fresh(), accKIn = e.fresh();
    e.line(accK + " = scf.for " + kk + " = " + e.idx(0) + " to " + e.idx(9) + " step " +
           e.idx(1) + " iter_args(" + accKIn + " = " + acc + ") -> (" + vec + ") {");
    {
      std::string ki = e.div(kk, 3), kj = e.rem(kk, 3);
      auto toFloat = [&](const std::string &i) {
        std::string i64 = e.fresh(), f = e.fresh();
        e.line(i64 + " = arith.index_cast " + i + " : index to i64");
        e.line(f + " = arith.sitofp " + i64 + " : i64 to f32");
        return f;
      };
      // Sample point: y = oy - 1 + i + dy, x = ox - 1 + j + dx.
      std::string y = e.bin("addf", e.bin("addf", oyf, toFloat(e.addc(ki, 0)), "f32"),
                            e.load("%s1", omT, {t, e.mulc(kk, 2)}), "f32");
      y = e.bin("subf", y, e.f32(1), "f32");
      std::string x = e.bin("addf", e.bin("addf", oxf, toFloat(e.addc(kj, 0)), "f32"),
                            e.load("%s1", omT, {t, e.addc(e.mulc(kk, 2), 1)}), "f32");
      x = e.bin("subf", x, e.f32(1), "f32");
      std::string m = e.load("%s1", omT, {t, e.addc(kk, 18)});
      // torchvision's bilinear_interpolate.
      std::string inImage =
          e.andi(e.andi(e.cmp("ogt", y, e.f32(-1), "f32"), e.cmp("olt", y, e.f32(h), "f32")),
                 e.andi(e.cmp("ogt", x, e.f32(-1), "f32"), e.cmp("olt", x, e.f32(w), "f32")));
      std::string yf = e.fresh(), xf = e.fresh();
      e.line(yf + " = math.floor " + y + " : f32");
      e.line(xf + " = math.floor " + x + " : f32");
      std::string ly = e.bin("subf", y, yf, "f32"), lx = e.bin("subf", x, xf, "f32");
      std::string hy = e.bin("subf", e.f32(1), ly, "f32"), hx = e.bin("subf", e.f32(1), lx, "f32");
      // Clamp the floors before converting: far-away samples are masked anyway.
      auto toIndex = [&](const std::string &v, int64_t size) {
        std::string cl = e.bin("minimumf", e.bin("maximumf", v, e.f32(-2), "f32"),
                               e.f32(size + 1), "f32");
        std::string i = e.fresh(), ix = e.fresh();
        e.line(i + " = arith.fptosi " + cl + " : f32 to i64");
        e.line(ix + " = arith.index_cast " + i + " : i64 to index");
        return ix;
      };
      std::string yl = toIndex(yf, h), xl = toIndex(xf, w);
      std::string yh = e.addc(yl, 1), xh = e.addc(xl, 1);
      auto corner = [&](const std::string &yy, const std::string &xx) {
        std::string valid = e.andi(inImage, e.andi(e.inRange(yy, h), e.inRange(xx, w)));
        return ifValue(
            e, valid, [&] { return readX(ciS, yy, xx); }, [&] { return e.f32(0); });
      };
      std::string v1 = corner(yl, xl), v2 = corner(yl, xh), v3 = corner(yh, xl),
                  v4 = corner(yh, xh);
      std::string val = e.bin("mulf", e.bin("mulf", hy, hx, "f32"), v1, "f32");
      val = e.bin("addf", val, e.bin("mulf", e.bin("mulf", hy, lx, "f32"), v2, "f32"), "f32");
      val = e.bin("addf", val, e.bin("mulf", e.bin("mulf", ly, hx, "f32"), v3, "f32"), "f32");
      val = e.bin("addf", val, e.bin("mulf", e.bin("mulf", ly, lx, "f32"), v4, "f32"), "f32");
      // Outside the image the sample is 0 * mask, and NaN at a NaN position:
      // a NaN never becomes a plausible 0 (reference/Kernels.cpp).
      std::string outside = e.bin(
          "mulf", e.select(e.cmp("uno", y, x, "f32"), e.f32(NAN), e.f32(0)), m, "f32");
      val = e.select(chValid, e.select(inImage, e.bin("mulf", val, m, "f32"), outside),
                     e.f32(0));
      std::string wv = e.fresh();
      e.line(wv + " = vector.load %s3[" + cc + ", " + kk + ", " + e.idx(0) +
             "] : " + wdT + ", " + vec);
      std::string vb = e.fresh();
      e.line(vb + " = vector.broadcast " + val + " : f32 to " + vec);
      std::string nx = e.fresh();
      e.line(nx + " = vector.fma " + vb + ", " + wv + ", " + accKIn + " : " + vec);
      e.line("scf.yield " + nx + " : " + vec);
    }
    e.line("}");
    acc = accK;
    e.line("scf.yield " + acc + " : " + vec);
    e.line("}");
    e.line("vector.store " + res + ", %s0[" + t + ", " + e.idx(0) + "] : " + accT +
           ", " + vec);
    e.line("}");
    endPhase(e);
  }
  e.line("}"); // d0
  {
    std::string t = beginPhase(e, threads);
    std::string oy = e.add(oy0, e.div(t, TW)), ox = e.add(ox0, e.rem(t, TW));
    std::string inside = e.andi(e.cmp("ult", oy, e.idx(h)), e.cmp("ult", ox, e.idx(w)));
    e.line("scf.if " + inside + " {");
    for (int64_t r = 0; r < oct; ++r) {
      std::string o = e.addc(o0, r);
      std::string v = e.bin("addf", e.load("%s0", accT, {t, e.idx(r)}),
                            e.load(bArg, bTy, {o}), "f32");
      if (op.getRelu())
        v = e.bin("maximumf", v, e.f32(0), "f32");
      e.store(v, outArg, k.argTypes.back(), {"%bz", o, oy, ox});
    }
    e.line("}");
    endPhase(e);
  }
  e.line("}"); // o0
  k.body = e.text;
  (void)error;
  return true;
}

//===----------------------------------------------------------------------===//
// fold_batch_norm (@init)
//===----------------------------------------------------------------------===//

/// One thread per output channel: scales its weights, computes its bias.
bool genFoldBatchNorm(FoldBatchNormOp op, KernelIR &k) {
  auto w = op.getWeight().getType().getShape();
  int64_t out = w[0], threads = 64;
  k.grid = {ceilDiv(out, threads), 1, 1};
  k.threads = threads;
  FoldBatchNormArgs args(op, k.argTypes);

  Emitter e;
  std::string t = beginPhase(e, threads);
  std::string o = e.add(e.mulc("%bx", threads), t);
  e.line("scf.if " + e.cmp("ult", o, e.idx(out)) + " {");
  std::string scale = args.foldChannel(e, o);
  std::string ci = e.fresh(), y = e.fresh(), x = e.fresh();
  e.line("scf.for " + ci + " = " + e.idx(0) + " to " + e.idx(w[1]) + " step " + e.idx(1) +
         " {");
  e.line("scf.for " + y + " = " + e.idx(0) + " to " + e.idx(w[2]) + " step " + e.idx(1) +
         " {");
  e.line("scf.for " + x + " = " + e.idx(0) + " to " + e.idx(w[3]) + " step " + e.idx(1) +
         " {");
  std::string wt = memrefType(op.getWeight());
  std::string nw = e.bin("mulf", e.load(args.weight, wt, {o, ci, y, x}), scale, "f32");
  e.store(nw, args.newWeight, wt, {o, ci, y, x});
  e.line("}");
  e.line("}");
  e.line("}");
  e.line("}");
  endPhase(e);
  k.body = e.text;
  return true;
}
//===----------------------------------------------------------------------===//
// Small ops: one thread per output element
//===----------------------------------------------------------------------===//

/// Pools and reshapes that survive fusion (the Tree's max-pooled residual,
/// the classifier's average pool and flatten).
bool genElementwise(Operation *op, KernelIR &k, std::string &error) {
  auto out = llvm::cast<ShapedType>(op->getResult(0).getType());
  int64_t total = out.getNumElements(), threads = 256;
  k.grid = {ceilDiv(total, threads), 1, 1};
  k.threads = threads;
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op->getResult(0)));
  std::string inT = k.argTypes[0], outT = k.argTypes.back();
  std::string outArg = "%a" + std::to_string(op->getNumOperands());

  Emitter e;
  std::string t = beginPhase(e, threads);
  std::string i = e.add(e.mulc("%bx", threads), t);
  e.line("scf.if " + e.cmp("ult", i, e.idx(total)) + " {");
  // Output coordinates (row-major).
  std::vector<std::string> coord(out.getRank());
  std::string rest = i;
  for (int64_t d = out.getRank() - 1; d >= 0; --d) {
    coord[d] = e.rem(rest, out.getDimSize(d));
    rest = e.div(rest, out.getDimSize(d));
  }
  bool ok = llvm::TypeSwitch<Operation *, bool>(op)
                .Case<MaxPool2dOp, AvgPool2dOp>([&](auto pool) {
                  bool isMax = isa<MaxPool2dOp>(op);
                  auto in = pool.getInput().getType().getShape();
                  ArrayRef<int64_t> kern = pool.getKernel(), st = pool.getStride(),
                                    pad = pool.getPadding();
                  std::string acc = isMax ? e.f32(-std::numeric_limits<float>::infinity())
                                          : e.f32(0);
                  for (int64_t ky = 0; ky < kern[0]; ++ky)
                    for (int64_t kx = 0; kx < kern[1]; ++kx) {
                      std::string y = e.addc(e.mulc(coord[2], st[0]), ky - pad[0]);
                      std::string x = e.addc(e.mulc(coord[3], st[1]), kx - pad[1]);
                      std::string inside = e.andi(e.inRange(y, in[2]), e.inRange(x, in[3]));
                      std::string v = ifValue(
                          e, inside,
                          [&] { return e.load("%a0", inT, {coord[0], coord[1], y, x}); },
                          [&] {
                            return e.f32(isMax ? -std::numeric_limits<float>::infinity()
                                               : 0.0);
                          });
                      acc = e.bin(isMax ? "maximumf" : "addf", acc, v, "f32");
                    }
                  if (!isMax) // count_include_pad: always the window size
                    acc = e.bin("divf", acc, e.f32(double(kern[0] * kern[1])), "f32");
                  e.store(acc, outArg, outT, coord);
                  return true;
                })
                .Case([&](FlattenOp) {
                  auto in = llvm::cast<ShapedType>(op->getOperand(0).getType());
                  std::string r = coord[1];
                  std::vector<std::string> src(4);
                  src[0] = coord[0];
                  for (int64_t d = 3; d >= 1; --d) {
                    src[d] = e.rem(r, in.getDimSize(d));
                    r = e.div(r, in.getDimSize(d));
                  }
                  e.store(e.load("%a0", inT, src), outArg, outT, coord);
                  return true;
                })
                .Default([&](Operation *) {
                  error = "no kernel generator for '" +
                          op->getName().getStringRef().str() + "' yet";
                  return false;
                });
  e.line("}");
  endPhase(e);
  k.body = e.text;
  return ok;
}
} // namespace

//===----------------------------------------------------------------------===//
// Wrappers
//===----------------------------------------------------------------------===//

/// Replaces the placeholders $S0, $S1, ... by the scratch memref types, in
/// `memorySpace` (empty for the host).
static std::string withScratchTypes(std::string body,
                                    const std::vector<std::string> &types,
                                    const std::string &memorySpace) {
  for (size_t i = types.size(); i-- > 0;) {
    std::string from = "$S" + std::to_string(i), to = types[i];
    to.insert(to.size() - 1, memorySpace);
    for (size_t pos = 0; (pos = body.find(from, pos)) != std::string::npos;
         pos += to.size())
      body.replace(pos, from.size(), to);
  }
  return body;
}

std::string KernelIR::hostFunction() const {
  std::string s = "func.func @" + name + "(";
  for (size_t i = 0; i < argTypes.size(); ++i)
    s += "%a" + std::to_string(i) + ": " + argTypes[i] + ", ";
  s += "%begin: index, %end: index) {\n";
  // Scratch on the heap, once per call: CPU tiles can exceed a thread's stack.
  for (size_t i = 0; i < scratchTypes.size(); ++i)
    s += "  %s" + std::to_string(i) + " = memref.alloc() {alignment = 64 : i64} : " +
         scratchTypes[i] + "\n";
  s += "  %one = arith.constant 1 : index\n";
  s += "  scf.for %blk = %begin to %end step %one {\n";
  s += "  %gx = arith.constant " + std::to_string(grid[0]) + " : index\n";
  s += "  %gy = arith.constant " + std::to_string(grid[1]) + " : index\n";
  s += "  %bx = arith.remui %blk, %gx : index\n";
  s += "  %bq = arith.divui %blk, %gx : index\n";
  s += "  %by = arith.remui %bq, %gy : index\n";
  s += "  %bz = arith.divui %bq, %gy : index\n";
  s += withScratchTypes(body, scratchTypes, "");
  s += "  }\n";
  for (size_t i = 0; i < scratchTypes.size(); ++i)
    s += "  memref.dealloc %s" + std::to_string(i) + " : " + scratchTypes[i] + "\n";
  s += "  return\n}\n";
  return s;
}

std::string KernelIR::gpuFunction() const {
  std::string s = "gpu.func @" + name + "(";
  for (size_t i = 0; i < argTypes.size(); ++i)
    s += (i ? ", " : "") + std::string("%a") + std::to_string(i) + ": " + argTypes[i];
  s += ")";
  if (!scratchTypes.empty()) {
    s += " workgroup(";
    for (size_t i = 0; i < scratchTypes.size(); ++i) {
      std::string t = scratchTypes[i];
      t.insert(t.size() - 1, ", #gpu.address_space<workgroup>");
      s += (i ? ", " : "") + std::string("%s") + std::to_string(i) + " : " + t;
    }
    s += ")";
  }
  s += " kernel attributes {known_block_size = array<i32: " + std::to_string(threads) +
       ", 1, 1>} {\n";
  s += "  %bx = gpu.block_id x\n  %by = gpu.block_id y\n  %bz = gpu.block_id z\n";
  s += withScratchTypes(body, scratchTypes, ", #gpu.address_space<workgroup>");
  s += "  gpu.return\n}\n";
  return s;
}

bool mlir::dla::generateKernel(Operation *op, const std::string &name,
                               KernelIR &kernel, std::string &error) {
  kernel = KernelIR();
  kernel.name = name;
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return genFusedConv(conv, kernel, error);
  if (auto fold = dyn_cast<FoldBatchNormOp>(op))
    return genFoldBatchNorm(fold, kernel);
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op))
    return genFusedDeformConv(dcn, kernel, error);
  if (isa<MaxPool2dOp, AvgPool2dOp, FlattenOp>(op))
    return genElementwise(op, kernel, error);
  error = "no kernel generator for '" + op->getName().getStringRef().str() + "' yet";
  return false;
}
