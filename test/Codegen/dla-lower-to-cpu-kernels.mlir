// RUN: dla-opt %s --split-input-file --dla-choose-cpu-tiles --dla-pack-weights --dla-lower-to-cpu-kernels --verify-diagnostics | FileCheck %s
// RUN: dla-opt %s --split-input-file --dla-choose-cpu-tiles="vector-width=16 registers=32" --dla-pack-weights --dla-lower-to-cpu-kernels="vector-width=16 registers=32" --verify-diagnostics | FileCheck %s --check-prefix=AVX512

// A folded BatchNorm in @init and the conv reading it in @forward. The op
// stays and names its kernel; the kernel, in the nested module
// @host_kernels, loops over its blocks [%begin, %end) and carries its
// launch. The CPU kernels for 8 lanes (the options, as no dla.target says
// otherwise): the tile (dla-choose-cpu-tiles) is 4 pixels x 2 vectors of
// output channels, and @init packs the folded weight [oc / 16][cin * 9][16]
// for it (dla-pack-weights).
// CHECK-LABEL: module @conv
// CHECK: dla.fold_batch_norm {{.*}} {dla.kernel = "init_conv_fold_bn"} : {{.*}} -> tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 16>>
// CHECK: dla.fused_conv({{.*}} {dla.kernel = "conv", dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 8>}
// CHECK: module @host_kernels {
// CHECK: func.func @init_conv_fold_bn(%{{.*}}: memref<16x72xf32>, {{.*}}, %{{.*}}: memref<1x72x16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: index, %{{.*}}: index) attributes {dla.grid = array<i64: 1, 1, 1>, dla.threads = 1 : i64}
// CHECK: func.func @conv(%{{.*}}: memref<1x8x8x8xf32>, %{{.*}}: memref<1x8x3x3x16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<1x16x8x8xf32>, %{{.*}}: index, %{{.*}}: index) attributes {dla.grid = array<i64: 8, 1, 1>, dla.shared_bytes = 2048 : i64, dla.threads = 1 : i64}
// CHECK: scf.for
// CHECK: vector.fma {{.*}} : vector<8xf32>
// AVX512-LABEL: module @conv
// AVX512: func.func @conv(
// AVX512: vector.fma {{.*}} : vector<16xf32>
module @conv {
  func.func @init() -> (tensor<16x8x3x3xf32> {dla.name = "conv.weight:folded_weight"}, tensor<16xf32> {dla.name = "conv.weight:folded_bias"}) {
    %w = dla.param "conv.weight" : tensor<16x8x3x3xf32>
    %g = dla.param "bn.weight" : tensor<16xf32>
    %b = dla.param "bn.bias" : tensor<16xf32>
    %m = dla.param "bn.running_mean" : tensor<16xf32>
    %v = dla.param "bn.running_var" : tensor<16xf32>
    %nw, %nb = dla.fold_batch_norm %w bn(%g, %b, %m, %v) eps 1.0e-05 : tensor<16x8x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
    return %nw, %nb : tensor<16x8x3x3xf32>, tensor<16xf32>
  }
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %w = dla.prepared "conv.weight:folded_weight" : tensor<16x8x3x3xf32>
    %b = dla.prepared "conv.weight:folded_bias" : tensor<16xf32>
    %y = dla.fused_conv(%x) pool [1] weight %w bias %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x8x8xf32>
    return %y : tensor<1x16x8x8xf32>
  }
}

// -----

// dla.target decides over the options: 4 lanes (SSE2), and a host part.
// CHECK-LABEL: module @from_target
// CHECK: func.func @max_pool2d({{.*}} attributes {dla.grid = array<i64: 2, 1, 1>, dla.threads = 256 : i64}
// CHECK: func.func @fused_conv(
// CHECK: vector.fma {{.*}} : vector<4xf32>
module @from_target attributes {dla.target = #dla.target<cpu = "x86-64", vector_width = 4, registers = 16>} {
  func.func @forward(%x: tensor<1x8x16x16xf32> {dla.name = "input"}, %w: tensor<8x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x8x8x8xf32> {dla.name = "out"}) {
    %p = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32>
    %y = dla.fused_conv(%p) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
    return %y : tensor<1x8x8x8xf32>
  }
}

// -----

// A target without a host part has nothing to lower for the host.
// expected-error @+1 {{dla.target has no host part (cpu = ""): nothing to lower for the host}}
module @cuda_only attributes {dla.target = #dla.target<chips = ["sm_90"]>} {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}) -> (tensor<1x8x4x4xf32> {dla.name = "out"}) {
    %p = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
    return %p : tensor<1x8x4x4xf32>
  }
}

// -----

// Ops that read the same kind, attributes, types and operand layouts run one
// kernel, built once and named after the first; a different stride is
// another kernel.
// CHECK-LABEL: module @shared
// CHECK: dla.fused_conv({{.*}} {dla.kernel = "fused_conv", dla.tile =
// CHECK: dla.fused_conv({{.*}} {dla.kernel = "fused_conv", dla.tile =
// CHECK: dla.fused_conv({{.*}} {dla.kernel = "fused_conv_3", dla.tile =
// CHECK: module @host_kernels
// CHECK-COUNT-2: func.func
// CHECK-NOT: func.func
module @shared {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<8x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x8x8x8xf32> {dla.name = "a"}, tensor<1x8x4x4xf32> {dla.name = "b"}) {
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
    %b = dla.fused_conv(%a) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<8x8x3x3xf32> -> tensor<1x8x8x8xf32>
    %c = dla.fused_conv(%b) pool [1] weight %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<8x8x3x3xf32> -> tensor<1x8x4x4xf32>
    return %b, %c : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>
  }
}
