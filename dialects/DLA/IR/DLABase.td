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
def DLA_Tensor4D : 4DTensorOf<[F32, TF32, F16, BF16]>;
def DLA_AnyTensor : RankedTensorOf<[F32, TF32, F16, BF16]>;
def DLA_Pair : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<2>]>;

// What a build is for, recorded on the module by the driver (`dla.target`)
// and asked by every pass whose result depends on it.
def DLA_TargetAttr : AttrDef<DLA_Dialect, "Target"> {
  let mnemonic = "target";
  let summary = "The targets of a build: the host CPU, the CUDA chips";
  let description = [{
    Recorded on the module as `dla.target` by `dlac` (from `--target`,
    `--host-cpu` and `--arch`) and read by the passes
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

// The CPU kernel forms (codegen/CPU/), named by a kernel's tile.
def DLA_CpuKernel : I32EnumAttr<"CpuKernel", "form of a CPU kernel", [
    I32EnumAttrCase<"conv", 0>, I32EnumAttrCase<"conv_rows", 1>,
    I32EnumAttrCase<"conv_1x1", 2>, I32EnumAttrCase<"gemm", 3>,
    I32EnumAttrCase<"deform", 4>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::dla";
}

// The tile of one CPU kernel, set on its op by dla-choose-cpu-tiles and
// read by dla-pack-weights and dla-lower-to-cpu-kernels.
def DLA_CpuTileAttr : AttrDef<DLA_Dialect, "CpuTile"> {
  let mnemonic = "cpu_tile";
  let summary = "How the CPU kernel of an op is tiled";
  let description = [{
    Set on each `dla.fused_conv` and `dla.fused_deform_conv` as `dla.tile`
    by `dla-choose-cpu-tiles` (which keeps a tile already there, e.g. one
    written by hand into fused IR), then read by `dla-pack-weights` (the
    packed weight layouts follow the register tiles) and by
    `dla-lower-to-cpu-kernels`, which builds exactly this tile or reports
    why it cannot. `lanes` is the f32 lanes of a vector (the target's
    `vector_width`); the other fields depend on the form:

    | form | `tile` (register tile) | `block` (a kernel block) | `chunk` |
    | --- | --- | --- | --- |
    | `conv` | [pixels P, vectors V of output channels] | [rows, columns] | input channels staged at a time |
    | `conv_rows` | [channels, vectors of a row's pixels] | [rows, columns] | input channels staged at a time |
    | `conv_1x1` | [pixels P, vectors V of output channels] | [rows, columns] | all input channels (no staging) |
    | `gemm` | [channels, vectors of pixels] | [output channels, pixels] | input channels a pass over the block's pixels |
    | `deform` | [pixels P, vectors V of output channels] | [output rows] | 0 |

    A `conv`/`conv_1x1` tile's weight block (its packed layout) is V x lanes
    output channels; `conv_rows` and `deform` read one vector of output
    channels a step, `gemm` broadcasts single weights.

    ```mlir
    %y = dla.fused_conv %x, %w, %b {..., dla.tile = #dla.cpu_tile<conv, lanes = 16,
        tile = [8, 2], block = [8, 64], chunk = 64>}
    ```
  }];
  let parameters = (ins
    EnumParameter<DLA_CpuKernel>:$form,
    "int64_t":$lanes,
    ArrayRefParameter<"int64_t", "register tile">:$tile,
    ArrayRefParameter<"int64_t", "block">:$block,
    DefaultValuedParameter<"int64_t", "0", "channels a chunk">:$chunk
  );
  let assemblyFormat = [{
    `<` $form `,` `lanes` `=` $lanes `,` `tile` `=` `[` $tile `]` `,`
        `block` `=` `[` $block `]` (`,` `chunk` `=` $chunk^)? `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static constexpr ::llvm::StringLiteral kAttrName = "dla.tile";
  }];
}

// The layout the host build keeps a prepared weight in: an encoding of its
// tensor type, set by dla-pack-weights.
def DLA_HostLayoutAttr : AttrDef<DLA_Dialect, "HostLayout"> {
  let mnemonic = "host_layout";
  let summary = "The memory layout of a packed weight in the host build";
  let description = [{
    The encoding of a weight's tensor type when the host build keeps it
    packed for the CPU kernels that read it. The tensor keeps its logical
    shape (out, in, kh, kw): ops and verifiers see the same weight; the
    host build's `@init` (`dla.fold_batch_norm`) writes, and the CPU
    kernels read, the layout this names. Set by `dla-pack-weights` on the
    folded weight in `@init`, `@init`'s result and the `dla.prepared` that
    reads it in `@forward`. Other builds (CUDA) keep the logical layout.

    * `oc_block = B`: [out / B][in][kh][kw][B], B output channels
      contiguous (a register tile's weight vectors);
    * `taps_first`: [kh * kw][in][out] (the deformable conv's samples x
      weights);
    * `storage = f32`: in a reduced-precision model (the tensor's element
      type f16 or bf16), the host keeps the packed weight widened to f32:
      `@init` rounds each folded value to the element type once, then
      widens it, so the values are the element type's while the CPU
      kernels' inner loops read f32 as in an f32 model (x86 has no f16
      arithmetic: a conversion per weight read would cost more than the
      bytes it saves). Absent: stored in the element type. Alone (neither
      `oc_block` nor `taps_first`) it marks a weight kept in its logical
      layout, widened: a `dla.param` the runtime rounds to the element type
      when it loads the checkpoint, then stores as f32.

    ```mlir
    %w = dla.prepared "dla_up.ida_0.proj_1.conv.weight"
        : tensor<64x128x3x3xf32, #dla.host_layout<oc_block = 16>>
    %v = dla.prepared "dla_up.ida_0.node_1.conv.weight"
        : tensor<64x64x3x3xf16, #dla.host_layout<taps_first = true, storage = f32>>
    ```
  }];
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "0", "output channels a block">:$oc_block,
    DefaultValuedParameter<"bool", "false", "taps, then in, then out">:$taps_first,
    OptionalParameter<"::mlir::Type", "element type in memory, if not the tensor's">:$storage
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

class DLA_Op<string mnemonic, list<Trait> traits = []>
    : Op<DLA_Dialect, mnemonic, traits>;

#endif // DLA_BASE_TD
