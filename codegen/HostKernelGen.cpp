//===- HostKernelGen.cpp - Fused dla ops → CPU kernel IR ------------------===//
//
// The CPU kernels of the hot ops (fused_conv, fused_deform_conv). The
// GPU-shaped kernels of KernelGen.cpp run one "thread" per output pixel with
// a one-vector register tile, which suits a GPU and starves a CPU; these are
// written for a CPU core instead:
//
//  * a register tile of P output pixels x V vectors of output channels
//    (vector<VWxf32>, VW = the SIMD width of --host-cpu), carried through the
//    reduction loop as scf.for iter_args so that LLVM keeps it in registers;
//    each step is one weight vector load per V, one broadcast input per P
//    and P*V fused multiply-adds;
//  * per block (a tile of rows and columns of one image and one block of
//    output channels), the input patch is staged with its zero padding,
//    pooling and concat resolved, chunk of input channels by chunk, so the
//    inner loop has no bounds checks; the weights come packed by @init
//    ([oc / OB][ci][ky][kx][OB]) or are repacked per block;
//  * 1x1 convs without stride or padding are a GEMM over the contiguous
//    pixels instead (channels x pixel vectors, input channels in chunks that
//    stay in L1; pooled inputs pooled once by a first wave);
//  * a Tree's projected residual (`project`) is one more reduction of the
//    same register tiles, over the pooled input's channels; a narrow tail
//    conv (`then`, a head's 1x1 to 2 channels) is folded in the epilogue,
//    the block covering every channel of its pixels;
//  * blocks are independent: the runtime's threads take them from a shared
//    counter (docs/runtime.md), so results do not depend on the thread count.
//
// The DCN runs in two waves: x = the sum of its (upsampled) addends into a
// channels-last workspace with a zero border, then per block of rows the
// offset/mask conv, the bilinear samples of P pixels (vectorised over
// channels) and samples x packed weights as above. There is no im2col
// buffer beyond the P pixels of one register tile. docs/codegen.md has the
// details.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelEmitter.h"
#include "codegen/KernelGen.h"

#include "dialects/DLA/IR/DLAOps.h"

#include <algorithm>
#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

namespace {

int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

/// `%r:count = scf.for %i = lo to hi step st iter_args(...)`: a loop that
/// carries `init` values of type `type`; returns the induction variable and
/// the names of the carried values inside the body. Close with endCarry.
struct Carry {
  std::string iv, result;
  std::vector<std::string> inside;
};
Carry beginCarry(Emitter &e, const std::string &lo, const std::string &hi,
                 const std::string &step, const std::vector<std::string> &init,
                 const std::string &type) {
  Carry c;
  c.iv = e.fresh();
  c.result = e.fresh();
  std::string args, types;
  for (size_t i = 0; i < init.size(); ++i) {
    c.inside.push_back(e.fresh());
    args += (i ? ", " : "") + c.inside.back() + " = " + init[i];
    types += (i ? ", " : "") + type;
  }
  e.line(c.result + ":" + std::to_string(init.size()) + " = scf.for " + c.iv + " = " + lo +
         " to " + hi + " step " + step + " iter_args(" + args + ") -> (" + types + ") {");
  return c;
}
/// Yields `values` and returns the names of the loop results.
std::vector<std::string> endCarry(Emitter &e, const Carry &c,
                                  const std::vector<std::string> &values,
                                  const std::string &type) {
  std::string list, types;
  std::vector<std::string> results;
  for (size_t i = 0; i < values.size(); ++i) {
    list += (i ? ", " : "") + values[i];
    types += (i ? ", " : "") + type;
    results.push_back(c.result + "#" + std::to_string(i));
  }
  e.line("scf.yield " + list + " : " + types);
  e.line("}");
  return results;
}

std::string beginFor(Emitter &e, const std::string &lo, const std::string &hi,
                     int64_t step = 1) {
  std::string i = e.fresh();
  e.line("scf.for " + i + " = " + lo + " to " + hi + " step " + e.idx(step) + " {");
  return i;
}
std::string beginFor(Emitter &e, int64_t lo, int64_t hi, int64_t step = 1) {
  return beginFor(e, e.idx(lo), e.idx(hi), step);
}

std::string vload(Emitter &e, const std::string &m, const std::string &type,
                  const std::vector<std::string> &indices, const std::string &vec) {
  std::string v = e.fresh();
  e.line(v + " = vector.load " + m + "[" + Emitter::join(indices) + "] : " + type + ", " +
         vec);
  return v;
}
void vstore(Emitter &e, const std::string &v, const std::string &m, const std::string &type,
            const std::vector<std::string> &indices, const std::string &vec) {
  e.line("vector.store " + v + ", " + m + "[" + Emitter::join(indices) + "] : " + type +
         ", " + vec);
}
std::string broadcast(Emitter &e, const std::string &x, const std::string &vec) {
  std::string v = e.fresh();
  e.line(v + " = vector.broadcast " + x + " : f32 to " + vec);
  return v;
}
std::string fma(Emitter &e, const std::string &a, const std::string &b,
                const std::string &c, const std::string &vec) {
  std::string v = e.fresh();
  e.line(v + " = vector.fma " + a + ", " + b + ", " + c + " : " + vec);
  return v;
}
/// One step of a register tile: acc[base + j] += b * vecs[j] for every j
/// (one broadcast against a row of vectors).
void fmaRow(Emitter &e, const std::string &b, const std::vector<std::string> &vecs,
            std::vector<std::string> &acc, size_t base, const std::string &vec) {
  for (size_t j = 0; j < vecs.size(); ++j)
    acc[base + j] = fma(e, b, vecs[j], acc[base + j], vec);
}
/// Max-pools channel `local` of image `img` of `src` (pool factor p) into
/// channel `wsC` of the flat workspace [n][c][ho * wo]: a 2x2 row of whole
/// vectors with two maxima and an even/odd lane shuffle, others scalar.
void emitPoolChannel(Emitter &e, const std::string &src, const std::string &srcTy, int64_t p,
                     const std::string &img, const std::string &local, const std::string &ws,
                     const std::string &wsTy, const std::string &wsC, int64_t ho, int64_t wo,
                     int64_t VW) {
  std::string vec = "vector<" + std::to_string(VW) + "xf32>";
  std::string y = beginFor(e, 0, ho);
  if (p == 2 && wo % VW == 0) {
    std::string x = beginFor(e, 0, wo, VW);
    std::string y0 = e.mulc(y, 2), y1 = e.addc(e.mulc(y, 2), 1);
    std::string xa = e.mulc(x, 2), xb = e.addc(e.mulc(x, 2), VW);
    std::string m0 = e.bin("maximumf", vload(e, src, srcTy, {img, local, y0, xa}, vec),
                           vload(e, src, srcTy, {img, local, y1, xa}, vec), vec);
    std::string m1 = e.bin("maximumf", vload(e, src, srcTy, {img, local, y0, xb}, vec),
                           vload(e, src, srcTy, {img, local, y1, xb}, vec), vec);
    std::string evenIdx, oddIdx;
    for (int64_t l = 0; l < VW; ++l) {
      evenIdx += (l ? ", " : "") + std::to_string(2 * l);
      oddIdx += (l ? ", " : "") + std::to_string(2 * l + 1);
    }
    std::string even = e.fresh(), odd = e.fresh();
    e.line(even + " = vector.shuffle " + m0 + ", " + m1 + " [" + evenIdx + "] : " + vec + ", " +
           vec);
    e.line(odd + " = vector.shuffle " + m0 + ", " + m1 + " [" + oddIdx + "] : " + vec + ", " +
           vec);
    vstore(e, e.bin("maximumf", even, odd, vec), ws, wsTy, {img, wsC, e.add(e.mulc(y, wo), x)},
           vec);
    endFor(e);
  } else {
    std::string x = beginFor(e, 0, wo);
    std::string m;
    for (int64_t dy = 0; dy < p; ++dy)
      for (int64_t dx = 0; dx < p; ++dx) {
        std::string t = e.load(src, srcTy,
                               {img, local, e.addc(e.mulc(y, p), dy), e.addc(e.mulc(x, p), dx)});
        m = m.empty() ? t : e.bin("maximumf", m, t, "f32");
      }
    e.store(m, ws, wsTy, {img, wsC, e.add(e.mulc(y, wo), x)});
    endFor(e);
  }
  endFor(e);
}

/// Register tile: P pixels x V vectors; the accumulators fit the register
/// file with room for the weight vectors and a broadcast input.
struct Tile {
  int64_t vw, v, p;
};
Tile chooseTile(const HostTarget &t, int64_t channels, int64_t width) {
  Tile tile;
  tile.vw = t.vectorWidth;
  // Two vectors of channels when that pads no more than one would.
  tile.v = channels > tile.vw && roundUp(channels, 2 * tile.vw) == roundUp(channels, tile.vw)
               ? 2
               : 1;
  int64_t accumulators = t.registers >= 32 ? 16 : 8;
  tile.p = std::max<int64_t>(1, std::min(accumulators / tile.v, width));
  return tile;
}

//===----------------------------------------------------------------------===//
// fused_conv
//===----------------------------------------------------------------------===//


/// A 1x1 conv with stride 1 and no padding is a GEMM over the pixels, which
/// are contiguous in NCHW: out[oc][px] = sum_c w[oc][c] x[c][px].
///  * Register tile: R output channels x VP vectors of pixels; per input
///    channel VP vector loads of x, R broadcast weights, R * VP FMAs.
///  * Blocks are OCB output channels x PXB pixels of one image. Inside a
///    block the input channels go in chunks of KC: per chunk and pixel tile,
///    the KC x VP vectors of x (a few KB, in L1) serve every R channels of
///    the block. Partial sums live in the output between chunks; the last
///    chunk adds bias and residual and applies the ReLU.
///  * Max-pooled inputs (the projections) are pooled once, vectorised, into
///    the step's workspace by a first wave of blocks; the GEMM reads the
///    pooled copy.
bool pointwiseEligible(FusedConvOp op, const HostTarget &target) {
  auto w = op.getWeight().getType().getShape();
  auto out = op.getType().getShape();
  return !op.getResidualWeight() && !op.getTailWeight() && w[2] == 1 && w[3] == 1 &&
         op.getGroups() == 1 && op.getPadding()[0] == 0 &&
         op.getPadding()[1] == 0 && op.getStride()[0] == 1 && op.getStride()[1] == 1 &&
         (out[2] * out[3]) % target.vectorWidth == 0;
}

bool genHostPointwiseConv(FusedConvOp op, const HostTarget &target,
                          const HostPacking &packing, KernelIR &k) {
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], ho = out[2], wo = out[3], hw = ho * wo;
  int64_t cin = op.getWeight().getType().getDimSize(1);
  // AVX-512 (32 registers): 6 x 4 = 24 accumulators, 4 x vectors and a
  // broadcast; 16 registers: 4 x 2. A chunk's x (KC x VP vectors) takes 8 KB.
  int64_t VW = target.vectorWidth;
  int64_t R = target.registers >= 32 ? 6 : 4, VP = target.registers >= 32 ? 4 : 2;
  int64_t tile = VP * VW;
  int64_t KC = std::max<int64_t>(16, 8192 / (4 * tile));
  // Blocks: up to ~64 output channels (a block reads its pixels' x once per
  // chunk), a multiple of R, in equal parts; pixels are split first to keep
  // threads busy.
  int64_t OCB = roundUp(ceilDiv(oc, ceilDiv(oc, 64)), R);
  int64_t PXB = roundUp(std::min<int64_t>(hw, 1024), tile);
  auto blocks = [&] { return n * ceilDiv(oc, OCB) * ceilDiv(hw, PXB); };
  while (blocks() < 8 && (PXB > tile || OCB > 16)) {
    if (PXB > tile)
      PXB = roundUp(PXB / 2, tile);
    else
      OCB = roundUp(OCB / 2, R);
  }
  int64_t ocBlocks = ceilDiv(oc, OCB), pxBlocks = ceilDiv(hw, PXB);
  int64_t tailV = (hw % tile) / VW; // vectors of the last block's last tile

