// RUN: dla-opt %s --split-input-file --dla-fuse-residual-projection | FileCheck %s

// The Tree's project(downsample(x)) feeding the first block's conv2: the
// projection (pool 2, 1x1, folded BN bias) moves into the conv that adds it.
// CHECK-LABEL: func @tree_projection
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[H:[^:]+]]: tensor<1x16x4x4xf32>
// CHECK-SAME: %[[WP:[^:]+]]: tensor<16x8x1x1xf32>, %[[BP:[^:]+]]: tensor<16xf32>
// CHECK-NOT: dla.fused_conv(%[[X]])
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[H]]) pool [1] weight %{{.+}} bias %{{.+}} residual %[[X]] project %[[WP]], %[[BP]] pool 2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x8x8x8xf32> project tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
// CHECK-NEXT: return %[[Y]]
func.func @tree_projection(%x: tensor<1x8x8x8xf32>, %h: tensor<1x16x4x4xf32>, %wp: tensor<16x8x1x1xf32>, %bp: tensor<16xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) -> tensor<1x16x4x4xf32> {
  %r = dla.fused_conv(%x) pool [2] weight %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  return %y : tensor<1x16x4x4xf32>
}

// -----

// Unpooled projections fuse too (pool 1).
// CHECK-LABEL: func @unpooled
// CHECK: dla.fused_conv(%{{.+}}) pool [1] weight %{{.+}} bias %{{.+}} residual %{{.+}} project %{{.+}}, %{{.+}} pool 1 stride
// CHECK-NOT: dla.fused_conv
func.func @unpooled(%x: tensor<1x8x4x4xf32>, %h: tensor<1x16x4x4xf32>, %wp: tensor<16x8x1x1xf32>, %bp: tensor<16xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) -> tensor<1x16x4x4xf32> {
  %r = dla.fused_conv(%x) pool [1] weight %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x4x4xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  return %y : tensor<1x16x4x4xf32>
}

// -----

// Not fused: the projection has a second user; it has a ReLU; it has no
// bias; it is a 3x3 conv; the conv adding it is 1x1 (a Bottleneck's conv3).
// CHECK-LABEL: func @not_fused
// CHECK-NOT: project
// CHECK: return
func.func @not_fused(%x: tensor<1x8x8x8xf32>, %h: tensor<1x16x4x4xf32>, %wp: tensor<16x8x1x1xf32>, %wp3: tensor<16x8x3x3xf32>, %bp: tensor<16xf32>, %w: tensor<16x16x3x3xf32>, %w1: tensor<16x16x1x1xf32>, %b: tensor<16xf32>) -> (tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>) {
  %r1 = dla.fused_conv(%x) pool [2] weight %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y1 = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  %y1b = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r1 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  %r2 = dla.fused_conv(%x) pool [2] weight %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y2 = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  %r3 = dla.fused_conv(%x) pool [2] weight %wp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> -> tensor<1x16x4x4xf32>
  %y3 = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r3 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  %r4 = dla.fused_conv(%x) pool [2] weight %wp3 bias %bp stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y4 = dla.fused_conv(%h) pool [1] weight %w bias %b residual %r4 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  %r5 = dla.fused_conv(%x) pool [2] weight %wp bias %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
  %y5 = dla.fused_conv(%h) pool [1] weight %w1 bias %b residual %r5 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x16x4x4xf32>), tensor<16x16x1x1xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x4x4xf32>
  return %y1, %y1b, %y2, %y3, %y4, %y5 : tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>
}
