//===- Passes.td - Kernel lowering passes ------------------*- tablegen -*-===//

#ifndef DLA_CODEGEN_PASSES_TD
#define DLA_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def DLAChooseCPUTilesPass : Pass<"dla-choose-cpu-tiles", "::mlir::ModuleOp"> {
  let summary = "Choose the tile of every CPU kernel (dla.tile)";
  let description = [{
    Precondition: fused IR (`dla-fuse`).

    Sets `dla.tile = #dla.cpu_tile<...>` on every `dla.fused_conv` and
    `dla.fused_deform_conv` of `@forward` that has none: the form of its
    CPU kernel (`conv`, `conv_rows`, `conv_1x1`, `gemm`, `deform`), its
    register tile, its blocks and its input-channel chunks, sized for the
    CPU's SIMD shape. A tile already there (written by hand into fused IR,
    or by an earlier run) is kept: `dla-lower-to-cpu-kernels` builds it or
    says why it cannot. The CPU
    comes from the module's `dla.target`; the options set it for a module
    without one.

    ```mlir
    %y = dla.fused_conv %x, %w, %b ... {dla.tile = #dla.cpu_tile<conv, lanes = 8,
        tile = [4, 2], block = [16, 32], chunk = 64>}
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "8",
           "f32 lanes of a SIMD register (4, 8, 16), without dla.target">,
    Option<"registers", "registers", "int64_t", "16",
           "SIMD registers, without dla.target">
  ];
  let statistics = [
    Statistic<"numChosen", "num-chosen", "Tiles chosen">,
    Statistic<"numKept", "num-kept", "Tiles kept as given">
  ];
}

def DLAPackWeightsPass : Pass<"dla-pack-weights", "::mlir::ModuleOp"> {
  let summary = "Keep the folded weights the CPU kernels read in their packed layouts";
  let description = [{
    Precondition: fused IR with `dla.tile`s (`dla-choose-cpu-tiles`).

    For each result of `@init` that is a `dla.fold_batch_norm`'s folded
    weight and that `@forward` reads (`dla.prepared`) only as the weight of
    CPU kernels that all read the same packed layout (their tiles say
    which), sets that layout as the encoding of the tensor type: on the
    folded weight, on `@init`'s result and on the `dla.prepared`. The host
    build's fold kernel then writes the packed layout once, and the convs
    read it in place instead of repacking their slice in every block.
    Logical shapes do not change; other builds (CUDA) ignore the encoding.
    The pass first removes every `#dla.host_layout`, so it can be run again
    after tiles change.

    ```mlir
    func.func @init(...) -> (tensor<64x32x3x3xf32, #dla.host_layout<oc_block = 16>> {dla.name = "w"})
    %w = dla.prepared "w" : tensor<64x32x3x3xf32, #dla.host_layout<oc_block = 16>>
    ```
  }];
  let statistics = [
    Statistic<"numPacked", "num-packed", "Weights kept packed">
  ];
}

def DLALowerToCPUKernelsPass : Pass<"dla-lower-to-cpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Build the host kernel of every op of @init and @forward";
  let description = [{
    Precondition: fused IR (`dla-fuse`): `@init` and `@forward` whose ops
    are kernels (`dla.fused_conv`, `dla.fused_deform_conv`,
    `dla.fold_batch_norm`, the pools and `dla.flatten` that survive
    fusion); for the CPU kernels, the tiles of `dla-choose-cpu-tiles` and
    the weight layouts of `dla-pack-weights`.

    Builds one `func.func @NAME(buffers..., %begin: index, %end: index)`
    per op into a nested `module @host_kernels`, running the blocks
    `[begin, end)` of the op's kernel one after another, and names the
    kernel on the op (`dla.kernel = "NAME"`). A kernel function carries its
    launch: `dla.grid` (its blocks), `dla.threads` (1 for the CPU kernels),
    `dla.workspace_bytes` and `dla.waves` where the kernel has them. The
    ops themselves are unchanged: they still say what is computed, the
    kernels how. Ops that read the same (kind, attributes, types, operand
    layouts) run one kernel, built once and named after the first of them.

    The convs and DCNs get the CPU kernels (codegen/CPU/: the register
    tiles and blocks of each op's `dla.tile`, staged input patches, weights
    in the `#dla.host_layout` of their type); a tile that cannot be built is
    an error naming the op and why. The other ops (the pools, `dla.flatten`,
    a fold whose weight is not packed) run the barrier-free kernels they
    share with the CUDA build (codegen/GPU/Kernels.cpp), block after block.
    The CPU comes from the module's `dla.target`; the options set it for a
    module without one.

    ```mlir
    %y = dla.fused_conv %x, %w, %b ... {dla.kernel = "base_level1_0"}
    module @host_kernels {
      func.func @base_level1_0(%arg0: memref<1x4x32x32xf32>, ...,
          %arg4: index, %arg5: index) attributes {dla.grid = array<i64: 8, 1, 1>, ...}
    }
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "8",
           "f32 lanes of a SIMD register (4, 8, 16), without dla.target">,
    Option<"registers", "registers", "int64_t", "16",
           "SIMD registers, without dla.target">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
  let statistics = [
    Statistic<"numKernels", "num-kernels", "Kernels built">,
    Statistic<"numCpuKernels", "num-cpu-kernels", "Of which CPU kernels">,
    Statistic<"numShared", "num-shared", "Ops running a kernel built for an earlier op">
  ];
}

def DLALowerToGPUKernelsPass : Pass<"dla-lower-to-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Build the CUDA kernel of every op of @init and @forward";
  let description = [{
    Precondition: fused IR (`dla-fuse`) without the forms only the CPU
    kernels implement (a fused_conv with `project` or `then`: an error
    naming the op; `dla-fuse` does not form them when `dla.target` has a
    GPU part).

    Builds one `gpu.func @NAME(buffers...) workgroup(scratch...) kernel`
    per op into a nested `gpu.module @kernels` for the chips of
    `dla.target` (or the `chips` option), and names the kernel on the op
    (`dla.kernel = "NAME"`). A kernel is a grid of blocks (`dla.grid`) of
    `known_block_size` threads; its body is a sequence of phases
    (`scf.forall` over the threads, mapped to `#gpu.thread<x>`), which the
    NVVM lowering maps to the threads with a barrier after each. Ops that
    read the same (kind, attributes, types) run one kernel, built once.
  }];
  let options = [
    ListOption<"chips", "chips", "std::string",
               "CUDA chips (sm_90, ...), without dla.target">,
    Option<"simtConvs", "simt-convs", "bool", /*default=*/"false",
           "Build every fused_conv as the SIMT kernel, also where the "
           "tensor-core kernel applies (to compare the two)">,
    Option<"minBlocks", "min-blocks", "int64_t", /*default=*/"132",
           "The tensor-core convs halve their channel tile (64, 32, 16) until "
           "a launch has this many blocks: the GPU's SMs (132 on an H200)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
  let statistics = [
    Statistic<"numKernels", "num-kernels", "Kernels built">,
    Statistic<"numShared", "num-shared", "Ops running a kernel built for an earlier op">
  ];
}

#endif // DLA_CODEGEN_PASSES_TD
