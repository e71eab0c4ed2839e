// RUN: dla-opt %s --split-input-file --dla-lower-to-gpu-kernels=min-blocks=1 --verify-diagnostics | FileCheck %s

// Each op names its kernel; the kernels are gpu.func in a gpu.module for
// the chips of dla.target, their scratch in workgroup memory, their block
// size known, their grid recorded, their phases scf.forall over the
// threads. The f32 conv is the SIMT kernel: one phase spanning the block,
// each thread's 16-channel accumulator carried in a register through the
// loop over the input-channel chunks, which holds the barriers.
// CHECK-LABEL: module @conv attributes {dla.target = {{.*}}, gpu.container_module}
// CHECK: dla.fused_conv({{.*}} {dla.kernel = "fused_conv"}
// CHECK: gpu.module @kernels [#nvvm.target<chip = "sm_80">, #nvvm.target<chip = "sm_90">] {
// CHECK: gpu.func @fused_conv(%{{.*}}: memref<1x8x8x8xf32>, %{{.*}}: memref<16x8x3x3xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<1x16x8x8xf32>) workgroup(%{{.*}} : memref<8x3x3x16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<8x10x10xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {dla.grid = array<i64: 1, 1, 1>, dla.shared_bytes = 7808 : i64, dla.threads = 64 : i64, known_block_size = array<i32: 64, 1, 1>}
// CHECK: gpu.block_id x
// CHECK: scf.forall
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>)
// CHECK: gpu.barrier
// CHECK: vector.fma
// CHECK: gpu.barrier
// CHECK: {mapping = [#gpu.thread<x>]}
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.return
module @conv attributes {dla.target = #dla.target<chips = ["sm_80", "sm_90"]>} {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "conv.weight"}, %b: tensor<16xf32> {dla.name = "conv.bias"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %y = dla.fused_conv(%x) pool [1] weight %w bias %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x8x8xf32>
    return %y : tensor<1x16x8x8xf32>
  }
}

// -----

// Stored in f16, the conv is an implicit GEMM on tensor cores (min-blocks=1:
// the largest channel tile, not halved to fill a GPU): 4 warps, the
// input window (channels innermost) and the weights (K innermost) in
// workgroup memory, 16-byte aligned; the accumulators (one vector<2x2xf32>
// per n8 tile: 32 channels, 4 tiles) carried in registers through the loop
// over the input channels, with barriers inside it; ldmatrix.x4 for A and B,
// m16n8k16 mma.sync.
// CHECK-LABEL: module @tensor_core_f16
// CHECK: gpu.func @fused_conv(%{{.*}}: memref<1x16x8x8xf16>, %{{.*}}: memref<32x16x3x3xf16>, %{{.*}}: memref<32xf16>, %{{.*}}: memref<1x32x8x8xf16>, %{{.*}}: memref<1x32x8x8xf16>) workgroup(%{{.*}} : memref<10x10x16xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<9x32x16xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {dla.grid = array<i64: 1, 1, 1>, dla.shared_bytes = 12416 : i64, dla.threads = 128 : i64, known_block_size = array<i32: 128, 1, 1>}
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<10x10x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<9x32x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
module @tensor_core_f16 attributes {dla.target = #dla.target<chips = ["sm_90"]>} {
  func.func @forward(%x: tensor<1x16x8x8xf16> {dla.name = "input"}, %w: tensor<32x16x3x3xf16> {dla.name = "conv.weight"}, %b: tensor<32xf16> {dla.name = "conv.bias"}, %r: tensor<1x32x8x8xf16> {dla.name = "res"}) -> (tensor<1x32x8x8xf16> {dla.name = "out"}) {
    %y = dla.fused_conv(%x) pool [1] weight %w bias %b residual %r stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x8x8xf16>), tensor<32x16x3x3xf16> bias tensor<32xf16> residual tensor<1x32x8x8xf16> -> tensor<1x32x8x8xf16>
    return %y : tensor<1x32x8x8xf16>
  }
}

// -----

// tf32 (f32 words): the window and weights in f32, ldmatrix of 32-bit rows,
// two m16n8k8 steps per 16 channels; the f32 result (a model output) is
// stored as it is.
// CHECK-LABEL: module @tensor_core_tf32
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<10x10x16xf32, #gpu.address_space<workgroup>> -> vector<4x1xf32>
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
module @tensor_core_tf32 attributes {dla.target = #dla.target<chips = ["sm_90"]>} {
  func.func @forward(%x: tensor<1x16x8x8xtf32> {dla.name = "input"}, %w: tensor<16x16x3x3xtf32> {dla.name = "conv.weight"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %y = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x16x8x8xtf32>), tensor<16x16x3x3xtf32> -> tensor<1x16x8x8xf32>
    return %y : tensor<1x16x8x8xf32>
  }
}

// -----

// An input in f32 (the model's input) keeps the SIMT kernel, which reads it
// without rounding.
// CHECK-LABEL: module @f32_input
// CHECK: gpu.func @fused_conv(
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.return
module @f32_input attributes {dla.target = #dla.target<chips = ["sm_90"]>} {
  func.func @forward(%x: tensor<1x3x8x8xf32> {dla.name = "input"}, %w: tensor<16x3x3x3xf16> {dla.name = "conv.weight"}) -> (tensor<1x16x8x8xf16> {dla.name = "out"}) {
    %y = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x3x8x8xf32>), tensor<16x3x3x3xf16> -> tensor<1x16x8x8xf16>
    return %y : tensor<1x16x8x8xf16>
  }
}

// -----

// Without dla.target: the `chips` option, sm_90 by default.
// CHECK-LABEL: module @default_chip
// CHECK: gpu.module @kernels [#nvvm.target<chip = "sm_90">]
// CHECK: gpu.func @max_pool2d(
module @default_chip {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}) -> (tensor<1x8x4x4xf32> {dla.name = "out"}) {
    %p = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
    return %p : tensor<1x8x4x4xf32>
  }
}

// -----

// A form only the CPU kernels implement is an error naming the op.
module @projected {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %h: tensor<1x16x4x4xf32> {dla.name = "h"}, %wp: tensor<16x8x1x1xf32> {dla.name = "wp"}, %bp: tensor<16xf32> {dla.name = "bp"}, %w: tensor<16x16x3x3xf32> {dla.name = "w"}, %b: tensor<16xf32> {dla.name = "b"}) -> (tensor<1x16x4x4xf32> {dla.name = "out"}) {
    // expected-error @+1 {{kernel 'fused_conv' has no GPU form: a projected residual (`project`, formed by dla-fuse-residual-projection for --target host); GPU output needs --target cuda or all}}
    %y = dla.fused_conv(%h) pool [1] weight %w bias %b residual %x project %wp, %bp pool 2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x8x8x8xf32> project tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
    return %y : tensor<1x16x4x4xf32>
  }
}

// -----

// A target without a CUDA part has nothing to lower for the GPU.
// expected-error @+1 {{dla.target has no CUDA part (chips = []): nothing to lower for the GPU}}
module @host_only attributes {dla.target = #dla.target<cpu = "x86-64", vector_width = 4, registers = 16>} {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}) -> (tensor<1x8x4x4xf32> {dla.name = "out"}) {
    %p = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
    return %p : tensor<1x8x4x4xf32>
  }
}