  // Activations flat over the pixels (the same memory as NCHW); max-pooled
  // inputs keep their shape for wave 1, which pools them into the
  // workspace [n][pooled channels][hw].
  auto flat = [&](Value v) {
    auto shape = llvm::cast<ShapedType>(v.getType()).getShape();
    return scratchType({shape[0], shape[1], shape[2] * shape[3]});
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
  int64_t ob = packing.packed.lookup(op.getWeight());
  k.argTypes.push_back(ob > 0 ? scratchType({oc / ob, cin, ob}) : scratchType({oc, cin}));
  if (op.getBias())
    k.argTypes.push_back(memrefType(op.getBias()));
  if (op.getResidual())
    k.argTypes.push_back(flat(op.getResidual()));
  k.argTypes.push_back(flat(op.getResult()));
  auto arg = [](int64_t i) { return "%a" + std::to_string(i); };
  std::string weightArg = arg(numInputs), weightTy = k.argTypes[numInputs];
  int64_t next = numInputs + 1;
  std::string biasArg = op.getBias() ? arg(next++) : "";
  std::string residualTy = op.getResidual() ? k.argTypes[next] : "";
  std::string residualArg = op.getResidual() ? arg(next++) : "";
  std::string outArg = arg(next), outTy = k.argTypes.back();
  std::string wsArg = arg(next + 1), wsTy;
  // Wave 1: per image, chunks of PCH pooled channels.
  int64_t PCH = 0, poolBlocks = 0;
  if (pooledChannels) {
    wsTy = scratchType({n, pooledChannels, hw});
    k.argTypes.push_back(wsTy);
    k.hostWorkspaceBytes = 4 * n * pooledChannels * hw;
    // Blocks of 4 to 64 KB of pooled values, 8 of them when that allows.
    PCH = std::clamp(ceilDiv(n * pooledChannels, 8), ceilDiv(1024, hw), ceilDiv(16384, hw));
    poolBlocks = n * ceilDiv(pooledChannels, PCH);
    k.hostWaves = {poolBlocks, n * ocBlocks * pxBlocks};
  }
  k.grid = {poolBlocks + n * ocBlocks * pxBlocks, 1, 1};
  k.threads = 1;
  std::string vec = "vector<" + std::to_string(VW) + "xf32>";

  Emitter e;
  std::string zero = e.fresh();
  e.line(zero + " = arith.constant dense<0.0> : " + vec);
  std::string bx = "%bx";
  if (pooledChannels) {
    e.line("scf.if " + e.cmp("ult", "%bx", e.idx(poolBlocks)) + " {");
    std::string chunks = e.idx(ceilDiv(pooledChannels, PCH));
    std::string img = e.bin("divui", "%bx", chunks), cb = e.bin("remui", "%bx", chunks);
    std::string c0 = e.mulc(cb, PCH);
    std::string cEnd = e.bin("minui", e.idx(PCH), e.bin("subi", e.idx(pooledChannels), c0));
    std::string cc = beginFor(e, e.idx(0), cEnd);
    std::string c = e.add(c0, cc);
    // The input holding workspace channel c.
    std::function<void(int64_t)> pick = [&](int64_t in) {
      int64_t last = in;
      for (int64_t j = in + 1; j < numInputs; ++j)
        if (wsOffset[j] >= 0)
          last = j;
      auto pool = [&] {
        emitPoolChannel(e, arg(in), k.argTypes[in], op.getPool()[in], img,
                        e.bin("subi", c, e.idx(wsOffset[in])), wsArg, wsTy, c, ho, wo, VW);
      };
      if (in == last) {
        pool();
        return;
      }
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      e.line("scf.if " + e.cmp("ult", c, e.idx(wsOffset[in] + ci)) + " {");
      pool();
      e.line("} else {");
      int64_t nextPooled = in + 1;
      while (wsOffset[nextPooled] < 0)
        ++nextPooled;
      pick(nextPooled);
      e.line("}");
    };
    int64_t firstPooled = 0;
    while (wsOffset[firstPooled] < 0)
      ++firstPooled;
    pick(firstPooled);
    endFor(e);
    e.line("} else {");
    bx = e.bin("subi", "%bx", e.idx(poolBlocks));
  }
  std::string pb = e.rem(bx, pxBlocks), r1 = e.div(bx, pxBlocks);
  std::string obk = e.rem(r1, ocBlocks), img = e.div(r1, ocBlocks);
  std::string oc0 = e.mulc(obk, OCB), px0 = e.mulc(pb, PXB);
  std::string pxEnd = e.bin("minui", e.idx(PXB), e.bin("subi", e.idx(hw), px0));
  std::string fullEnd = e.mulc(e.div(pxEnd, tile), tile);
  // One pixel tile of nv vectors at pixel pxs: every input channel in
  // chunks, every R channels of the block per chunk. The tile's partial sums
  // (OCB x nv vectors) stay in L1 between chunks.
  auto pixelTile = [&](const std::string &pxs, int64_t nv) {
    int64_t begin = 0;
    for (int64_t in = 0; in < numInputs; ++in) {
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      bool pooled = wsOffset[in] >= 0;
      std::string src = pooled ? wsArg : arg(in), srcTy = pooled ? wsTy : k.argTypes[in];
      int64_t srcBase = pooled ? wsOffset[in] : 0;
      std::string k0 = beginFor(e, 0, ci, KC);
      std::string kEnd = e.bin("minui", e.idx(KC), e.bin("subi", e.idx(ci), k0));
      std::string first = in == 0 ? e.cmp("eq", k0, e.idx(0)) : "";
      std::string last = in + 1 == numInputs ? e.cmp("uge", e.addc(k0, KC), e.idx(ci)) : "";
      std::string orow = beginFor(e, 0, OCB, R);
      std::string o0 = e.add(oc0, orow);
      e.line("scf.if " + e.cmp("ult", o0, e.idx(oc)) + " {");
      std::vector<std::string> oS(R), px(nv), acc;
      for (int64_t r = 0; r < R; ++r) // rows past the channels read the last one
        oS[r] = e.bin("minui", e.addc(o0, r), e.idx(oc - 1));
      for (int64_t j = 0; j < nv; ++j)
        px[j] = e.addc(pxs, j * VW);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < nv; ++j) {
          std::string v = vload(e, outArg, outTy, {img, oS[r], px[j]}, vec);
          acc.push_back(first.empty() ? v : e.select(first, zero, v, vec));
        }
      Carry loop = beginCarry(e, e.idx(0), kEnd, e.idx(1), acc, vec);
      std::vector<std::string> a = loop.inside;
      std::string cl = e.add(k0, loop.iv);
      std::string c = e.addc(cl, begin), cs = e.addc(cl, srcBase);
      std::vector<std::string> xv;
      for (int64_t j = 0; j < nv; ++j)
        xv.push_back(vload(e, src, srcTy, {img, cs, px[j]}, vec));
      // The weights stream from memory (a deep Root's are MBs, read once):
      // prefetch the next chunk's line of this row (the R rows share it).
      if (ob > 0) {
        std::string ahead = e.bin("minui", e.addc(c, KC), e.idx(cin - 1));
        e.line("memref.prefetch " + weightArg + "[" + e.div(oS[0], ob) + ", " + ahead + ", " +
               e.rem(oS[0], ob) + "], read, locality<3>, data : " + weightTy);
      }
      for (int64_t r = 0; r < R; ++r) {
        std::string wv = ob > 0 ? e.load(weightArg, weightTy,
                                         {e.div(oS[r], ob), c, e.rem(oS[r], ob)})
                                : e.load(weightArg, weightTy, {oS[r], c});
        std::string wb = broadcast(e, wv, vec);
        fmaRow(e, wb, xv, a, r * nv, vec);
      }
      acc = endCarry(e, loop, a, vec);
      for (int64_t r = 0; r < R; ++r) {
        std::string o = e.addc(o0, r);
        e.line("scf.if " + e.cmp("ult", o, e.idx(oc)) + " {");
        std::string bias;
        if (!last.empty() && !biasArg.empty())
          bias = broadcast(e, e.load(biasArg, memrefType(op.getBias()), {o}), vec);
        for (int64_t j = 0; j < nv; ++j) {
          std::string v = acc[r * nv + j];
          if (!last.empty()) {
            std::string f = v;
            if (!bias.empty())
              f = e.bin("addf", f, bias, vec);
            if (!residualArg.empty())
              f = e.bin("addf", f, vload(e, residualArg, residualTy, {img, o, px[j]}, vec),
                        vec);
            if (op.getRelu())
              f = e.bin("maximumf", f, zero, vec);
            v = e.select(last, f, v, vec);
          }
          vstore(e, v, outArg, outTy, {img, o, px[j]}, vec);
        }
        e.line("}");
      }
      e.line("}");
      endFor(e); // orow
      endFor(e); // k0
      begin += ci;
    }
  };
  std::string pt = beginFor(e, e.idx(0), fullEnd, tile);
  pixelTile(e.add(px0, pt), VP);
  endFor(e);
  if (tailV) {
    e.line("scf.if " + e.cmp("ult", fullEnd, pxEnd) + " {");
    pixelTile(e.add(px0, fullEnd), tailV);
    e.line("}");
  }
  if (pooledChannels)
    e.line("}");
  k.body = e.text;
  return true;
}

