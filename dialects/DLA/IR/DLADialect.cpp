//===- DLADialect.cpp - The dla dialect -----------------------------------===//

#include "dialects/DLA/IR/DLAOps.h"

using namespace mlir;
using namespace mlir::dla;

#include "dialects/DLA/IR/DLADialect.cpp.inc"
#include "dialects/DLA/IR/DLAEnums.cpp.inc"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#define GET_ATTRDEF_CLASSES
#include "dialects/DLA/IR/DLAAttrs.cpp.inc"

TargetAttr TargetAttr::of(Operation *op) {
  for (; op; op = op->getParentOp())
    if (auto target = op->getAttrOfType<TargetAttr>(kAttrName))
      return target;
  return {};
}

LogicalResult CpuTileAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  CpuKernel form, int64_t lanes, ArrayRef<int64_t> tile,
                                  ArrayRef<int64_t> block, int64_t chunk) {
  if (lanes != 4 && lanes != 8 && lanes != 16)
    return emitError() << "cpu_tile lanes must be 4, 8 or 16, got " << lanes;
  size_t blockSize = form == CpuKernel::deform ? 1 : 2;
  if (tile.size() != 2 || block.size() != blockSize)
    return emitError() << "cpu_tile " << stringifyCpuKernel(form)
                       << " needs a tile of 2 and a block of " << blockSize << " sizes";
  for (int64_t v : llvm::concat<const int64_t>(tile, block))
    if (v < 1 || v > (1 << 20))
      return emitError() << "cpu_tile sizes must be in [1, 2^20], got " << v;
  if (tile[0] * tile[1] > 64)
    return emitError() << "cpu_tile register tile " << tile[0] << "x" << tile[1]
                       << " has more than 64 accumulator vectors";
  if (chunk < 0 || chunk > (1 << 20) || (form == CpuKernel::deform) != (chunk == 0))
    return emitError() << "cpu_tile chunk must be "
                       << (form == CpuKernel::deform ? "0 (absent) for deform"
                                                     : "in [1, 2^20]")
                       << ", got " << chunk;
  return success();
}

LogicalResult HostLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     int64_t ocBlock, bool tapsFirst, Type storage) {
  if ((ocBlock > 0 && tapsFirst) || ocBlock < 0 || (!storage && ocBlock == 0 && !tapsFirst))
    return emitError() << "host_layout needs either oc_block > 0 or taps_first (or, for a "
                          "weight kept in its logical layout, storage = f32 alone)";
  if (storage && !storage.isF32())
    return emitError() << "host_layout storage must be f32 (a reduced-precision weight kept "
                          "widened), got "
                       << storage;
  return success();
}

void DLADialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/DLA/IR/DLAOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/DLA/IR/DLAAttrs.cpp.inc"
      >();
}
