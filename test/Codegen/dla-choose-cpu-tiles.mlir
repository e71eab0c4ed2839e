// RUN: dla-opt %s --split-input-file --dla-choose-cpu-tiles --verify-diagnostics | FileCheck %s
// RUN: dla-opt %s --split-input-file --dla-choose-cpu-tiles="vector-width=16 registers=32" --verify-diagnostics | FileCheck %s --check-prefix=AVX512
// A tile's own sizes are checked when it is parsed:
// RUN: not dla-opt %S/Inputs/bad-tiles.mlir --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: bad-tiles.mlir:4:{{[0-9]+}}: error: cpu_tile lanes must be 4, 8 or 16, got 5
// BAD: bad-tiles.mlir:13:{{[0-9]+}}: error: cpu_tile conv needs a tile of 2 and a block of 2 sizes

// Each CPU kernel's form and tile, for 8 lanes and 16 registers (the
// options, as no dla.target says otherwise):
//  * a 3x3 conv to 16 channels: 2 vectors of channels (16 pads no more than
//    8 would), 8 accumulators / 2 = 4 pixels; blocks of one row (8 blocks
//    for 8 rows) by the 8 columns; all 8 input channels a chunk;
//  * a 1x1 conv without stride over 64 pixels: a GEMM, 4 channels x 2
//    vectors of pixels, 128 input channels a chunk; blocks of all 16
//    channels, their pixels split (toward 8 blocks) down to one tile's 16;
//  * a strided 1x1 conv: read in place (conv_1x1), all channels at once;
//  * a deformable conv: 4 pixels x 2 vectors of its 16 channels, 1 row a
//    block (4 blocks for the 4 rows).
// CHECK-LABEL: module @forms
// CHECK: dla.fused_conv({{.*}} {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 8>}
// CHECK: dla.fused_conv({{.*}} {dla.tile = #dla.cpu_tile<gemm, lanes = 8, tile = [4, 2], block = [16, 16], chunk = 128>}
// CHECK: dla.fused_conv({{.*}} {dla.tile = #dla.cpu_tile<conv_1x1, lanes = 8, tile = [4, 2], block = [1, 4], chunk = 16>}
// CHECK: dla.fused_deform_conv({{.*}} {dla.tile = #dla.cpu_tile<deform, lanes = 8, tile = [4, 2], block = [1]>}
// AVX-512: 16 lanes, 16 accumulators; the 3x3 conv's 16 channels are one
// vector, so 16 pixels (the map's 8 columns: 8); the GEMM's tile is 6
// channels x 4 vectors, its blocks 18 channels (a multiple of 6), then
// split to 12 for a second block.
// AVX512-LABEL: module @forms
// AVX512: dla.fused_conv({{.*}} {dla.tile = #dla.cpu_tile<conv, lanes = 16, tile = [8, 1], block = [1, 8], chunk = 8>}
// AVX512: dla.fused_conv({{.*}} {dla.tile = #dla.cpu_tile<gemm, lanes = 16, tile = [6, 4], block = [12, 64], chunk = 32>}
module @forms {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}, %w1: tensor<16x16x1x1xf32> {dla.name = "w1"}, %om: tensor<27x16x3x3xf32> {dla.name = "om"}, %bom: tensor<27xf32> {dla.name = "bom"}, %wd: tensor<16x16x3x3xf32> {dla.name = "wd"}, %bom2: tensor<16xf32> {dla.name = "bd"}) -> (tensor<1x16x4x4xf32> {dla.name = "out"}) {
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    %b = dla.fused_conv(%a) pool [1] weight %w1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x16x8x8xf32>), tensor<16x16x1x1xf32> -> tensor<1x16x8x8xf32>
    %c = dla.fused_conv(%b) pool [1] weight %w1 stride [2, 2] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x16x8x8xf32>), tensor<16x16x1x1xf32> -> tensor<1x16x4x4xf32>
    %d = dla.fused_deform_conv(%c) up [1] offset %om, %bom weight %wd bias %bom2 relu : (tensor<1x16x4x4xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
    return %d : tensor<1x16x4x4xf32>
  }
}

// -----

// Few output channels (the stem, level 0) with 32 registers: the row tile,
// 4 channels x 4 vectors of a row's pixels (the 64 columns).
// CHECK-LABEL: module @rows
// CHECK: #dla.cpu_tile<conv, lanes = 8,
// AVX512-LABEL: module @rows
// AVX512: #dla.cpu_tile<conv_rows, lanes = 16, tile = [4, 4], block = [1, 64], chunk = 4>
module @rows {
  func.func @forward(%x: tensor<1x4x8x64xf32> {dla.name = "input"}, %w: tensor<4x4x3x3xf32> {dla.name = "w"}) -> (tensor<1x4x8x64xf32> {dla.name = "out"}) {
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x4x8x64xf32>), tensor<4x4x3x3xf32> -> tensor<1x4x8x64xf32>
    return %a : tensor<1x4x8x64xf32>
  }
}

// -----

// A tile already there (written by hand) is kept, whatever the options.
// CHECK-LABEL: module @kept
// CHECK: dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [2, 1], block = [4, 4], chunk = 3>
// AVX512-LABEL: module @kept
// AVX512: dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [2, 1], block = [4, 4], chunk = 3>
module @kept {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [2, 1], block = [4, 4], chunk = 3>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}
