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
