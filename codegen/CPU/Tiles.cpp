//===- Tiles.cpp - The tiles of the CPU kernels, and their weight layouts -===//
//
// Every choice a CPU kernel makes about its shape is here, in one place:
// chooseCpuTile picks the tile of an op (dla-choose-cpu-tiles records it as
// `dla.tile`), checkCpuTile says whether a tile (chosen here or written by
// hand into fused IR) can be built, and hostLayoutFor which packed layout of
// a weight the tiled kernel reads (dla-pack-weights). The kernels
// (FusedConv.cpp, PointwiseConv.cpp, FusedDeformConv.cpp) build what the
// tile says.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Common.h"

#include "dialects/DLA/IR/DLAOps.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::dla;
using namespace mlir::dla::kernelgen;

int64_t mlir::dla::kernelgen::channelVectors(int64_t channels, int64_t lanes) {
  // Two vectors of channels when that pads no more than one would.
  return channels > lanes && roundUp(channels, 2 * lanes) == roundUp(channels, lanes) ? 2 : 1;
}

Tile mlir::dla::kernelgen::chooseTile(const HostTarget &t, int64_t channels, int64_t width) {
  Tile tile;
  tile.vw = t.vectorWidth;
  tile.v = channelVectors(channels, tile.vw);
  int64_t accumulators = t.registers >= 32 ? 16 : 8;
  tile.p = std::max<int64_t>(1, std::min(accumulators / tile.v, width));
  return tile;
}

bool mlir::dla::kernelgen::pointwiseEligible(FusedConvOp op, int64_t lanes) {
  auto w = op.getWeight().getType().getShape();
  auto out = op.getType().getShape();
  return !op.getResidualWeight() && !op.getTailWeight() && w[2] == 1 && w[3] == 1 &&
         op.getGroups() == 1 && op.getPadding()[0] == 0 && op.getPadding()[1] == 0 &&
         op.getStride()[0] == 1 && op.getStride()[1] == 1 && (out[2] * out[3]) % lanes == 0;
}

namespace {

/// A 1x1 conv without padding, groups or pooling reads its inputs in place.
bool directEligible(FusedConvOp op) {
  auto w = op.getWeight().getType().getShape();
  return w[2] == 1 && w[3] == 1 && op.getPadding()[0] == 0 && op.getPadding()[1] == 0 &&
         op.getGroups() == 1 && llvm::all_of(op.getPool(), [](int64_t p) { return p == 1; });
}

/// The row tile (conv_rows) computes every channel of a group (at most one
/// vector of them) RR at a time over VR vectors of one row's pixels.
bool rowsEligible(FusedConvOp op, int64_t lanes, int64_t rr, int64_t cols) {
  auto w = op.getWeight().getType().getShape();
  int64_t og = w[0] / op.getGroups(), wo = op.getType().getDimSize(3);
  return !op.getResidualWeight() && !op.getTailWeight() && op.getStride()[0] == 1 &&
         og <= lanes && og % rr == 0 && wo % cols == 0 &&
         !(w[2] == 1 && w[3] == 1 && op.getPadding()[0] == 0);
}

CpuTileAttr chooseGemm(FusedConvOp op, const HostTarget &target) {
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], hw = out[2] * out[3];
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
  return CpuTileAttr::get(op->getContext(), CpuKernel::gemm, VW, {R, VP}, {OCB, PXB}, KC);
}

CpuTileAttr chooseConv(FusedConvOp op, const HostTarget &target) {
  auto out = op.getType().getShape();
  auto w = op.getWeight().getType().getShape();
  int64_t n = out[0], oc = w[0], ho = out[2], wo = out[3];
  int64_t groups = op.getGroups(), cg = w[1], og = oc / groups;
  int64_t s = op.getStride()[0];
  Tile t = chooseTile(target, og, wo);
  int64_t VW = t.vw, V = t.v, P = t.p, OB = V * VW;
  int64_t TC = P * std::min(ceilDiv(wo, P), std::max<int64_t>(1, 64 / P));
  // Few output channels (one vector or less: the stem, level 0) with stride
  // 1: the register tile is RR channels x VR vectors of pixels along a row
  // instead (VR contiguous loads from the patch and RR broadcast weights for
  // RR * VR FMAs, against P broadcasts for P FMAs).
  int64_t RR = 4, VR = 4;
  bool rows = target.registers >= 32 && V == 1 && rowsEligible(op, VW, RR, VR * VW);
  if (rows)
    TC = VR * VW;
  bool tail = static_cast<bool>(op.getTailWeight());
  int64_t gridOcBlocks = tail ? 1 : ceilDiv(og, OB);
  // ~512 output pixels a block; strided convs fewer, so their patch (s^2
  // times the input area) stays near L1.
  int64_t TR = std::min(ho, std::max<int64_t>(1, 512 / TC / s));
  // Enough blocks to keep a few threads busy, if the map allows.
  while (TR > 1 && n * groups * gridOcBlocks * ceilDiv(ho, TR) * ceilDiv(wo, TC) < 8)
    TR = ceilDiv(TR, 2);
  // 1x1 without padding (projections, Root convs): the inputs are read in
  // place, all channels in one pass, no patch is staged.
  bool direct = directEligible(op);
  int64_t CK = direct ? cg : ceilDiv(cg, ceilDiv(cg, 64));
  CpuKernel form = direct ? CpuKernel::conv_1x1 : rows ? CpuKernel::conv_rows : CpuKernel::conv;
  return CpuTileAttr::get(op->getContext(), form, VW,
                          rows ? llvm::ArrayRef<int64_t>{RR, VR} : llvm::ArrayRef<int64_t>{P, V},
                          {TR, TC}, CK);
}

