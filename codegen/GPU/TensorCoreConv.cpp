//===- TensorCoreConv.cpp - fused_conv as an implicit GEMM on tensor cores ===//
//
// The CUDA kernel of a fused_conv stored in f16, bf16 or tf32: an implicit
// GEMM (M = output pixels, N = output channels, K = taps x input channels)
// on mma.sync, its accumulators in registers across the whole K loop.
//
// A block is 4 warps and an 8 x 8 tile of output pixels (M = 64; warp w owns
// pixels 16 w ... 16 w + 15, rows 2 w and 2 w + 1) by NT output channels
// (16, 32 or 64: chooseTile's heuristic).
// Per chunk of CT = 16 input channels the block stages, in the storage type:
//   patch[py][px][c]     the input window of the tile, channels innermost
//                        (read from the NCHW activations, pooled and picked
//                        among the Root's inputs while staging; zero outside
//                        the image and past the channels);
//   wts[tap][n][c]       the weights of the NT channels, K innermost.
// Then, per tap (ky, kx) and per 16 (f16/bf16) or 8 (tf32) channels, each
// warp loads its A fragment with one ldmatrix.x4 (lane l gives the 16-byte
// row of pixel l % 16 at channel 8 (l / 16), or 4 (l / 16) for tf32: a
// pixel's channels are a row, so the im2col matrix is never formed) and the
// B fragments of two n8 tiles per ldmatrix.x4, and issues NT / 8 mma.sync
// (m16n8k16 f16/bf16, m16n8k8 tf32). The epilogue (bias, residual, ReLU) runs
// on the accumulator registers and stores each value once, rounded to the
// storage type. Rows are 32 or 64 bytes apart: no swizzle yet, so ldmatrix
// has 2- to 4-way bank conflicts.
//
// It applies to ops whose inputs and weights are all in the storage type
// (not the model's f32 input, which the SIMT kernel reads exactly;
// docs/precision.md keeps the input unrounded), whose result is in it or in
// f32 (a model output), and to groups = 1; the others keep the SIMT kernel
// (FusedConv.cpp). The fragment layouts are the PTX ISA's
// (runtime/lib/EmuWarp.h has them as functions; cuda-emu runs this kernel
// against them).
//
//===----------------------------------------------------------------------===//

#include "codegen/GPU/Common.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

namespace {

constexpr int64_t kTileH = 8, kTileW = 8, kChunk = 16, kWarps = 4, kWarp = 32;
/// Static shared memory a block may declare without an opt-in.
constexpr int64_t kSharedBudget = 48 * 1024;

bool isTF32(Type t) { return llvm::isa<FloatTF32Type>(t); }

/// The tile's shape, or 0 channels when it does not fit.
struct TcTile {
  int64_t nt = 0, ph = 0, pw = 0, bytes = 0;
};

/// NT: the smallest power of two from 16 that covers the output channels,
/// at most 64; halved while the launch has fewer than `minBlocks` blocks
/// (KernelPlace::minBlocks, the GPU's SMs: the deep levels, 512 channels on
/// a 16x16 map, are 4 pixel tiles) or the window and the weights do not fit
/// in kSharedBudget. A heuristic from the layer's shape, not yet tuned on a
/// GPU.
TcTile chooseTile(FusedConvOp op, int64_t minBlocks) {
  auto w = op.getWeight().getType().getShape();
  auto out = op.getType().getShape();
  int64_t oc = w[0], kh = w[2], kw = w[3];
  int64_t pixelTiles = out[0] * ceilDiv(out[2], kTileH) * ceilDiv(out[3], kTileW);
  int64_t s = op.getStride()[0], dil = op.getDilation()[0];
  TcTile t;
  t.bytes = isTF32(op.getWeight().getType().getElementType()) ? 4 : 2;
  t.ph = (kTileH - 1) * s + (kh - 1) * dil + 1;
  t.pw = (kTileW - 1) * s + (kw - 1) * dil + 1;
  int64_t patch = t.ph * t.pw * kChunk * t.bytes;
  for (int64_t nt = std::min<int64_t>(64, int64_t(llvm::PowerOf2Ceil(roundUp(oc, 16))));
       nt >= 16; nt /= 2) {
    bool fits = patch + kh * kw * nt * kChunk * t.bytes <= kSharedBudget;
    bool fills = pixelTiles * ceilDiv(oc, nt) >= minBlocks;
    if (fits && (fills || nt == 16)) {
      t.nt = nt;
      break;
    }
  }
  return t;
}

} // namespace

