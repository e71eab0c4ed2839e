//===- DLAOps.td - All ops of the dla dialect ----------------*- tablegen -*-===//

#ifndef DLA_OPS_TD
#define DLA_OPS_TD

include "dialects/DLA/IR/DLABase.td"
include "dialects/DLA/IR/DLAStructuralOps.td"
include "dialects/DLA/IR/DLAPrimitiveOps.td"
include "dialects/DLA/IR/DLAFusedOps.td"

#endif // DLA_OPS_TD