CpuTileAttr chooseDeform(FusedDeformConvOp op, const HostTarget &target) {
  auto out = op.getType().getShape();
  int64_t n = out[0], oc = out[1], h = out[2], w = out[3];
  Tile t = chooseTile(target, oc, w);
  // TR output rows a block, at least ~64 pixels (each block repacks the
  // offset weights); small maps: at least 4 blocks, so that more than one
  // thread works.
  int64_t TR = std::clamp<int64_t>(std::max(ceilDiv(h, 8), ceilDiv(64, w)), 1, 16);
  TR = std::min(TR, h);
  while (TR > 1 && n * ceilDiv(h, TR) < 4)
    TR = ceilDiv(TR, 2);
  return CpuTileAttr::get(op->getContext(), CpuKernel::deform, t.vw, {t.p, t.v}, {TR}, 0);
}

std::string str(int64_t v) { return std::to_string(v); }

std::string checkConvTile(FusedConvOp op, CpuTileAttr tile) {
  auto out = op.getType().getShape();
  auto w = op.getWeight().getType().getShape();
  int64_t ho = out[2], wo = out[3], cg = w[1], hw = ho * wo;
  int64_t lanes = tile.getLanes(), t0 = tile.getTile()[0], t1 = tile.getTile()[1];
  int64_t rows = tile.getBlock()[0], cols = tile.getBlock()[1], chunk = tile.getChunk();
  switch (tile.getForm()) {
  case CpuKernel::gemm:
    if (!pointwiseEligible(op, lanes))
      return "gemm needs a 1x1 conv without stride, padding, groups, projection or tail, "
             "over a multiple of " + str(lanes) + " pixels";
    if (rows % t0 != 0 || rows > roundUp(out[1], t0))
      return "a gemm block's output channels (" + str(rows) + ") must be a multiple of the "
             "tile's " + str(t0) + ", at most the channels rounded up to it";
    if (cols % (t1 * lanes) != 0 || cols > roundUp(hw, t1 * lanes))
      return "a gemm block's pixels (" + str(cols) + ") must be a multiple of the tile's " +
             str(t1 * lanes) + ", at most the map's rounded up to it";
    return "";
  case CpuKernel::conv_1x1:
    if (!directEligible(op))
      return "conv_1x1 needs a 1x1 conv without padding, groups or pooled inputs";
    if (chunk != cg)
      return "conv_1x1 reads all " + str(cg) + " input channels at once, chunk is " +
             str(chunk);
    break;
  case CpuKernel::conv_rows:
    if (cols != t1 * lanes || !rowsEligible(op, lanes, t0, cols))
      return "conv_rows needs stride 1, no projection or tail, a conv larger than 1x1, "
             "at most one vector (" + str(lanes) + ") of channels a group, a multiple of "
             "the tile's " + str(t0) + " channels, and block columns of tile[1] x lanes "
             "dividing the map's width";
    break;
  case CpuKernel::conv:
    break;
  case CpuKernel::deform:
    return "a fused_conv's tile is conv, conv_rows, conv_1x1 or gemm, not deform";
  }
  int64_t p = tile.getForm() == CpuKernel::conv_rows ? 1 : t0;
  if (rows > ho)
    return "block rows (" + str(rows) + ") must be at most the map's " + str(ho);
  if (cols % p != 0 || cols > roundUp(wo, p))
    return "block columns (" + str(cols) + ") must be a multiple of the tile's " + str(p) +
           " pixels, at most the map's width rounded up to it";
  if (chunk > cg)
    return "chunk (" + str(chunk) + ") must be at most the " + str(cg) +
           " input channels of a group";
  return "";
}

} // namespace

