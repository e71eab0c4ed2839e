// RUN: dla-opt %s --split-input-file --dla-fold-batch-norm | FileCheck %s

// A conv without bias: the fold gets no bias and the conv gains one.
// CHECK-LABEL: func @conv_no_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK-DAG: %[[W:.+]] = dla.param "c.weight"
// CHECK-DAG: %[[G:.+]] = dla.param "bn.weight"
// CHECK-DAG: %[[BETA:.+]] = dla.param "bn.bias"
// CHECK-DAG: %[[M:.+]] = dla.param "bn.running_mean"
// CHECK-DAG: %[[V:.+]] = dla.param "bn.running_var"
// CHECK: %[[NW:.+]], %[[NB:.+]] = dla.fold_batch_norm %[[W]] bn(%[[G]], %[[BETA]], %[[M]], %[[V]]) eps 1.000000e-03 : tensor<16x8x3x3xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
// CHECK: %[[Y:.+]] = dla.conv2d %[[X]], %[[NW]], %[[NB]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1
// CHECK-NOT: dla.batch_norm
// CHECK: return %[[Y]]
func.func @conv_no_bias(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %c = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
  %g = dla.param "bn.weight" : tensor<16xf32>
  %b = dla.param "bn.bias" : tensor<16xf32>
  %m = dla.param "bn.running_mean" : tensor<16xf32>
  %v = dla.param "bn.running_var" : tensor<16xf32>
  %y = dla.batch_norm %c, %g, %b, %m, %v eps 1.0e-03 : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// A conv with bias: the old bias goes into the fold, the new one replaces it.
// CHECK-LABEL: func @conv_bias
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK-DAG: %[[W:.+]] = dla.param "c.weight"
// CHECK-DAG: %[[CB:.+]] = dla.param "c.bias"
// CHECK: %[[NW:.+]], %[[NB:.+]] = dla.fold_batch_norm %[[W]] bias %[[CB]] bn(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) eps 1.000000e-05 : tensor<16x8x1x1xf32> bias tensor<16xf32> bn(
// CHECK: %[[Y:.+]] = dla.conv2d %[[X]], %[[NW]], %[[NB]] stride [2, 2] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
// CHECK-NOT: dla.batch_norm
// CHECK: return %[[Y]]
func.func @conv_bias(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x4x4xf32> {
  %w = dla.param "c.weight" : tensor<16x8x1x1xf32>
  %cb = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %cb stride [2, 2] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
  %g = dla.param "bn.weight" : tensor<16xf32>
  %b = dla.param "bn.bias" : tensor<16xf32>
  %m = dla.param "bn.running_mean" : tensor<16xf32>
  %v = dla.param "bn.running_var" : tensor<16xf32>
  %y = dla.batch_norm %c, %g, %b, %m, %v eps 1.0e-05 : tensor<1x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
  return %y : tensor<1x16x4x4xf32>
}

// -----

// The DCN of a DeformConv (actf.0 is its BN) folds the same way.
// CHECK-LABEL: func @deform_conv
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[OFF:[^:]+]]: tensor<1x18x8x8xf32>, %[[MASK:[^:]+]]: tensor<1x9x8x8xf32>)
// CHECK-DAG: %[[W:.+]] = dla.param "dcn.conv.weight"
// CHECK-DAG: %[[CB:.+]] = dla.param "dcn.conv.bias"
// CHECK: %[[NW:.+]], %[[NB:.+]] = dla.fold_batch_norm %[[W]] bias %[[CB]] bn(
// CHECK: %[[Y:.+]] = dla.deform_conv2d %[[X]], %[[OFF]], %[[MASK]], %[[NW]], %[[NB]] stride [1, 1] padding [1, 1]
// CHECK-NOT: dla.batch_norm
// CHECK: return %[[Y]]
func.func @deform_conv(%x: tensor<1x8x8x8xf32>, %off: tensor<1x18x8x8xf32>, %mask: tensor<1x9x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "dcn.conv.weight" : tensor<16x8x3x3xf32>
  %cb = dla.param "dcn.conv.bias" : tensor<16xf32>
  %c = dla.deform_conv2d %x, %off, %mask, %w, %cb stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x8x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %g = dla.param "dcn.actf.0.weight" : tensor<16xf32>
  %b = dla.param "dcn.actf.0.bias" : tensor<16xf32>
  %m = dla.param "dcn.actf.0.running_mean" : tensor<16xf32>
  %v = dla.param "dcn.actf.0.running_var" : tensor<16xf32>
  %y = dla.batch_norm %c, %g, %b, %m, %v eps 1.0e-05 : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the conv result has a second user, which needs the
// unnormalised value.
// CHECK-LABEL: func @conv_second_user
// CHECK-NOT: dla.fold_batch_norm
// CHECK: %[[C:.+]] = dla.conv2d %{{.+}}, %{{.+}} stride
// CHECK: %[[Y:.+]] = dla.batch_norm %[[C]],
// CHECK-NOT: dla.fold_batch_norm
// CHECK: return %[[Y]], %[[C]]
func.func @conv_second_user(%x: tensor<1x8x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %c = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
  %g = dla.param "bn.weight" : tensor<16xf32>
  %b = dla.param "bn.bias" : tensor<16xf32>
  %m = dla.param "bn.running_mean" : tensor<16xf32>
  %v = dla.param "bn.running_var" : tensor<16xf32>
  %y = dla.batch_norm %c, %g, %b, %m, %v eps 1.0e-05 : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %y, %c : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the BN's input is not a conv (here an add of two maps).
// CHECK-LABEL: func @bn_of_add
// CHECK-NOT: dla.fold_batch_norm
// CHECK: %[[A:.+]] = dla.add %{{.+}}, %{{.+}} : tensor<1x16x8x8xf32>
// CHECK: %[[Y:.+]] = dla.batch_norm %[[A]],
// CHECK-NOT: dla.fold_batch_norm
// CHECK: return %[[Y]]
func.func @bn_of_add(%x: tensor<1x16x8x8xf32>, %r: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %a = dla.add %x, %r : tensor<1x16x8x8xf32>
  %g = dla.param "bn.weight" : tensor<16xf32>
  %b = dla.param "bn.bias" : tensor<16xf32>
  %m = dla.param "bn.running_mean" : tensor<16xf32>
  %v = dla.param "bn.running_var" : tensor<16xf32>
  %y = dla.batch_norm %a, %g, %b, %m, %v eps 1.0e-05 : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}
