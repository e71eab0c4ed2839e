// RUN: dla-opt %s --split-input-file --canonicalize | FileCheck %s

// A single-input concat is its input.
// CHECK-LABEL: func @concat_single
// CHECK-NOT: dla.concat
// CHECK: return %arg0
func.func @concat_single(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %y = dla.concat %x : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Must not fold: two inputs.
// CHECK-LABEL: func @concat_two
// CHECK: dla.concat %arg0, %arg0
func.func @concat_two(%x: tensor<1x16x8x8xf32>) -> tensor<1x32x8x8xf32> {
  %y = dla.concat %x, %x : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// relu is idempotent.
// CHECK-LABEL: func @relu_relu
// CHECK: %[[R:.+]] = dla.relu %arg0
// CHECK-NOT: dla.relu
// CHECK: return %[[R]]
func.func @relu_relu(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %a = dla.relu %x : tensor<1x16x8x8xf32>
  %b = dla.relu %a : tensor<1x16x8x8xf32>
  return %b : tensor<1x16x8x8xf32>
}

// -----

// Must not fold: a sigmoid between the relus.
// CHECK-LABEL: func @relu_sigmoid_relu
// CHECK: dla.relu
// CHECK: dla.sigmoid
// CHECK: dla.relu
func.func @relu_sigmoid_relu(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %a = dla.relu %x : tensor<1x16x8x8xf32>
  %s = dla.sigmoid %a : tensor<1x16x8x8xf32>
  %b = dla.relu %s : tensor<1x16x8x8xf32>
  return %b : tensor<1x16x8x8xf32>
}

// -----

// A slice of all channels is its input; a partial one stays.
// CHECK-LABEL: func @slice_full
// CHECK: %[[P:.+]] = dla.slice %arg0 offset 0 size 8
// CHECK: return %arg0, %[[P]]
func.func @slice_full(%x: tensor<1x16x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>) {
  %a = dla.slice %x offset 0 size 16 : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  %b = dla.slice %x offset 0 size 8 : tensor<1x16x8x8xf32> -> tensor<1x8x8x8xf32>
  return %a, %b : tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>
}

// -----

// Unused parameters and pure ops are erased.
// CHECK-LABEL: func @dead
// CHECK-NOT: dla.
// CHECK: return %arg0
func.func @dead(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "unused.weight" : tensor<16x16x1x1xf32>
  %y = dla.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %x : tensor<1x16x8x8xf32>
}
