// RUN: dla-opt %s --split-input-file --dla-lower-to-cpu-kernels --verify-diagnostics

// The CPU kernels build the tile their op carries, or say why they cannot;
// they do not choose one themselves.
module @no_tile {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    // expected-error @+1 {{no dla.tile (run dla-choose-cpu-tiles first)}}
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}

// -----

module @big_chunk {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    // expected-error @+1 {{chunk (9) must be at most the 8 input channels of a group}}
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 9>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}

// -----

module @ragged_columns {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    // expected-error @+1 {{block columns (6) must be a multiple of the tile's 4 pixels}}
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 6], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}

// -----

module @gemm_3x3 {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    // expected-error @+1 {{gemm needs a 1x1 conv without stride, padding, groups, projection or tail}}
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<gemm, lanes = 8, tile = [4, 2], block = [16, 16], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}

// -----

// The target's vector width is 8 (the pass's default): a tile for 16 lanes
// was chosen for another CPU.
module @other_lanes {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    // expected-error @+1 {{the tile's lanes (16) are not the target's vector width (8)}}
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 16, tile = [8, 1], block = [1, 8], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}

// -----

// A weight packed for another tile (the tile changed after
// dla-pack-weights ran): the kernel would read it wrongly, so it says so.
module @stale_layout {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    // expected-error @+1 {{operand #1 is packed #dla.host_layout<oc_block = 8>, which its dla.tile does not read (run dla-pack-weights after changing tiles)}}
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [4, 2], block = [1, 8], chunk = 8>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32, #dla.host_layout<oc_block = 8>> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}
