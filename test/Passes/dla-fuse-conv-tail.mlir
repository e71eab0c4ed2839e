// RUN: dla-opt %s --split-input-file --dla-fuse-conv-tail | FileCheck %s
// RUN: dla-opt %s --split-input-file --dla-fuse-conv-tail=max-channels=1 | FileCheck %s --check-prefix=MAX1

// A CenterNet head (3x3 conv, ReLU, 1x1 conv to 2 channels): one op.
// CHECK-LABEL: func @head
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x4x4xf32>, %[[W1:[^:]+]]: tensor<16x8x3x3xf32>, %[[B1:[^:]+]]: tensor<16xf32>, %[[W2:[^:]+]]: tensor<2x16x1x1xf32>, %[[B2:[^:]+]]: tensor<2xf32>)
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %[[W1]] bias %[[B1]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu then %[[W2]], %[[B2]] : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> then tensor<2x16x1x1xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
// CHECK-NEXT: return %[[Y]]
// MAX1-LABEL: func @head
// MAX1-NOT: then
func.func @head(%x: tensor<1x8x4x4xf32>, %w1: tensor<16x8x3x3xf32>, %b1: tensor<16xf32>, %w2: tensor<2x16x1x1xf32>, %b2: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %h = dla.fused_conv(%x) pool [1] weight %w1 bias %b1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y = dla.fused_conv(%h) pool [1] weight %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<2x16x1x1xf32> bias tensor<2xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Not fused: more than 8 output channels (hm's classes); a second user of
// the 3x3 conv's output; a 1x1 conv before; a ReLU after; a residual before.
// CHECK-LABEL: func @not_fused
// CHECK-NOT: then
// CHECK: return
func.func @not_fused(%x: tensor<1x8x4x4xf32>, %w1: tensor<16x8x3x3xf32>, %w11: tensor<16x8x1x1xf32>, %b1: tensor<16xf32>, %w9: tensor<9x16x1x1xf32>, %b9: tensor<9xf32>, %w2: tensor<2x16x1x1xf32>, %b2: tensor<2xf32>, %r: tensor<1x16x4x4xf32>) -> (tensor<1x9x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %h1 = dla.fused_conv(%x) pool [1] weight %w1 bias %b1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y1 = dla.fused_conv(%h1) pool [1] weight %w9 bias %b9 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<9x16x1x1xf32> bias tensor<9xf32> -> tensor<1x9x4x4xf32>
  %h2 = dla.fused_conv(%x) pool [1] weight %w1 bias %b1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y2 = dla.fused_conv(%h2) pool [1] weight %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<2x16x1x1xf32> bias tensor<2xf32> -> tensor<1x2x4x4xf32>
  %h3 = dla.fused_conv(%x) pool [1] weight %w11 bias %b1 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x8x4x4xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y3 = dla.fused_conv(%h3) pool [1] weight %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<2x16x1x1xf32> bias tensor<2xf32> -> tensor<1x2x4x4xf32>
  %h4 = dla.fused_conv(%x) pool [1] weight %w1 bias %b1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y4 = dla.fused_conv(%h4) pool [1] weight %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<2x16x1x1xf32> bias tensor<2xf32> -> tensor<1x2x4x4xf32>
  %h5 = dla.fused_conv(%x) pool [1] weight %w1 bias %b1 residual %r stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  %y5 = dla.fused_conv(%h5) pool [1] weight %w2 bias %b2 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<2x16x1x1xf32> bias tensor<2xf32> -> tensor<1x2x4x4xf32>
  return %y1, %y2, %h2, %y3, %y4, %y5 : tensor<1x9x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
