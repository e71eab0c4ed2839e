// Tiles whose own sizes are invalid (dla-choose-cpu-tiles.mlir).
module @bad_lanes {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu {dla.tile = #dla.cpu_tile<conv, lanes = 5, tile = [2, 1], block = [4, 4], chunk = 3>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}

// -----

module @bad_block {
  func.func @forward(%x: tensor<1x8x8x8xf32> {dla.name = "input"}, %w: tensor<16x8x3x3xf32> {dla.name = "w"}) -> (tensor<1x16x8x8xf32> {dla.name = "out"}) {
    %a = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu {dla.tile = #dla.cpu_tile<conv, lanes = 8, tile = [2, 1], block = [4], chunk = 3>} : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
    return %a : tensor<1x16x8x8xf32>
  }
}
