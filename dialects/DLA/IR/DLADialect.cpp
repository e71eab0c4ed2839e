//===- DLADialect.cpp - The dla dialect -----------------------------------===//

#include "dialects/DLA/IR/DLAOps.h"

using namespace mlir;
using namespace mlir::dla;

#include "dialects/DLA/IR/DLADialect.cpp.inc"
#include "dialects/DLA/IR/DLAEnums.cpp.inc"

void DLADialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/DLA/IR/DLAOps.cpp.inc"
      >();
}