bool genHostFusedConv(FusedConvOp op, const HostTarget &target, const HostPacking &packing,
                      KernelIR &k, std::string &error) {
  if (pointwiseEligible(op, target))
    return genHostPointwiseConv(op, target, packing, k);
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
  Tile tile = chooseTile(target, og, wo);
  int64_t VW = tile.vw, V = tile.v, P = tile.p, OB = V * VW;
  int64_t ocBlocks = ceilDiv(og, OB);
  // Weights packed by @init ([oc / OB][cg][kh][kw][OB]) are read in place;
  // otherwise each block repacks its slice into scratch.
  bool packed = packing.packed.lookup(op.getWeight()) == OB;
  int64_t TC = P * std::min(ceilDiv(wo, P), std::max<int64_t>(1, 64 / P));
  // Few output channels (one vector or less: the stem, level 0) with stride
  // 1: the register tile is RR channels x VR vectors of pixels along a row
  // instead (VR contiguous loads from the patch and RR broadcast weights for
  // RR * VR FMAs, against P broadcasts for P FMAs).
  int64_t RR = 4, VR = 4;
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
  bool rowTile = !project && !tail && target.registers >= 32 && s == 1 && V == 1 && og % RR == 0 &&
                 wo % (VR * VW) == 0 && !(kh == 1 && kw == 1 && pad == 0);
  if (rowTile)
    TC = VR * VW;
  int64_t colTiles = ceilDiv(wo, TC);
  // ~512 output pixels a block; strided convs fewer, so their patch (s^2
  // times the input area) stays near L1.
  int64_t TR = std::min(ho, std::max<int64_t>(1, 512 / TC / s));
  // Enough blocks to keep a few threads busy, if the map allows.
  while (TR > 1 && n * groups * gridOcBlocks * ceilDiv(ho, TR) * colTiles < 8)
    TR = ceilDiv(TR, 2);
  int64_t rowTiles = ceilDiv(ho, TR);
  // 1x1 without padding (projections, Root convs): the inputs are read in
  // place, all channels in one pass, no patch is staged.
  bool direct = kh == 1 && kw == 1 && pad == 0 && groups == 1 &&
                llvm::all_of(op.getPool(), [](int64_t p) { return p == 1; });
  int64_t chunks = direct ? 1 : ceilDiv(cg, 64), CK = ceilDiv(cg, chunks);
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

  int64_t numInputs = op.getInputs().size();
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op.getResult()));
  auto arg = [](int64_t i) { return "%a" + std::to_string(i); };
  if (packed)
    k.argTypes[numInputs] = scratchType({oc / OB, cg, kh, kw, OB});
  std::string weightArg = arg(numInputs), weightTy = k.argTypes[numInputs];
  int64_t next = numInputs + 1;
  std::string biasArg = op.getBias() ? arg(next++) : "";
  std::string residualArg = op.getResidual() ? arg(next++) : "";
  std::string projWArg, projWTy, projBArg;
  bool projPacked = project && packing.packed.lookup(op.getResidualWeight()) == OB;
  if (project) {
    if (projPacked)
      k.argTypes[next] = scratchType({oc / OB, cr, 1, 1, OB});
    projWTy = k.argTypes[next];
    projWArg = arg(next++);
    projBArg = arg(next++);
  }
  std::string tailWArg, tailBArg;
  if (tail) {
    tailWArg = arg(next++);
    tailBArg = arg(next++);
  }
  std::string outArg = arg(next), outTy = k.argTypes.back();
  // Accumulators [pixel][channel], or [channel][pixel] for the row tile.
  k.scratchTypes = {rowTile ? scratchType({OB, TR * TC}) : scratchType({TR * TC, OB}),
                    scratchType({packed ? 1 : CK, kh, kw, OB}),
                    scratchType({CK, IH, IW})};
  k.scratchBytes = 4 * (TR * TC * OB + (packed ? 1 : CK) * kh * kw * OB + CK * IH * IW);
  // The projected residual's source: the residual itself, or (pooled) its
  // max-pooled copy [n][cr][ho * wo], made once by a first wave of blocks in
  // the step's workspace (rather than by every block of output channels).
  std::string wsArg, wsTy;
  int64_t PCH = 0, poolBlocks = 0, mainBlocks = k.grid[0];
  if (project) {
    // $S3: the 1x1 weights [cr][OB] when @init did not pack them.
    k.scratchTypes.push_back(scratchType({projPacked ? 1 : cr, OB}));
    k.scratchBytes += 4 * (projPacked ? 1 : cr) * OB;
    if (q > 1) {
      wsTy = scratchType({n, cr, ho * wo});
      wsArg = arg(next + 1);
      k.argTypes.push_back(wsTy);
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
  std::string tAcc, tW, tB, tAccT, tWT, tBT;
  if (tail) {
    auto add = [&](const std::vector<int64_t> &shape, std::string &name, std::string &ty) {
      name = "%s" + std::to_string(k.scratchTypes.size());
      ty = "$S" + std::to_string(k.scratchTypes.size());
      k.scratchTypes.push_back(scratchType(shape));
      int64_t elems = 1;
      for (int64_t d : shape)
        elems *= d;
      k.scratchBytes += 4 * elems;
    };
    add({T, TR * TC}, tAcc, tAccT);
    add({T, ocPad}, tW, tWT);
    add({ocPad}, tB, tBT);
  }
  std::string accT = "$S0", wsT = "$S1", xsT = "$S2";
  std::string vec = "vector<" + std::to_string(VW) + "xf32>";
  auto inShape = llvm::cast<ShapedType>(op.getInputs().front().getType());
  int64_t hin = inShape.getDimSize(2) / op.getPool()[0];
  int64_t win = inShape.getDimSize(3) / op.getPool()[0];

  Emitter e;
  // The P x V register tiles' accumulators live in $S0 at [pixel][v * VW]:
  // the tile's pixel rows of output row r from column x0, and loading /
  // storing its P * V vectors.
  auto tileRows = [&](const std::string &r, const std::string &x0) {
    std::string base = e.mulc(r, TC);
    std::vector<std::string> rowOf(P);
    for (int64_t p = 0; p < P; ++p)
      rowOf[p] = e.add(base, e.addc(x0, p));
    return rowOf;
  };
  auto loadTile = [&](const std::vector<std::string> &rowOf) {
    std::vector<std::string> acc;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t v = 0; v < V; ++v)
        acc.push_back(vload(e, "%s0", accT, {rowOf[p], e.idx(v * VW)}, vec));
    return acc;
  };
  auto storeTile = [&](const std::vector<std::string> &acc,
                       const std::vector<std::string> &rowOf) {
    for (int64_t p = 0; p < P; ++p)
      for (int64_t v = 0; v < V; ++v)
        vstore(e, acc[p * V + v], "%s0", accT, {rowOf[p], e.idx(v * VW)}, vec);
  };
  std::string bx = "%bx";
  if (poolBlocks) {
    e.line("scf.if " + e.cmp("ult", "%bx", e.idx(poolBlocks)) + " {");
    std::string chunks = e.idx(ceilDiv(cr, PCH));
    std::string img = e.bin("divui", "%bx", chunks), c0 = e.mulc(e.bin("remui", "%bx", chunks), PCH);
    std::string cc = beginFor(e, e.idx(0), e.bin("minui", e.idx(PCH), e.bin("subi", e.idx(cr), c0)));
    std::string c = e.add(c0, cc);
    emitPoolChannel(e, residualArg, memrefType(op.getResidual()), q, img, c, wsArg, wsTy, c, ho,
                    wo, VW);
    endFor(e);
    e.line("} else {");
    bx = e.bin("subi", "%bx", e.idx(poolBlocks));
  }
  std::string ct = e.rem(bx, colTiles), r1 = e.div(bx, colTiles);
  std::string rt = e.rem(r1, rowTiles), r2 = e.div(r1, rowTiles);
  std::string ob, r3 = r2;
  if (!tail) {
    ob = e.rem(r2, ocBlocks);
    r3 = e.div(r2, ocBlocks);
  }
  std::string g = e.rem(r3, groups), img = e.div(r3, groups);
  std::string oy0 = e.mulc(rt, TR), ox0 = e.mulc(ct, TC);
  std::string gOc = e.mulc(g, og), cbase = e.mulc(g, cg);
  std::string zeroVec;
  if (tail) {
    // Stage the tail weights and the bias; zero the T outputs; then every
    // block of OB channels in turn.
    std::string o = beginFor(e, 0, ocPad);
    std::string oValid = e.cmp("ult", o, e.idx(og));
    std::string oS = e.select(oValid, o, e.idx(0), "index");
    std::string b = biasArg.empty() ? e.f32(0) : e.load(biasArg, memrefType(op.getBias()), {oS});
    e.store(e.select(oValid, b, e.f32(0)), tB, tBT, {o});
    std::string t = beginFor(e, 0, T);
    std::string wv = e.load(tailWArg, memrefType(op.getTailWeight()), {t, oS, e.idx(0), e.idx(0)});
    e.store(e.select(oValid, wv, e.f32(0)), tW, tWT, {t, o});
    endFor(e);
    endFor(e);
    std::string t2 = beginFor(e, 0, T);
    std::string px = beginFor(e, 0, TR * TC);
    e.store(e.f32(0), tAcc, tAccT, {t2, px});
    endFor(e);
    endFor(e);
    zeroVec = e.fresh();
    e.line(zeroVec + " = arith.constant dense<0.0> : " + vec);
    ob = beginFor(e, 0, ocBlocks);
  }
  std::string ocg0 = e.mulc(ob, OB);

  // Zero the accumulators.
  {
    std::string zero = e.fresh();
    e.line(zero + " = arith.constant dense<0.0> : " + vec);
    if (rowTile) {
      std::string o = beginFor(e, 0, OB);
      std::string i = beginFor(e, 0, TR * TC, VW);
      vstore(e, zero, "%s0", accT, {o, i}, vec);
      endFor(e);
      endFor(e);
    } else {
      std::string i = beginFor(e, 0, TR * TC);
      for (int64_t v = 0; v < V; ++v)
        vstore(e, zero, "%s0", accT, {i, e.idx(v * VW)}, vec);
      endFor(e);
    }
  }
  std::string c0 = beginFor(e, 0, cg, CK);
  std::string ckEnd = e.bin("minui", e.idx(CK), e.bin("subi", e.idx(cg), c0));
  std::string wBlock = e.div(e.add(gOc, ocg0), OB);
  // Weights [cc][ky][kx][o], zero past the group's channels.
  if (!packed) {
    std::string o = beginFor(e, 0, OB);
    std::string ocg = e.add(ocg0, o);
    std::string oValid = e.cmp("ult", ocg, e.idx(og));
    std::string ocAbs = e.add(gOc, e.select(oValid, ocg, e.idx(0), "index"));
    std::string cc = beginFor(e, 0, CK);
    std::string ci = e.add(c0, cc);
    std::string valid = e.andi(oValid, e.cmp("ult", ci, e.idx(cg)));
    std::string ciS = e.select(valid, ci, e.idx(0), "index");
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        std::string v = e.load(weightArg, weightTy, {ocAbs, ciS, e.idx(y), e.idx(x)});
        e.store(e.select(valid, v, e.f32(0)), "%s1", wsT, {cc, e.idx(y), e.idx(x), o});
      }
    endFor(e);
    endFor(e);
  }
  // The input patch [cc][iy][ix]: the input holding the channel is chosen
  // once per channel, then its rows are copied (pooled) with zero padding.
  if (!direct) {
    std::string cc = beginFor(e, 0, CK);
    std::string cl = e.add(c0, cc);
    std::string c = e.add(cbase, cl);
    std::string chValid = e.cmp("ult", cl, e.idx(cg));
    auto copyRows = [&](int64_t in, const std::string &local) {
      int64_t p = op.getPool()[in];
      std::string iy = beginFor(e, 0, IH);
      std::string yIn = e.bin("subi", e.add(e.mulc(oy0, s), iy), e.idx(pad));
      std::string rowValid = e.andi(chValid, e.inRange(yIn, hin));
      if (p == 1) {
        // A row: zeros left of the image, the image's columns [a, b) copied
        // a vector at a time (then one by one), zeros right of it.
        auto zeros = [&](const std::string &from, const std::string &to) {
          std::string ix = beginFor(e, from, to);
          e.store(e.f32(0), "%s2", xsT, {cc, iy, ix});
          endFor(e);
        };
        e.line("scf.if " + rowValid + " {");
        std::string shift = e.bin("subi", e.mulc(ox0, s), e.idx(pad)); // xIn - ix
        auto clampIW = [&](const std::string &v) {
          return e.bin("minsi", e.bin("maxsi", v, e.idx(0)), e.idx(IW));
        };
        std::string a = clampIW(e.bin("subi", e.idx(0), shift));
        std::string b = clampIW(e.bin("subi", e.idx(win), shift));
        std::string vecEnd = e.add(a, e.mulc(e.div(e.bin("subi", b, a), VW), VW));
        zeros(e.idx(0), a);
        std::string ixv = beginFor(e, a, vecEnd, VW);
        vstore(e, vload(e, arg(in), k.argTypes[in], {img, local, yIn, e.add(ixv, shift)}, vec),
               "%s2", xsT, {cc, iy, ixv}, vec);
        endFor(e);
        std::string ixs = beginFor(e, vecEnd, b);
        e.store(e.load(arg(in), k.argTypes[in], {img, local, yIn, e.add(ixs, shift)}), "%s2",
                xsT, {cc, iy, ixs});
        endFor(e);
        zeros(b, e.idx(IW));
        e.line("} else {");
        zeros(e.idx(0), e.idx(IW));
        e.line("}");
        endFor(e);
        return;
      }
      std::string ix = beginFor(e, 0, IW);
      std::string xIn = e.bin("subi", e.add(e.mulc(ox0, s), ix), e.idx(pad));
      std::string valid = e.andi(rowValid, e.inRange(xIn, win));
      std::string v = ifValue(
          e, valid,
          [&] {
            if (p == 1)
              return e.load(arg(in), k.argTypes[in], {img, local, yIn, xIn});
            std::string m = e.f32(-std::numeric_limits<float>::infinity());
            for (int64_t dy = 0; dy < p; ++dy)
              for (int64_t dx = 0; dx < p; ++dx)
                m = e.bin("maximumf", m,
                          e.load(arg(in), k.argTypes[in],
                                 {img, local, e.addc(e.mulc(yIn, p), dy),
                                  e.addc(e.mulc(xIn, p), dx)}),
                          "f32");
            return m;
          },
          e.f32(0));
      e.store(v, "%s2", xsT, {cc, iy, ix});
      endFor(e);
      endFor(e);
    };
    // Nested scf.if on the channel ranges of the inputs (the Root's concat).
    std::function<void(int64_t, int64_t)> pick = [&](int64_t in, int64_t begin) {
      std::string cS = e.select(chValid, c, e.idx(begin), "index");
      std::string local = e.bin("subi", cS, e.idx(begin));
      if (in + 1 == numInputs) {
        copyRows(in, local);
        return;
      }
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      e.line("scf.if " + e.cmp("ult", cS, e.idx(begin + ci)) + " {");
      copyRows(in, local);
      e.line("} else {");
      pick(in + 1, begin + ci);
      e.line("}");
    };
    pick(0, 0);
    endFor(e);
  }
  // The register tiles of a direct 1x1 conv: pixels past the map's edge
  // read its last row/column (their results are not stored).
  if (direct) {
    std::string r = beginFor(e, 0, TR);
    std::string x0 = beginFor(e, 0, TC, P);
    std::vector<std::string> ix(P), rowOf = tileRows(r, x0), acc = loadTile(rowOf);
    std::string iy = e.mulc(e.bin("minui", e.add(oy0, r), e.idx(ho - 1)), s);
    for (int64_t p = 0; p < P; ++p)
      ix[p] = e.mulc(e.bin("minui", e.add(ox0, e.addc(x0, p)), e.idx(wo - 1)), s);
    int64_t begin = 0;
    for (int64_t in = 0; in < numInputs; ++in) {
      int64_t ci = llvm::cast<ShapedType>(op.getInputs()[in].getType()).getDimSize(1);
      int64_t pool = op.getPool()[in];
      Carry loop = beginCarry(e, e.idx(0), e.idx(ci), e.idx(1), acc, vec);
      std::vector<std::string> a = loop.inside;
      std::string c = e.addc(loop.iv, begin);
      std::vector<std::string> wv;
      for (int64_t v = 0; v < V; ++v)
        wv.push_back(packed ? vload(e, weightArg, weightTy,
                                    {wBlock, c, e.idx(0), e.idx(0), e.idx(v * VW)}, vec)
                            : vload(e, "%s1", wsT, {c, e.idx(0), e.idx(0), e.idx(v * VW)},
                                    vec));
      for (int64_t p = 0; p < P; ++p) {
        std::string xv;
        if (pool == 1) {
          xv = e.load(arg(in), k.argTypes[in], {img, loop.iv, iy, ix[p]});
        } else {
          for (int64_t dy = 0; dy < pool; ++dy)
            for (int64_t dx = 0; dx < pool; ++dx) {
              std::string t = e.load(arg(in), k.argTypes[in],
                                     {img, loop.iv, e.addc(e.mulc(iy, pool), dy),
                                      e.addc(e.mulc(ix[p], pool), dx)});
              xv = xv.empty() ? t : e.bin("maximumf", xv, t, "f32");
            }
        }
        std::string xb = broadcast(e, xv, vec);
        fmaRow(e, xb, wv, a, p * V, vec);
      }
      acc = endCarry(e, loop, a, vec);
      begin += ci;
    }
    storeTile(acc, rowOf);
    endFor(e);
    endFor(e);
  }
  // The row tiles: RR channels x VR vectors of one row's pixels.
  if (rowTile) {
    std::string r = beginFor(e, 0, TR);
    std::string orow = beginFor(e, 0, og, RR);
    std::vector<std::string> init, px(VR), oS(RR);
    for (int64_t j = 0; j < VR; ++j)
      px[j] = e.addc(e.mulc(r, TC), j * VW);
    for (int64_t rr = 0; rr < RR; ++rr) {
      oS[rr] = e.addc(orow, rr);
      for (int64_t j = 0; j < VR; ++j)
        init.push_back(vload(e, "%s0", accT, {oS[rr], px[j]}, vec));
    }
    Carry loop = beginCarry(e, e.idx(0), ckEnd, e.idx(1), init, vec);
    std::vector<std::string> acc = loop.inside;
    std::string ci = packed ? e.add(c0, loop.iv) : "";
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        std::string iy = e.addc(r, y * dil);
        std::vector<std::string> xv;
        for (int64_t j = 0; j < VR; ++j)
          xv.push_back(vload(e, "%s2", xsT, {loop.iv, iy, e.idx(j * VW + x * dil)}, vec));
        for (int64_t rr = 0; rr < RR; ++rr) {
          std::string w = packed ? e.load(weightArg, weightTy,
                                          {wBlock, ci, e.idx(y), e.idx(x), oS[rr]})
                                 : e.load("%s1", wsT, {loop.iv, e.idx(y), e.idx(x), oS[rr]});
          std::string wb = broadcast(e, w, vec);
          fmaRow(e, wb, xv, acc, rr * VR, vec);
        }
      }
    std::vector<std::string> res = endCarry(e, loop, acc, vec);
    for (int64_t rr = 0; rr < RR; ++rr)
      for (int64_t j = 0; j < VR; ++j)
        vstore(e, res[rr * VR + j], "%s0", accT, {oS[rr], px[j]}, vec);
    endFor(e);
    endFor(e);
  }
  // The register tiles.
  if (!direct && !rowTile) {
    std::string r = beginFor(e, 0, TR);
    std::string x0 = beginFor(e, 0, TC, P);
    std::vector<std::string> rowOf = tileRows(r, x0);
    Carry loop = beginCarry(e, e.idx(0), ckEnd, e.idx(1), loadTile(rowOf), vec);
    std::vector<std::string> acc = loop.inside;
    std::string ry = e.mulc(r, s), xs = e.mulc(x0, s);
    std::string ci = packed ? e.add(c0, loop.iv) : "";
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        std::vector<std::string> wv;
        for (int64_t v = 0; v < V; ++v)
          wv.push_back(packed ? vload(e, weightArg, weightTy,
                                      {wBlock, ci, e.idx(y), e.idx(x), e.idx(v * VW)}, vec)
                              : vload(e, "%s1", wsT,
                                      {loop.iv, e.idx(y), e.idx(x), e.idx(v * VW)}, vec));
        std::string iy = e.addc(ry, y * dil);
        for (int64_t p = 0; p < P; ++p) {
          std::string xv = e.load("%s2", xsT, {loop.iv, iy, e.addc(xs, p * s + x * dil)});
          std::string xb = broadcast(e, xv, vec);
          fmaRow(e, xb, wv, acc, p * V, vec);
        }
      }
    storeTile(endCarry(e, loop, acc, vec), rowOf);
    endFor(e);
    endFor(e);
  }
  endFor(e); // c0
  // The projected residual: per register tile, the residual's cr channels
  // read in place at the tile's pixels (from the pooled copy when pooled)
  // against the 1x1 weights. Pixels past the map's edge read its last
  // row/column (their results are not stored).
  if (project) {
    std::string resTy = memrefType(op.getResidual()), s3T = "$S3";
    std::string wBlock = e.div(ocg0, OB);
    if (!projPacked) {
      std::string o = beginFor(e, 0, OB);
      std::string ocg = e.add(ocg0, o);
      std::string oValid = e.cmp("ult", ocg, e.idx(og));
      std::string ocS = e.select(oValid, ocg, e.idx(0), "index");
      std::string c = beginFor(e, 0, cr);
      std::string v = e.load(projWArg, projWTy, {ocS, c, e.idx(0), e.idx(0)});
      e.store(e.select(oValid, v, e.f32(0)), "%s3", s3T, {c, o});
      endFor(e);
      endFor(e);
    }
    std::string r = beginFor(e, 0, TR);
    std::string x0 = beginFor(e, 0, TC, P);
    std::string oyC = e.bin("minui", e.add(oy0, r), e.idx(ho - 1));
    std::vector<std::string> rowOf = tileRows(r, x0), oxC(P), pix(P);
    for (int64_t p = 0; p < P; ++p) {
      oxC[p] = e.bin("minui", e.add(ox0, e.addc(x0, p)), e.idx(wo - 1));
      if (q > 1)
        pix[p] = e.add(e.mulc(oyC, wo), oxC[p]);
    }
    Carry loop = beginCarry(e, e.idx(0), e.idx(cr), e.idx(1), loadTile(rowOf), vec);
    std::vector<std::string> acc = loop.inside;
    std::vector<std::string> wv;
    for (int64_t v = 0; v < V; ++v)
      wv.push_back(projPacked ? vload(e, projWArg, projWTy,
                                      {wBlock, loop.iv, e.idx(0), e.idx(0), e.idx(v * VW)}, vec)
                              : vload(e, "%s3", s3T, {loop.iv, e.idx(v * VW)}, vec));
    for (int64_t p = 0; p < P; ++p) {
      std::string xv = q > 1 ? e.load(wsArg, wsTy, {img, loop.iv, pix[p]})
                             : e.load(residualArg, resTy, {img, loop.iv, oyC, oxC[p]});
      fmaRow(e, broadcast(e, xv, vec), wv, acc, p * V, vec);
    }
    storeTile(endCarry(e, loop, acc, vec), rowOf);
    endFor(e);
    endFor(e);
  }
  // Tail epilogue: per pixel, m = relu(acc + bias) over the OB channels,
  // dotted with each tail output's weights and added to its sum.
  if (tail) {
    std::string px = beginFor(e, 0, TR * TC);
    std::vector<std::string> part(T, zeroVec);
    for (int64_t v = 0; v < V; ++v) {
      std::string oc0v = e.addc(ocg0, v * VW);
      std::string m = e.bin("addf", vload(e, "%s0", accT, {px, e.idx(v * VW)}, vec),
                            vload(e, tB, tBT, {oc0v}, vec), vec);
      if (op.getRelu())
        m = e.bin("maximumf", m, zeroVec, vec);
      for (int64_t t = 0; t < T; ++t)
        part[t] = fma(e, m, vload(e, tW, tWT, {e.idx(t), oc0v}, vec), part[t], vec);
    }
    for (int64_t t = 0; t < T; ++t) {
      std::string sum = e.fresh();
      e.line(sum + " = vector.reduction <add>, " + part[t] + " : " + vec + " into f32");
      e.store(e.bin("addf", e.load(tAcc, tAccT, {e.idx(t), px}), sum, "f32"), tAcc, tAccT,
              {e.idx(t), px});
    }
    endFor(e);
    endFor(e); // ob
    // The T outputs with the tail's bias; rows are written contiguously.
    std::string rEnd = e.bin("minui", e.idx(TR), e.bin("subi", e.idx(ho), oy0));
    std::string xEnd = e.bin("minui", e.idx(TC), e.bin("subi", e.idx(wo), ox0));
    std::string t = beginFor(e, 0, T);
    std::string tb = e.load(tailBArg, memrefType(op.getTailBias()), {t});
    std::string r = beginFor(e, e.idx(0), rEnd);
    std::string x = beginFor(e, e.idx(0), xEnd);
    std::string v = e.bin("addf", e.load(tAcc, tAccT, {t, e.add(e.mulc(r, TC), x)}), tb, "f32");
    e.store(v, outArg, outTy, {img, t, e.add(oy0, r), e.add(ox0, x)});
    endFor(e);
    endFor(e);
    endFor(e);
  }
  // Epilogue: bias, residual, ReLU; output rows are written contiguously.
  if (!tail) {
    std::string o = beginFor(e, 0, OB);
    std::string ocg = e.add(ocg0, o);
    e.line("scf.if " + e.cmp("ult", ocg, e.idx(og)) + " {");
    std::string ocAbs = e.add(gOc, ocg);
    std::string bias = biasArg.empty() ? "" : e.load(biasArg, memrefType(op.getBias()), {ocAbs});
    if (project) {
      std::string pb = e.load(projBArg, memrefType(op.getResidualBias()), {ocAbs});
      bias = bias.empty() ? pb : e.bin("addf", bias, pb, "f32");
    }
    std::string rEnd = e.bin("minui", e.idx(TR), e.bin("subi", e.idx(ho), oy0));
    std::string xEnd = e.bin("minui", e.idx(TC), e.bin("subi", e.idx(wo), ox0));
    std::string r = beginFor(e, e.idx(0), rEnd);
    std::string oy = e.add(oy0, r);
    std::string x = beginFor(e, e.idx(0), xEnd);
    std::string ox = e.add(ox0, x);
    std::string v = rowTile ? e.load("%s0", accT, {o, e.add(e.mulc(r, TC), x)})
                            : e.load("%s0", accT, {e.add(e.mulc(r, TC), x), o});
    if (!bias.empty())
      v = e.bin("addf", v, bias, "f32");
    if (!residualArg.empty() && !project)
      v = e.bin("addf", v,
                e.load(residualArg, memrefType(op.getResidual()), {img, ocAbs, oy, ox}),
                "f32");
    if (op.getRelu())
      v = e.bin("maximumf", v, e.f32(0), "f32");
    e.store(v, outArg, outTy, {img, ocAbs, oy, ox});
    endFor(e);
    endFor(e);
    e.line("}");
    endFor(e);
  }
  if (poolBlocks)
    e.line("}");
  k.body = e.text;
  return true;
}

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
bool genHostFusedDeformConv(FusedDeformConvOp op, const HostTarget &target,
                            const HostPacking &packing, KernelIR &k, std::string &error) {
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], h = out[2], w = out[3];
  int64_t c = op.getWeight().getType().getDimSize(1);
  Tile tile = chooseTile(target, oc, w);
  int64_t VW = tile.vw, V = tile.v, P = tile.p, OB = V * VW;
  int64_t CP = roundUp(c, VW), OMV = ceilDiv(32, VW), OM = OMV * VW;
  int64_t OCP = roundUp(oc, OB);
  bool packed = packing.packed.lookup(op.getWeight()) == kPackDeform;
  int64_t accumulators = target.registers >= 32 ? 16 : 8;
  int64_t POM = 1;
  for (int64_t d = 1; d <= P; ++d)
    if (P % d == 0 && d * OMV <= accumulators)
      POM = d;
  int64_t XWP = roundUp(w, P), XW = XWP + 2, XH = h + 2;
  // Wave 1: rows of x; wave 2: TR output rows, at least ~64 pixels a block
  // (each block repacks the offset weights).
  int64_t xRows = ceilDiv(XH, 8), xBlocks = ceilDiv(XH, xRows);
  int64_t TR = std::clamp<int64_t>(std::max(ceilDiv(h, 8), ceilDiv(64, w)), 1, 16);
  TR = std::min(TR, h);
  // Small maps: at least 4 blocks, so that more than one thread works.
  while (TR > 1 && n * ceilDiv(h, TR) < 4)
    TR = ceilDiv(TR, 2);
  int64_t rowTiles = ceilDiv(h, TR);
  int64_t wave1 = n * xBlocks, wave2 = n * rowTiles;
  k.grid = {wave1 + wave2, 1, 1};
  k.threads = 1;
  k.hostWaves = {wave1, wave2};
  for (Value v : op->getOperands())
    k.argTypes.push_back(memrefType(v));
  k.argTypes.push_back(memrefType(op.getResult()));
  auto arg = [](int64_t i) { return "%a" + std::to_string(i); };
  int64_t base = op.getAddends().size() + op.getUpWeights().size();
  if (packed)
    k.argTypes[base + 2] = scratchType({9, c, oc});
  std::string womArg = arg(base), bomArg = arg(base + 1), wArg = arg(base + 2),
              bArg = arg(base + 3), outArg = arg(base + 4), xArg = arg(base + 5);
  std::string womTy = k.argTypes[base], bomTy = k.argTypes[base + 1],
              wTy = k.argTypes[base + 2], bTy = k.argTypes[base + 3],
              outTy = k.argTypes.back();
  std::string xTy = scratchType({n, XH, XW, CP});
  k.argTypes.push_back(xTy);
  k.hostWorkspaceBytes = 4 * n * XH * XW * CP;
  k.scratchTypes = {scratchType({9, CP, packed ? 1 : OCP}), scratchType({9, CP, OM}),
                    scratchType({P, OM}), scratchType({P, 9, CP}), scratchType({P, OB})};
  k.scratchBytes =
      4 * (9 * CP * (packed ? 1 : OCP) + 9 * CP * OM + P * OM + P * 9 * CP + P * OB);
  std::string wdT = "$S0", womT = "$S1", omT = "$S2", colT = "$S3", epT = "$S4";
  std::string vec = "vector<" + std::to_string(VW) + "xf32>";
  auto toF32 = [&](Emitter &e, const std::string &i) {
    std::string i64 = e.fresh(), f = e.fresh();
    e.line(i64 + " = arith.index_cast " + i + " : index to i64");
    e.line(f + " = arith.sitofp " + i64 + " : i64 to f32");
    return f;
  };

  Emitter e;
  e.line("scf.if " + e.cmp("ult", "%bx", e.idx(wave1)) + " {");
  // Wave 1: rows [rb * xRows, ...) of x (row -1 and row h are the border).
  {
    std::string img = e.div("%bx", xBlocks), rb = e.rem("%bx", xBlocks);
    std::string y0 = e.mulc(rb, xRows);
    std::string yEnd = e.bin("minui", e.idx(XH), e.addc(y0, xRows));
    std::string yy = beginFor(e, y0, yEnd);
    std::string y = e.bin("subi", yy, e.idx(1));
    std::string rowIn = e.inRange(y, h);
    std::string cc = beginFor(e, 0, CP);
    std::string chIn = e.andi(rowIn, e.cmp("ult", cc, e.idx(c)));
    std::string xx = beginFor(e, 0, XW);
    std::string x = e.bin("subi", xx, e.idx(1));
    std::string valid = e.andi(chIn, e.inRange(x, w));
    std::string v = ifValue(
        e, valid, [&] { return readDeformInput(e, op, k.argTypes, img, cc, y, x); },
        e.f32(0));
    e.store(v, xArg, xTy, {img, yy, xx, cc});
    endFor(e);
    endFor(e);
    endFor(e);
  }
  e.line("} else {");
  std::string b2 = e.bin("subi", "%bx", e.idx(wave1));
  std::string img = e.div(b2, rowTiles), rt = e.rem(b2, rowTiles);
  std::string r0 = e.mulc(rt, TR);
  // Weights [k][channel][out] of a [out][channel][3][3] weight, zero past
  // `valid` outputs and the channels.
  auto repack = [&](int64_t outs, int64_t valid, const std::string &src,
                    const std::string &srcTy, const std::string &dst,
                    const std::string &dstTy) {
    std::string o = beginFor(e, 0, outs);
    std::string oValid = e.cmp("ult", o, e.idx(valid));
    std::string cc = beginFor(e, 0, CP);
    std::string ok = e.andi(oValid, e.cmp("ult", cc, e.idx(c)));
    std::string oS = e.select(ok, o, e.idx(0), "index");
    std::string cS = e.select(ok, cc, e.idx(0), "index");
    for (int64_t kk = 0; kk < 9; ++kk) {
      std::string v = e.load(src, srcTy, {oS, cS, e.idx(kk / 3), e.idx(kk % 3)});
      e.store(e.select(ok, v, e.f32(0)), dst, dstTy, {e.idx(kk), cc, o});
    }
    endFor(e);
    endFor(e);
  };
  if (!packed)
    repack(OCP, oc, wArg, wTy, "%s0", wdT);
  repack(OM, 27, womArg, womTy, "%s1", womT);
  std::string rEnd = e.bin("minui", e.idx(TR), e.bin("subi", e.idx(h), r0));
  std::string r = beginFor(e, e.idx(0), rEnd);
  std::string y = e.add(r0, r);
  std::string yF = toF32(e, y);
  std::string x0 = beginFor(e, 0, XWP, P);
  // The offset/mask conv of the P pixels: x row y - 1 + ky is row y + ky of
  // the workspace, column x - 1 + kx is column x + kx.
  {
    std::string q = beginFor(e, 0, P, POM);
    std::string zero = e.fresh();
    e.line(zero + " = arith.constant dense<0.0> : " + vec);
    std::vector<std::string> init(POM * OMV, zero);
    Carry loop = beginCarry(e, e.idx(0), e.idx(CP), e.idx(1), init, vec);
    std::vector<std::string> acc = loop.inside;
    std::string xq = e.add(x0, q);
    for (int64_t ky = 0; ky < 3; ++ky)
      for (int64_t kx = 0; kx < 3; ++kx) {
        std::vector<std::string> wv;
        for (int64_t j = 0; j < OMV; ++j)
          wv.push_back(
              vload(e, "%s1", womT, {e.idx(ky * 3 + kx), loop.iv, e.idx(j * VW)}, vec));
        std::string row = e.addc(y, ky);
        for (int64_t p = 0; p < POM; ++p) {
          std::string xb =
              broadcast(e, e.load(xArg, xTy, {img, row, e.addc(xq, p + kx), loop.iv}), vec);
          fmaRow(e, xb, wv, acc, p * OMV, vec);
        }
      }
    std::vector<std::string> res = endCarry(e, loop, acc, vec);
    for (int64_t p = 0; p < POM; ++p)
      for (int64_t j = 0; j < OMV; ++j)
        vstore(e, res[p * OMV + j], "%s2", omT, {e.addc(q, p), e.idx(j * VW)}, vec);
    endFor(e);
  }
  // The samples: col[p][k][channel] = mask * bilinear(x, point).
  {
    std::string p = beginFor(e, 0, P);
    std::string pxF = toF32(e, e.add(x0, p));
    std::string kk = beginFor(e, 0, 9);
    std::string ki = e.div(kk, 3), kj = e.rem(kk, 3);
    auto om = [&](const std::string &ch) {
      return e.bin("addf", e.load("%s2", omT, {p, ch}), e.load(bomArg, bomTy, {ch}), "f32");
    };
    std::string dy = om(e.mulc(kk, 2)), dx = om(e.addc(e.mulc(kk, 2), 1));
    std::string ml = om(e.addc(kk, 18));
    // 1 / (1 + exp(-v)) without overflow: exp of a non-positive number.
    std::string neg = e.bin("subf", e.f32(0),
                            e.bin("maximumf", ml, e.bin("subf", e.f32(0), ml, "f32"), "f32"),
                            "f32");
    std::string ex = e.fresh();
    e.line(ex + " = math.exp " + neg + " : f32");
    std::string one = e.f32(1);
    std::string denom = e.bin("addf", one, ex, "f32");
    std::string m = e.select(e.cmp("oge", ml, e.f32(0), "f32"),
                             e.bin("divf", one, denom, "f32"), e.bin("divf", ex, denom, "f32"));
    std::string ys = e.bin("addf", e.bin("addf", yF, toF32(e, ki), "f32"), dy, "f32");
    ys = e.bin("subf", ys, one, "f32");
    std::string xs = e.bin("addf", e.bin("addf", pxF, toF32(e, kj), "f32"), dx, "f32");
    xs = e.bin("subf", xs, one, "f32");
    // torchvision's bilinear_interpolate: 0 outside (-1, h) x (-1, w);
    // corners outside the image read the zero border.
    std::string inImage =
        e.andi(e.andi(e.cmp("ogt", ys, e.f32(-1), "f32"), e.cmp("olt", ys, e.f32(h), "f32")),
               e.andi(e.cmp("ogt", xs, e.f32(-1), "f32"), e.cmp("olt", xs, e.f32(w), "f32")));
    e.line("scf.if " + inImage + " {");
    {
      std::string yf = e.fresh(), xf = e.fresh();
      e.line(yf + " = math.floor " + ys + " : f32");
      e.line(xf + " = math.floor " + xs + " : f32");
      std::string ly = e.bin("subf", ys, yf, "f32"), lx = e.bin("subf", xs, xf, "f32");
      std::string hy = e.bin("subf", one, ly, "f32"), hx = e.bin("subf", one, lx, "f32");
      // floor in [-1, size - 1]: border row/column index floor + 1.
      auto toIndex = [&](const std::string &v) {
        std::string plus = e.bin("addf", v, one, "f32");
        std::string i = e.fresh(), ix = e.fresh();
        e.line(i + " = arith.fptosi " + plus + " : f32 to i64");
        e.line(ix + " = arith.index_cast " + i + " : i64 to index");
        return ix;
      };
      std::string rl = toIndex(yf), cl = toIndex(xf);
      std::string rh = e.addc(rl, 1), ch = e.addc(cl, 1);
      std::string w1 = e.bin("mulf", e.bin("mulf", hy, hx, "f32"), m, "f32");
      std::string w2 = e.bin("mulf", e.bin("mulf", hy, lx, "f32"), m, "f32");
      std::string w3 = e.bin("mulf", e.bin("mulf", ly, hx, "f32"), m, "f32");
      std::string w4 = e.bin("mulf", e.bin("mulf", ly, lx, "f32"), m, "f32");
      std::string b1 = broadcast(e, w1, vec), bw2 = broadcast(e, w2, vec),
                  b3 = broadcast(e, w3, vec), b4 = broadcast(e, w4, vec);
      std::string cv = beginFor(e, 0, CP, VW);
      std::string v = e.fresh();
      e.line(v + " = arith.mulf " + b1 + ", " + vload(e, xArg, xTy, {img, rl, cl, cv}, vec) +
             " : " + vec);
      v = fma(e, bw2, vload(e, xArg, xTy, {img, rl, ch, cv}, vec), v, vec);
      v = fma(e, b3, vload(e, xArg, xTy, {img, rh, cl, cv}, vec), v, vec);
      v = fma(e, b4, vload(e, xArg, xTy, {img, rh, ch, cv}, vec), v, vec);
      vstore(e, v, "%s3", colT, {p, kk, cv}, vec);
      endFor(e);
    }
    e.line("} else {");
    {
      // 0 * mask outside the image, NaN at a NaN position: a NaN never
      // becomes a plausible 0 (reference/Kernels.cpp).
      std::string fill = e.bin(
          "mulf", e.select(e.cmp("uno", ys, xs, "f32"), e.f32(NAN), e.f32(0)), m, "f32");
      std::string vfill = broadcast(e, fill, vec);
      std::string cv = beginFor(e, 0, CP, VW);
      vstore(e, vfill, "%s3", colT, {p, kk, cv}, vec);
      endFor(e);
    }
    e.line("}");
    endFor(e);
    endFor(e);
  }
  // Samples x weights, OB output channels at a time.
  {
    std::string ob = beginFor(e, 0, OCP, OB);
    std::string zero = e.fresh();
    e.line(zero + " = arith.constant dense<0.0> : " + vec);
    std::vector<std::string> init(P * V, zero);
    Carry loop = beginCarry(e, e.idx(0), e.idx(CP), e.idx(1), init, vec);
    std::vector<std::string> acc = loop.inside;
    for (int64_t kk = 0; kk < 9; ++kk) {
      std::vector<std::string> wv;
      for (int64_t v = 0; v < V; ++v)
        wv.push_back(packed ? vload(e, wArg, wTy, {e.idx(kk), loop.iv, e.addc(ob, v * VW)},
                                    vec)
                            : vload(e, "%s0", wdT, {e.idx(kk), loop.iv, e.addc(ob, v * VW)},
                                    vec));
      for (int64_t p = 0; p < P; ++p) {
        std::string xb =
            broadcast(e, e.load("%s3", colT, {e.idx(p), e.idx(kk), loop.iv}), vec);
        fmaRow(e, xb, wv, acc, p * V, vec);
      }
    }
    std::vector<std::string> res = endCarry(e, loop, acc, vec);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t v = 0; v < V; ++v)
        vstore(e, res[p * V + v], "%s4", epT, {e.idx(p), e.idx(v * VW)}, vec);
    std::string oEnd = e.bin("minui", e.idx(OB), e.bin("subi", e.idx(oc), ob));
    std::string o = beginFor(e, e.idx(0), oEnd);
    std::string oAbs = e.add(ob, o);
    std::string bias = e.load(bArg, bTy, {oAbs});
    std::string pEnd = e.bin("minui", e.idx(P), e.bin("subi", e.idx(w), x0));
    std::string p = beginFor(e, e.idx(0), pEnd);
    std::string v = e.bin("addf", e.load("%s4", epT, {p, o}), bias, "f32");
    if (op.getRelu())
      v = e.bin("maximumf", v, e.f32(0), "f32");
    e.store(v, outArg, outTy, {img, oAbs, y, e.add(x0, p)});
    endFor(e);
    endFor(e);
    endFor(e);
  }
  endFor(e); // x0
  endFor(e); // r
  e.line("}");
  k.body = e.text;
  (void)error;
  return true;
}

