//===- DLABase.td - The dla dialect and its shared pieces ----*- tablegen -*-===//
//
// The dialect definition, the block-kind enum and the op base class shared by
// the structural ops (one per JSON construct) and the primitive ops (one per
// PyTorch module).
//
//===----------------------------------------------------------------------===//

#ifndef DLA_BASE_TD
#define DLA_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def DLA_Dialect : Dialect {
  let name = "dla";
  let summary = "Deep Layer Aggregation networks, from the model tree down to fused kernels";
  let description = [{
    The `dla` dialect describes DLA networks (DLA-34 and its family) and
    DLASeg, the CenterNet/FairMOT backbone with modulated deformable
    convolutions, at two levels:

    * **structural** ops mirror the JSON model description one to one
      (`dla.base_layer`, `dla.conv_level`, `dla.tree`, `dla.dla_up`,
      `dla.ida_up`, `dla.head`, `dla.classifier`). Each carries the
      PyTorch state-dict prefix of its parameters, so the IR reads like the
      network the user wrote;
    * **primitive** ops (after `dla-expand`) have value semantics on ranked
      NCHW tensors and correspond one to one to PyTorch modules
      (`dla.conv2d` is `nn.Conv2d`, `dla.deform_conv2d` is
      `torchvision.ops.deform_conv2d` with a mask, ...). Weights are
      `dla.param` ops named by their exact state-dict key.

    Element types are f32, f16 or bf16; the compiler currently generates f32.
  }];
  let cppNamespace = "::mlir::dla";
}

// The residual block a Tree is built from (`block` in the JSON).
def DLA_BlockKind : I32EnumAttr<"BlockKind", "residual block of a DLA tree", [
    I32EnumAttrCase<"basic", 0>,       // BasicBlock: 3x3 -> 3x3
    I32EnumAttrCase<"bottleneck", 1>,  // Bottleneck: 1x1 -> 3x3 -> 1x1, expansion 2
    I32EnumAttrCase<"bottleneckx", 2>  // BottleneckX: as Bottleneck, grouped 3x3
  ]> {
  let cppNamespace = "::mlir::dla";
}

// Activations and weights: ranked tensors of a float type the compiler knows.
def DLA_Tensor4D : 4DTensorOf<[F32, F16, BF16]>;
def DLA_AnyTensor : RankedTensorOf<[F32, F16, BF16]>;
def DLA_Pair : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<2>]>;

class DLA_Op<string mnemonic, list<Trait> traits = []>
    : Op<DLA_Dialect, mnemonic, traits>;

#endif // DLA_BASE_TD
