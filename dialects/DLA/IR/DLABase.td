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
  let useDefaultAttributePrinterParser = 1;
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

// What a build is for, recorded on the module by the driver (`dla.target`)
// and asked by every pass whose result depends on it.
def DLA_TargetAttr : AttrDef<DLA_Dialect, "Target"> {
  let mnemonic = "target";
  let summary = "The targets of a build: the host CPU and its kernels, the CUDA chips";
  let description = [{
    Recorded on the module as `dla.target` by `dlac` (from `--target`,
    `--host-cpu`, `--host-kernels` and `--arch`) and read by the passes
    whose result depends on the target: the fusions that only some
    kernels implement (`dla-fuse-residual-projection`, `dla-fuse-conv-tail`)
    and the kernel lowerings (`dla-lower-to-cpu-kernels`,
    `dla-lower-to-gpu-kernels`). A module without it is lowered for what
    each pass's options say.

    * `cpu`: the LLVM CPU of the host build (`znver4`, `x86-64-v3`, ...);
      empty when the build has no host part;
    * `vector_width`, `registers`: its SIMD shape (f32 lanes, registers),
      which the CPU kernels' register tiles are sized for;
    * `features`: the CPU features the bundle records and the runtime
      checks before it loads the kernels;
    * `cpu_kernels`: the host runs the CPU kernels (true) or the GPU-shaped
      kernels (false: `--host-kernels=gpu`);
    * `chips`: the CUDA chips of the GPU build (`sm_90`, ...); empty when
      the build has no GPU part.

    ```mlir
    module attributes {dla.target = #dla.target<cpu = "x86-64-v3", vector_width = 8,
        registers = 16, features = ["avx", "avx2", "fma"], chips = ["sm_90"]>} { ... }
    ```
  }];
  let parameters = (ins
    StringRefParameter<"LLVM CPU of the host build, empty: none", "\"\"">:$cpu,
    DefaultValuedParameter<"int64_t", "0", "f32 lanes of a SIMD register">:$vector_width,
    DefaultValuedParameter<"int64_t", "0", "SIMD registers">:$registers,
    OptionalParameter<"::mlir::ArrayAttr", "CPU features recorded">:$features,
    DefaultValuedParameter<"bool", "true", "the host runs the CPU kernels">:$cpu_kernels,
    OptionalParameter<"::mlir::ArrayAttr", "CUDA chips, empty: none">:$chips
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let extraClassDeclaration = [{
    bool hasHost() const { return !getCpu().empty(); }
    bool hasCuda() const { return getChips() && !getChips().empty(); }
    /// The `dla.target` of `op` or of the nearest op around it that has one.
    static TargetAttr of(::mlir::Operation *op);
    static constexpr ::llvm::StringLiteral kAttrName = "dla.target";
  }];
}

class DLA_Op<string mnemonic, list<Trait> traits = []>
    : Op<DLA_Dialect, mnemonic, traits>;

#endif // DLA_BASE_TD