//===----------------------------------------------------------------------===//
// fold_batch_norm (@init), packing the weight for the CPU conv
//===----------------------------------------------------------------------===//

/// `ob` > 0: the conv layout [out / ob][cin * kh * kw][ob]; kPackDeform: the
/// DCN layout [kh * kw][cin][out].
bool genHostFoldBatchNorm(FoldBatchNormOp op, int64_t ob, KernelIR &k) {
  auto w = op.getWeight().getType().getShape();
  int64_t out = w[0], per = w[1] * w[2] * w[3], perBlock = 16;
  k.grid = {ceilDiv(out, perBlock), 1, 1};
  k.threads = 1;
  FoldBatchNormArgs args(op, k.argTypes);
  // Both weights flat: [out][per] in, packed out.
  int64_t taps = w[2] * w[3];
  k.argTypes[0] = scratchType({out, per});
  k.argTypes[args.newWeightIndex] = ob == kPackDeform ? scratchType({taps, w[1], out})
                                                      : scratchType({out / ob, per, ob});

  Emitter e;
  std::string o0 = e.mulc("%bx", perBlock);
  std::string oEnd = e.bin("minui", e.idx(perBlock), e.bin("subi", e.idx(out), o0));
  std::string oo = beginFor(e, e.idx(0), oEnd);
  std::string o = e.add(o0, oo);
  std::string scale = args.foldChannel(e, o);
  std::string j = beginFor(e, 0, per);
  std::string nw = e.bin("mulf", e.load(args.weight, k.argTypes[0], {o, j}), scale, "f32");
  const std::string &packedTy = k.argTypes[args.newWeightIndex];
  if (ob == kPackDeform)
    e.store(nw, args.newWeight, packedTy, {e.rem(j, taps), e.div(j, taps), o});
  else
    e.store(nw, args.newWeight, packedTy, {e.div(o, ob), j, e.rem(o, ob)});
  endFor(e);
  endFor(e);
  k.body = e.text;
  return true;
}

} // namespace

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
                                   KernelIR &kernel, std::string &error) {
  kernel = KernelIR();
  kernel.name = name;
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return genHostFusedConv(conv, target, packing, kernel, error);
  if (auto fold = dyn_cast<FoldBatchNormOp>(op))
    if (int64_t ob = packing.packed.lookup(fold->getResult(0)))
      return genHostFoldBatchNorm(fold, ob, kernel);
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op))
    return genHostFusedDeformConv(dcn, target, packing, kernel, error);
  return false;
}