bool mlir::dla::kernelgen::tensorCoreConvApplies(FusedConvOp op, const KernelPlace &place,
                                                 std::string &why) {
  // The operands' type: the weights' (the storage type); the result is in
  // it too, or in f32 (a model output).
  Type element = op.getWeight().getType().getElementType();
  Type result = op.getType().getElementType();
  if (place.wrapper != KernelWrapper::Gpu)
    why = "the host runs the SIMT kernels' phases";
  else if (!place.tensorCores)
    why = "--cuda-convs=simt";
  else if (!element.isF16() && !element.isBF16() && !isTF32(element))
    why = "stored in " + std::string(element.isF32() ? "f32" : "another type") +
          " (tensor cores take f16, bf16 and tf32)";
  else if (op.getGroups() != 1)
    why = "a grouped conv";
  else if (op.getStride()[1] != op.getStride()[0] || op.getPadding()[1] != op.getPadding()[0] ||
           op.getDilation()[1] != op.getDilation()[0])
    why = "non-square stride/padding/dilation";
  else if (op.getResidualWeight() || op.getTailWeight())
    why = "a projected residual or a tail conv (host-only forms)";
  else if (llvm::any_of(op.getInputs(), [&](Value v) {
             return llvm::cast<ShapedType>(v.getType()).getElementType() != element;
           }))
    why = "an input not in the storage type (the model's f32 input)";
  else if (result != element && !result.isF32())
    why = "a result in another type than its operands";
  else if (chooseTile(op, place.minBlocks).nt == 0)
    why = "its input window and weights do not fit in 48 KB of shared memory";
  else
    return true;
  return false;
}