CpuTileAttr mlir::dla::chooseCpuTile(Operation *op, const HostTarget &target) {
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return pointwiseEligible(conv, target.vectorWidth) ? chooseGemm(conv, target)
                                                       : chooseConv(conv, target);
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op))
    return chooseDeform(dcn, target);
  return {};
}

std::string mlir::dla::checkCpuTile(Operation *op, CpuTileAttr tile, const HostTarget &target) {
  if (tile.getLanes() != target.vectorWidth)
    return "the tile's lanes (" + str(tile.getLanes()) + ") are not the target's vector width (" +
           str(target.vectorWidth) + ")";
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return checkConvTile(conv, tile);
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op)) {
    if (tile.getForm() != CpuKernel::deform)
      return "a fused_deform_conv's tile is deform";
    if (tile.getBlock()[0] > dcn.getType().getDimSize(2))
      return "block rows (" + str(tile.getBlock()[0]) + ") must be at most the map's " +
             str(dcn.getType().getDimSize(2));
    return "";
  }
  return "op has no CPU kernel to tile";
}

HostLayoutAttr mlir::dla::hostLayoutOf(Value v) {
  auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
  auto layout =
      type ? llvm::dyn_cast_or_null<HostLayoutAttr>(type.getEncoding()) : HostLayoutAttr();
  // A layout with `storage` alone is the logical one, widened: not packed.
  return layout && (layout.getOcBlock() > 0 || layout.getTapsFirst()) ? layout
                                                                       : HostLayoutAttr();
}

Type mlir::dla::hostWidenedStorage(Value weight) {
  Type e = llvm::cast<ShapedType>(weight.getType()).getElementType();
  return e.isF16() || e.isBF16() ? Float32Type::get(weight.getContext()) : Type();
}

Type mlir::dla::storedElementType(Type type) {
  auto shaped = llvm::cast<ShapedType>(type);
  if (auto t = llvm::dyn_cast<RankedTensorType>(type))
    if (auto layout = llvm::dyn_cast_or_null<HostLayoutAttr>(t.getEncoding()))
      if (layout.getStorage())
        return layout.getStorage();
  // tf32 values are kept in f32 words (docs/precision.md).
  if (llvm::isa<FloatTF32Type>(shaped.getElementType()))
    return Float32Type::get(type.getContext());
  return shaped.getElementType();
}

HostLayoutAttr mlir::dla::hostLayoutFor(Operation *op, Value weight) {
  auto tile = op->getAttrOfType<CpuTileAttr>(CpuTileAttr::kAttrName);
  if (!tile || llvm::count(op->getOperands(), weight) != 1)
    return {};
  MLIRContext *ctx = op->getContext();
  int64_t lanes = tile.getLanes();
  if (auto conv = dyn_cast<FusedConvOp>(op)) {
    if (weight != conv.getWeight() && weight != conv.getResidualWeight())
      return {};
    int64_t og = conv.getWeight().getType().getDimSize(0) / conv.getGroups();
    // The register tile's V vectors of output channels; the row tile reads
    // one vector; the GEMM broadcasts single weights and streams them in
    // blocks of the channel vectors a conv tile would take.
    int64_t ob = tile.getForm() == CpuKernel::conv_rows ? lanes
                 : tile.getForm() == CpuKernel::gemm    ? channelVectors(og, lanes) * lanes
                                                        : tile.getTile()[1] * lanes;
    if (tile.getForm() == CpuKernel::gemm && weight != conv.getWeight())
      return {};
    return og % ob == 0 ? HostLayoutAttr::get(ctx, ob, false, hostWidenedStorage(weight))
                        : HostLayoutAttr();
  }
  if (auto dcn = dyn_cast<FusedDeformConvOp>(op)) {
    int64_t c = dcn.getWeight().getType().getDimSize(1), oc = dcn.getType().getDimSize(1);
    return weight == dcn.getWeight() && c % lanes == 0 && oc % (tile.getTile()[1] * lanes) == 0
               ? HostLayoutAttr::get(ctx, 0, true, hostWidenedStorage(weight))
               : HostLayoutAttr();
  }
  return {};
}

/// Empty if the operand `weight` of `op` is kept in the logical layout or
/// in the packed one its tile reads, else why not (a tile changed after
/// dla-pack-weights ran).
std::string mlir::dla::kernelgen::checkWeightLayout(Operation *op, Value weight) {
  HostLayoutAttr layout = hostLayoutOf(weight);
  if (!layout || layout == hostLayoutFor(op, weight))
    return "";
  std::string why;
  llvm::raw_string_ostream os(why);
  os << "operand #" << llvm::find(op->getOperands(), weight) - op->operand_begin()
     << " is packed " << layout << ", which its dla.tile does not read (run "
     << "dla-pack-weights after changing tiles)";
  return why;
}
