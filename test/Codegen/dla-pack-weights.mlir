// RUN: dla-opt %s --split-input-file --dla-pack-weights | FileCheck %s
// Run twice, the pass gives the same IR (it starts from the logical layouts):
// RUN: dla-opt %s --split-input-file --dla-pack-weights --dla-pack-weights | FileCheck %s

// The tiles are given (dla-choose-cpu-tiles would choose them). A conv tile
// of 2 vectors of 8 lanes reads its weight in blocks of 16 output channels:
// the folded weight, @init's result and the dla.prepared take
// #dla.host_layout<oc_block = 16>; the bias stays as it is.
// CHECK-LABEL: module @conv
// CHECK: func.func @init() -> (tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 16>> {dla.name = "w"}, tensor<16xf32> {dla.name = "b"})
// CHECK: dla.fold_batch_norm {{.*}} -> tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 16>>, tensor<16xf32>
// CHECK: dla.prepared "w" : tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 16>>
// CHECK: dla.prepared "b" : tensor<16xf32>
// CHECK: dla.fused_conv({{.*}} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 16>> bias tensor<16xf32>
module @conv {
  func.func @init() -> (tensor<16x8x3x3xf32> {dla.name = "w"}, tensor<16xf32> {dla.name = "b"}) {
    %w = dla.param "conv.weight" : tensor<16x8x3x3xf32>
    %g = dla.param "bn.weight" : tensor<16xf32>
    %b = dla.param "bn.bias" : tensor<16xf32>
    %m = dla.param "bn.running_mean" : tensor<16xf32>
    %v = dla.param "bn.running_var" : tensor<16xf32>
    %nw, %nb = dla.fold_batch_norm %w bn(%g, %b, %m, %v) eps 1.0e-05 : tensor<16x8x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
    return %nw, %nb : tensor<16x8x3x3xf32>, tensor<16xf32>
  }
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %w = dla.prepared "w" : tensor<16x8x3x3xf32>
    %b = dla.prepared "b" : tensor<16xf32>
    %y = dla.fused_conv(%x) pool [1] weight %w bias %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x8x8xf32>
    return %y : tensor<1x16x8x8xf32>
  }
}

// -----

// Kept in the logical layout: a weight two convs read in different blocks
// (16 and 8 channels), one whose block does not divide its 12 channels,
// one read by a conv without a tile; and a stale layout (a tile changed
// since) is removed.
// CHECK-LABEL: module @logical
// CHECK: func.func @init() -> (tensor<16x8x3x3xf32> {dla.name = "w"}, tensor<12x8x3x3xf32> {dla.name = "w12"}, tensor<16x8x3x3xf32> {dla.name = "wu"}, tensor<16x8x3x3xf32> {dla.name = "ws"})
// CHECK-NOT: host_layout
module @logical {
  func.func @init() -> (tensor<16x8x3x3xf32> {dla.name = "w"}, tensor<12x8x3x3xf32> {dla.name = "w12"}, tensor<16x8x3x3xf32> {dla.name = "wu"}, tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>> {dla.name = "ws"}) {
    %w = dla.param "conv.weight" : tensor<16x8x3x3xf32>
    %g = dla.param "bn.weight" : tensor<16xf32>
    %w12 = dla.param "conv12.weight" : tensor<12x8x3x3xf32>
    %g12 = dla.param "bn12.weight" : tensor<12xf32>
    %nw, %nb = dla.fold_batch_norm %w bn(%g, %g, %g, %g) eps 1.0e-05 : tensor<16x8x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
    %nw12, %nb12 = dla.fold_batch_norm %w12 bn(%g12, %g12, %g12, %g12) eps 1.0e-05 : tensor<12x8x3x3xf32> bn(tensor<12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>) -> tensor<12x8x3x3xf32>, tensor<12xf32>
    %nwu, %nbu = dla.fold_batch_norm %w bn(%g, %g, %g, %g) eps 1.0e-05 : tensor<16x8x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
    %nws, %nbs = dla.fold_batch_norm %w bn(%g, %g, %g, %g) eps 1.0e-05 : tensor<16x8x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>>, tensor<16xf32>
    return %nw, %nw12, %nwu, %nws : tensor<16x8x3x3xf32>, tensor<12x8x3x3xf32>, tensor<16x8x3x3xf32>, tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>>
  }
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}) -> (tensor<1x16x8x8xf32> {dla.name = "a"}, tensor<1x16x8x8xf32> {dla.name = "b"}, tensor<1x12x8x8xf32> {dla.name = "c"}, tensor<1x16x8x8xf32> {dla.name = "d"}, tensor<1x16x8x8xf32> {dla.name = "e"}) {
    %w = dla.prepared "w" : tensor<16x8x3x3xf32>
    %w12 = dla.prepared "w12" : tensor<12x8x3x3xf32>
    %wu = dla.prepared "wu" : tensor<16x8x3x3xf32>
    %ws = dla.prepared "ws" : tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>>
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    %b = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 1], block = [1, 8], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    %c = dla.fused_conv(%x) pool [1] weight %w12 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<12x8x3x3xf32> -> tensor<1x12x8x8xf32>
    %d = dla.fused_conv(%x) pool [1] weight %wu stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    %e = dla.fused_conv(%x) pool [1] weight %ws stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>> -> tensor<1x16x8x8xf32>
    return %a, %b, %c, %d, %e : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x12x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
  }
}

// -----

// The deformable conv reads its weight taps first: [3 * 3][in][out].
// CHECK-LABEL: module @deform
// CHECK: dla.prepared "wd" : tensor<16x16x3x3xf32, #dla.host_layout<taps_first = true>>
module @deform {
  func.func @init() -> (tensor<16x16x3x3xf32> {dla.name = "wd"}) {
    %w = dla.param "dcn.weight" : tensor<16x16x3x3xf32>
    %g = dla.param "bn.weight" : tensor<16xf32>
    %nw, %nb = dla.fold_batch_norm %w bn(%g, %g, %g, %g) eps 1.0e-05 : tensor<16x16x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x16x3x3xf32>, tensor<16xf32>
    return %nw : tensor<16x16x3x3xf32>
  }
  func.func @forward(%x: tensor<1x16x4x4xf32> {dla.name = "input"}, %om: tensor<27x16x3x3xf32> {dla.name = "om"}, %bom: tensor<27xf32> {dla.name = "bom"}, %bd: tensor<16xf32> {dla.name = "bd"}) -> (tensor<1x16x4x4xf32> {dla.name = "out"}) {
    %wd = dla.prepared "wd" : tensor<16x16x3x3xf32>
    %d = dla.fused_deform_conv(%x) up [1] offset %om, %bom weight %wd bias %bd relu {dla.tile = #dla.cpu_tile<deform, lanes = 8, tile = [4, 2], block = [1]>} : (tensor<1x16x4x4xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
    return %d : tensor<1x16x4x4xf32>
  }
}