bool mlir::dla::kernelgen::genTensorCoreConv(FusedConvOp op, const KernelPlace &place,
                                             KernelIR &k, std::string &error) {
  std::string why;
  if (!tensorCoreConvApplies(op, place, why)) {
    error = "no tensor-core kernel: " + why;
    return false;
  }
  MLIRContext *ctx = op->getContext();
  auto out = op.getType().getShape();
  auto w = op.getWeight().getType().getShape();
  int64_t n = out[0], oc = out[1], ho = out[2], wo = out[3];
  int64_t kh = w[2], kw = w[3], cg = w[1], taps = kh * kw;
  int64_t s = op.getStride()[0], pad = op.getPadding()[0], dil = op.getDilation()[0];
  Type element = op.getWeight().getType().getElementType();
  bool tf32 = isTF32(element);
  // tf32 values live in f32 words: the scratch is f32, and the values staged
  // are tf32 already (the tensors and parameters were rounded when stored).
  Type shared = tf32 ? Float32Type::get(ctx) : element;
  TcTile tile = chooseTile(op, place.minBlocks);
  int64_t nt = tile.nt, ph = tile.ph, pw = tile.pw;
  int64_t tilesW = ceilDiv(wo, kTileW), tilesH = ceilDiv(ho, kTileH);
  int64_t threads = kWarps * kWarp;
  k.grid = {tilesW * tilesH, ceilDiv(oc, nt), n};
  k.threads = threads;

  ConvBuffers buffers(op, k);
  int64_t numInputs = buffers.numInputs;
  k.scratchTypes = {MemRefType::get({ph, pw, kChunk}, shared),
                    MemRefType::get({taps, nt, kChunk}, shared)};
  k.scratchBytes = (ph * pw + taps * nt) * kChunk * tile.bytes;

  KernelBuilder e(place, k);
  Value patch = e.scratch(0), wts = e.scratch(1);
  Value tileY = e.div(e.bx(), tilesW), tileX = e.rem(e.bx(), tilesW);
  Value oy0 = e.mulc(tileY, kTileH), ox0 = e.mulc(tileX, kTileW);
  Value oc0 = e.mulc(e.by(), nt);

  // The whole block is one phase: the accumulators stay in registers across
  // the barriers of the K loop.
  Value t = e.beginPhase(threads);
  Value warp = e.div(t, kWarp), lane = e.rem(t, kWarp);
  Value half = e.div(lane, 16);        // which 16-byte column of a row
  Value row16 = e.rem(lane, 16);       // A: the pixel of the warp's 16
  Value b8 = e.rem(lane, 8);           // B: the channel in the n8 tile
  Value bHalf = e.rem(e.div(lane, 8), 2);
  Value m = e.add(e.mulc(warp, 16), row16);
  Value my = e.div(m, kTileW), mx = e.rem(m, kTileW);

  auto accType = VectorType::get({2, 2}, e.b.getF32Type());
  Value zero = arith::ConstantOp::create(e.b, e.loc, DenseElementsAttr::get(accType, 0.0f));
  SmallVector<Value> init(nt / 8, zero);
  auto chunks = e.beginCarry(e.idx(0), e.idx(cg), e.idx(kChunk), init);
  Value c0 = chunks.iv;
  // Stage the input window, x fastest (the NCHW rows are read in order).
  {
    Value i = e.beginStrided(t, ph * pw * kChunk, threads);
    Value px = e.rem(i, pw), rest = e.div(i, pw);
    Value py = e.rem(rest, ph), cc = e.div(rest, ph);
    Value ci = e.add(c0, cc);
    Value iy = e.sub(e.add(e.mulc(oy0, s), py), e.idx(pad));
    Value ix = e.sub(e.add(e.mulc(ox0, s), px), e.idx(pad));
    auto inShape = llvm::cast<ShapedType>(op.getInputs().front().getType());
    int64_t hin = inShape.getDimSize(2) / op.getPool()[0];
    int64_t win = inShape.getDimSize(3) / op.getPool()[0];
    Value valid = e.andi(e.andi(e.inRange(iy, hin), e.inRange(ix, win)), e.ult(ci, cg));
    Value v = e.ifValue(
        valid, [&] { return readConvInput(e, op, e.bz(), ci, iy, ix); },
        [&] { return e.f32(0); });
    e.store(v, patch, {py, px, cc});
    e.endFor();
  }
  // Stage the weights of the NT channels, kx fastest.
  {
    Value i = e.beginStrided(t, taps * nt * kChunk, threads);
    Value x = e.rem(i, kw), rest = e.div(i, kw);
    Value y = e.rem(rest, kh);
    rest = e.div(rest, kh);
    Value cc = e.rem(rest, kChunk), nn = e.div(rest, kChunk);
    Value o = e.add(oc0, nn), ci = e.add(c0, cc);
    Value valid = e.andi(e.ult(o, oc), e.ult(ci, cg));
    Value wv = e.load(e.arg(numInputs), {e.select(valid, o, e.idx(0)),
                                         e.select(valid, ci, e.idx(0)), y, x});
    e.store(e.select(valid, wv, e.f32(0)), wts, {e.add(e.mulc(y, kw), x), nn, cc});
    e.endFor();
  }
  e.barrier();
  SmallVector<Value> acc(chunks.inside.begin(), chunks.inside.end());
  int64_t kStep = tf32 ? 8 : 16;
  for (int64_t ky = 0; ky < kh; ++ky)
    for (int64_t kx = 0; kx < kw; ++kx) {
      Value py = e.addc(e.mulc(my, s), ky * dil), px = e.addc(e.mulc(mx, s), kx * dil);
      Value tap = e.idx(ky * kw + kx);
      for (int64_t k0 = 0; k0 < kChunk; k0 += kStep) {
        // A: 16 pixels x kStep channels; f16 rows hold 8 channels, f32 rows 4.
        Value aCol = e.addc(e.mulc(half, tf32 ? 4 : 8), k0);
        Value a = e.ldmatrix(patch, {py, px, aCol}, 4, /*trans=*/false);
        for (int64_t jj = 0; jj < nt / 16; ++jj) {
          // B of n8 tiles 2 jj (matrices 0, 1) and 2 jj + 1 (2, 3).
          Value bRow = e.add(e.addc(e.mulc(half, 8), 16 * jj), b8);
          Value bCol = e.addc(e.mulc(bHalf, tf32 ? 4 : 8), k0);
          Value b4 = e.ldmatrix(wts, {tap, bRow, bCol}, 4, /*trans=*/false);
          for (int64_t h = 0; h < 2; ++h) {
            Value bj = vector::ExtractStridedSliceOp::create(
                e.b, e.loc, b4, ArrayRef<int64_t>{2 * h, 0},
                ArrayRef<int64_t>{2, tf32 ? 1 : 2}, ArrayRef<int64_t>{1, 1});
            Value &c = acc[2 * jj + h];
            c = e.mma(a, bj, c, {16, 8, kStep}, tf32);
          }
        }
      }
    }
  e.barrier(); // the next chunk overwrites the staged tiles
  SmallVector<Value> sums = e.endCarry(chunks, acc);

  // Epilogue: c_i of n8 tile j is pixel 16 w + g (+ 8 for i >= 2), channel
  // 8 j + 2 tig + (i & 1).
  Value g = e.div(lane, 4), tig = e.rem(lane, 4);
  for (int64_t j = 0; j < nt / 8; ++j)
    for (int64_t i = 0; i < 4; ++i) {
      Value v = vector::ExtractOp::create(e.b, e.loc, sums[j], ArrayRef<int64_t>{i / 2, i % 2});
      Value pm = e.add(e.mulc(warp, 16), e.addc(g, 8 * (i / 2)));
      Value o = e.add(oc0, e.addc(e.mulc(tig, 2), 8 * j + i % 2));
      Value oy = e.add(oy0, e.div(pm, kTileW)), ox = e.add(ox0, e.rem(pm, kTileW));
      e.beginIf(e.andi(e.andi(e.ult(o, oc), e.ult(oy, ho)), e.ult(ox, wo)));
      buffers.store(e, op, v, o, oy, ox);
      e.endIf();
    }
  e.endPhase();
  e.finish();
  return true;
}
