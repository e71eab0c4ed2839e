// RUN: dla-opt %s --split-input-file --dla-fuse-root | FileCheck %s

// A Root of two children: the conv reads both, the concat is gone.
// CHECK-LABEL: func @two_children
// CHECK-SAME: (%[[A:[^:]+]]: tensor<1x16x8x8xf32>, %[[B:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK-NOT: dla.concat
// CHECK: %[[W:.+]] = dla.param "root.conv.weight"
// CHECK-NOT: dla.concat
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[A]], %[[B]]) pool [1, 1] weight %[[W]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>), tensor<16x32x1x1xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.concat
// CHECK: return %[[Y]]
func.func @two_children(%a: tensor<1x16x8x8xf32>, %b: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %cat = dla.concat %a, %b : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
  %w = dla.param "root.conv.weight" : tensor<16x32x1x1xf32>
  %y = dla.conv2d %cat, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x32x8x8xf32>, tensor<16x32x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Three children of different widths (a level_root Root), in order, and the
// conv's bias carried over.
// CHECK-LABEL: func @three_children
// CHECK-SAME: (%[[A:[^:]+]]: tensor<1x16x8x8xf32>, %[[B:[^:]+]]: tensor<1x16x8x8xf32>, %[[C:[^:]+]]: tensor<1x8x8x8xf32>)
// CHECK-NOT: dla.concat
// CHECK-DAG: %[[W:.+]] = dla.param "root.conv.weight"
// CHECK-DAG: %[[BIAS:.+]] = dla.param "root.conv.bias"
// CHECK-NOT: dla.concat
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[A]], %[[B]], %[[C]]) pool [1, 1, 1] weight %[[W]] bias %[[BIAS]] stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>), tensor<16x40x1x1xf32> bias tensor<16xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.concat
// CHECK: return %[[Y]]
func.func @three_children(%a: tensor<1x16x8x8xf32>, %b: tensor<1x16x8x8xf32>, %c: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %cat = dla.concat %a, %b, %c : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32> -> tensor<1x40x8x8xf32>
  %w = dla.param "root.conv.weight" : tensor<16x40x1x1xf32>
  %bias = dla.param "root.conv.bias" : tensor<16xf32>
  %y = dla.conv2d %cat, %w, %bias stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x40x8x8xf32>, tensor<16x40x1x1xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the concat is used elsewhere too, so it exists in memory
// anyway.
// CHECK-LABEL: func @concat_used_elsewhere
// CHECK-NOT: dla.fused_conv
// CHECK: %[[CAT:.+]] = dla.concat
// CHECK: %[[Y:.+]] = dla.conv2d %[[CAT]], %{{.+}} stride [1, 1]
// CHECK-NOT: dla.fused_conv
// CHECK: return %[[Y]], %[[CAT]]
func.func @concat_used_elsewhere(%a: tensor<1x16x8x8xf32>, %b: tensor<1x16x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x32x8x8xf32>) {
  %cat = dla.concat %a, %b : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
  %w = dla.param "root.conv.weight" : tensor<16x32x1x1xf32>
  %y = dla.conv2d %cat, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x32x8x8xf32>, tensor<16x32x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y, %cat : tensor<1x16x8x8xf32>, tensor<1x32x8x8xf32>
}

// -----

// Not a Root: a conv of anything but a concat is left to the epilogue pass.
// CHECK-LABEL: func @no_concat
// CHECK-NOT: dla.fused_conv
// CHECK: dla.conv2d %arg0
func.func @no_concat(%a: tensor<1x32x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x32x1x1xf32>
  %y = dla.conv2d %a, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x32x8x8xf32>, tensor<16x32x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}
