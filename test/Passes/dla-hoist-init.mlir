// RUN: dla-opt %s --split-input-file --verify-diagnostics --dla-hoist-init | FileCheck %s

// A folded BatchNorm moves into @init, which returns the folded weight and
// bias under names derived from the weight's key; @forward reads them back
// with dla.prepared. The BN's parameters leave @forward; a parameter that
// only @forward reads (scale.weight) stays there and is not copied to @init.
// CHECK-LABEL: func.func @init()
// CHECK-SAME: -> (tensor<16x8x3x3xf32> {dla.name = "proj.conv.weight:folded_weight"}, tensor<16xf32> {dla.name = "proj.conv.weight:folded_bias"})
// CHECK-NOT: "scale.weight"
// CHECK-DAG: %[[W:.+]] = dla.param "proj.conv.weight"
// CHECK-DAG: %[[B:.+]] = dla.param "proj.conv.bias"
// CHECK-DAG: %[[G:.+]] = dla.param "proj.actf.0.weight"
// CHECK-DAG: %[[BETA:.+]] = dla.param "proj.actf.0.bias"
// CHECK-DAG: %[[M:.+]] = dla.param "proj.actf.0.running_mean"
// CHECK-DAG: %[[V:.+]] = dla.param "proj.actf.0.running_var"
// CHECK: %[[NW:.+]], %[[NB:.+]] = dla.fold_batch_norm %[[W]] bias %[[B]] bn(%[[G]], %[[BETA]], %[[M]], %[[V]]) eps 1.000000e-05
// CHECK-NOT: "scale.weight"
// CHECK: return %[[NW]], %[[NB]] : tensor<16x8x3x3xf32>, tensor<16xf32>
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK-DAG: %[[PW:.+]] = dla.prepared "proj.conv.weight:folded_weight" : tensor<16x8x3x3xf32>
// CHECK-DAG: %[[PB:.+]] = dla.prepared "proj.conv.weight:folded_bias" : tensor<16xf32>
// CHECK-DAG: %[[S:.+]] = dla.param "scale.weight" : tensor<1x16x8x8xf32>
// CHECK-NOT: dla.fold_batch_norm
// CHECK-NOT: "proj.
// CHECK: %[[C:.+]] = dla.conv2d %[[X]], %[[PW]], %[[PB]] stride [1, 1]
// CHECK: %[[Y:.+]] = dla.add %[[C]], %[[S]]
// CHECK: return %[[Y]]
func.func @forward(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %s = dla.param "scale.weight" : tensor<1x16x8x8xf32>
  %w = dla.param "proj.conv.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "proj.conv.bias" : tensor<16xf32>
  %g = dla.param "proj.actf.0.weight" : tensor<16xf32>
  %beta = dla.param "proj.actf.0.bias" : tensor<16xf32>
  %m = dla.param "proj.actf.0.running_mean" : tensor<16xf32>
  %v = dla.param "proj.actf.0.running_var" : tensor<16xf32>
  %nw, %nb = dla.fold_batch_norm %w bias %b bn(%g, %beta, %m, %v) eps 1.0e-05 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
  %c = dla.conv2d %x, %nw, %nb stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.add %c, %s : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// A parameter read both by a hoisted op and by @forward itself stays in
// @forward (and is cloned into @init); a result only read inside @init is
// not returned; a prepared tensor not made by a fold gets a numbered name.
// CHECK-LABEL: func.func @init()
// CHECK-SAME: -> (tensor<1x16x8x8xf32> {dla.name = "prepared_0"})
// CHECK: %[[P:.+]] = dla.param "shared.weight"
// CHECK: %[[R:.+]] = dla.relu %[[P]]
// CHECK: %[[S:.+]] = dla.sigmoid %[[R]]
// CHECK: return %[[S]] : tensor<1x16x8x8xf32>
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.+]]: tensor<1x16x8x8xf32>)
// CHECK-DAG: %[[PREP:.+]] = dla.prepared "prepared_0"
// CHECK-DAG: %[[FP:.+]] = dla.param "shared.weight"
// CHECK-NOT: dla.relu
// CHECK-NOT: dla.sigmoid
// CHECK: %[[A:.+]] = dla.add %[[X]], %[[PREP]]
// CHECK: %[[B:.+]] = dla.add %[[A]], %[[FP]]
// CHECK: return %[[B]]
func.func @forward(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %p = dla.param "shared.weight" : tensor<1x16x8x8xf32>
  %r = dla.relu %p : tensor<1x16x8x8xf32>
  %s = dla.sigmoid %r : tensor<1x16x8x8xf32>
  %a = dla.add %x, %s : tensor<1x16x8x8xf32>
  %b = dla.add %a, %p : tensor<1x16x8x8xf32>
  return %b : tensor<1x16x8x8xf32>
}

// -----

// Nothing derives from parameters alone: no @init is created.
// CHECK-NOT: func.func @init
// CHECK-LABEL: func.func @forward
// CHECK: %[[W:.+]] = dla.param "c.weight"
// CHECK: dla.conv2d %arg0, %[[W]]
// CHECK-NOT: dla.prepared
// CHECK-NOT: func.func @init
func.func @forward(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %c = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
  return %c : tensor<1x16x8x8xf32>
}

// -----

// A module that already has an @init is rejected rather than merged.
// expected-error @+1 {{dla-hoist-init: the module already has an @init}}
module {
  func.func @init() {
    return
  }
  func.func @forward(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
    %w = dla.param "proj.conv.weight" : tensor<16x8x3x3xf32>
    %b = dla.param "proj.conv.bias" : tensor<16xf32>
    %g = dla.param "proj.actf.0.weight" : tensor<16xf32>
    %beta = dla.param "proj.actf.0.bias" : tensor<16xf32>
    %m = dla.param "proj.actf.0.running_mean" : tensor<16xf32>
    %v = dla.param "proj.actf.0.running_var" : tensor<16xf32>
    %nw, %nb = dla.fold_batch_norm %w bias %b bn(%g, %beta, %m, %v) eps 1.0e-05 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
    %c = dla.conv2d %x, %nw, %nb stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
    return %c : tensor<1x16x8x8xf32>
  }
}
