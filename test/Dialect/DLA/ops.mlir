// RUN: dla-opt %s --split-input-file | dla-opt --split-input-file | FileCheck %s
// Every dla op parses, verifies, prints and parses back unchanged.

// CHECK-LABEL: func @structural
// CHECK: %[[B:.+]] = dla.base_layer %{{.+}} prefix "base.base_layer" out 16 kernel 7 : tensor<1x3x64x64xf32> -> tensor<1x16x64x64xf32>
// CHECK: %[[L0:.+]] = dla.conv_level %[[B]] prefix "base.level0" out 16 convs 1 stride 1 dilation 1
// CHECK: %[[L1:.+]] = dla.conv_level %[[L0]] prefix "base.level1" out 32 convs 1 stride 2 dilation 1 : tensor<1x16x64x64xf32> -> tensor<1x32x32x32xf32>
// CHECK: %[[L2:.+]] = dla.tree %[[L1]] basic prefix "base.level2" levels 1 out 64 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32
// CHECK: dla.tree %{{.+}} bottleneck prefix "base.level3" levels 2
// CHECK: dla.tree %{{.+}} bottleneckx prefix "base.level4" levels 2 out 256 stride 2 level_root true root_residual true
// CHECK: %[[UP:.+]]:4 = dla.dla_up %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} prefix "dla_up" start 2
// CHECK: %[[Y:.+]] = dla.ida_up %[[UP]]#0, %[[UP]]#1, %[[UP]]#2 prefix "ida_up" out 64
// CHECK: dla.head %[[Y]] prefix "hm" head_conv 256 final_kernel 1 classes 80
// CHECK: dla.head %[[Y]] prefix "wh" head_conv 0 final_kernel 3 classes 2
func.func @structural(%x: tensor<1x3x64x64xf32>) -> (tensor<1x80x16x16xf32>, tensor<1x2x16x16xf32>) {
  %b = dla.base_layer %x prefix "base.base_layer" out 16 kernel 7 : tensor<1x3x64x64xf32> -> tensor<1x16x64x64xf32>
  %l0 = dla.conv_level %b prefix "base.level0" out 16 convs 1 stride 1 dilation 1 : tensor<1x16x64x64xf32> -> tensor<1x16x64x64xf32>
  %l1 = dla.conv_level %l0 prefix "base.level1" out 32 convs 1 stride 2 dilation 1 : tensor<1x16x64x64xf32> -> tensor<1x32x32x32xf32>
  %l2 = dla.tree %l1 basic prefix "base.level2" levels 1 out 64 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x32x32x32xf32> -> tensor<1x64x16x16xf32>
  %l3 = dla.tree %l2 bottleneck prefix "base.level3" levels 2 out 128 stride 2 level_root true root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x64x16x16xf32> -> tensor<1x128x8x8xf32>
  %l4 = dla.tree %l3 bottleneckx prefix "base.level4" levels 2 out 256 stride 2 level_root true root_residual true root_kernel 1 dilation 1 cardinality 32 : tensor<1x128x8x8xf32> -> tensor<1x256x4x4xf32>
  %l5 = dla.tree %l4 basic prefix "base.level5" levels 1 out 512 stride 2 level_root true root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x256x4x4xf32> -> tensor<1x512x2x2xf32>
  %o:4 = dla.dla_up %l0, %l1, %l2, %l3, %l4, %l5 prefix "dla_up" start 2 : tensor<1x16x64x64xf32>, tensor<1x32x32x32xf32>, tensor<1x64x16x16xf32>, tensor<1x128x8x8xf32>, tensor<1x256x4x4xf32>, tensor<1x512x2x2xf32> -> tensor<1x64x16x16xf32>, tensor<1x128x8x8xf32>, tensor<1x256x4x4xf32>, tensor<1x512x2x2xf32>
  %y = dla.ida_up %o#0, %o#1, %o#2 prefix "ida_up" out 64 : tensor<1x64x16x16xf32>, tensor<1x128x8x8xf32>, tensor<1x256x4x4xf32> -> tensor<1x64x16x16xf32>
  %hm = dla.head %y prefix "hm" head_conv 256 final_kernel 1 classes 80 : tensor<1x64x16x16xf32> -> tensor<1x80x16x16xf32>
  %wh = dla.head %y prefix "wh" head_conv 0 final_kernel 3 classes 2 : tensor<1x64x16x16xf32> -> tensor<1x2x16x16xf32>
  return %hm, %wh : tensor<1x80x16x16xf32>, tensor<1x2x16x16xf32>
}

// -----

// CHECK-LABEL: func @classifier
// CHECK: dla.classifier %{{.+}} prefix "" pool 7 classes 1000 : tensor<2x512x7x7xf32> -> tensor<2x1000xf32>
func.func @classifier(%x: tensor<2x512x7x7xf32>) -> tensor<2x1000xf32> {
  %y = dla.classifier %x prefix "" pool 7 classes 1000 : tensor<2x512x7x7xf32> -> tensor<2x1000xf32>
  return %y : tensor<2x1000xf32>
}

// -----

// CHECK-LABEL: func @primitive
// CHECK: dla.param "base.level1.0.weight" : tensor<32x16x3x3xf32>
// CHECK: dla.conv2d %{{.+}}, %{{.+}} stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x4x4xf32>
// CHECK: dla.conv2d %{{.+}}, %{{.+}}, %{{.+}} stride [1, 1] padding [2, 2] dilation [2, 2] groups 16 : tensor<1x32x4x4xf32>, tensor<32x2x3x3xf32>, tensor<32xf32> -> tensor<1x32x4x4xf32>
// CHECK: dla.batch_norm %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} eps 1.000000e-05
// CHECK: dla.relu %{{.+}} : tensor<1x32x4x4xf32>
// CHECK: dla.sigmoid %{{.+}} : tensor<1x32x4x4xf32>
// CHECK: dla.add %{{.+}}, %{{.+}} : tensor<1x32x4x4xf32>
// CHECK: dla.concat %{{.+}}, %{{.+}} : tensor<1x32x4x4xf32>, tensor<1x32x4x4xf32> -> tensor<1x64x4x4xf32>
// CHECK: dla.slice %{{.+}} offset 8 size 16 : tensor<1x64x4x4xf32> -> tensor<1x16x4x4xf32>
// CHECK: dla.max_pool2d %{{.+}} kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x16x4x4xf32> -> tensor<1x16x2x2xf32>
// CHECK: dla.avg_pool2d %{{.+}} kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x16x2x2xf32> -> tensor<1x16x1x1xf32>
// CHECK: dla.flatten %{{.+}} : tensor<1x16x1x1xf32> -> tensor<1x16xf32>
func.func @primitive(%x: tensor<1x16x8x8xf32>) -> tensor<1x16xf32> {
  %w = dla.param "base.level1.0.weight" : tensor<32x16x3x3xf32>
  %c = dla.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x4x4xf32>
  %wg = dla.param "g.weight" : tensor<32x2x3x3xf32>
  %bg = dla.param "g.bias" : tensor<32xf32>
  %g = dla.conv2d %c, %wg, %bg stride [1, 1] padding [2, 2] dilation [2, 2] groups 16 : tensor<1x32x4x4xf32>, tensor<32x2x3x3xf32>, tensor<32xf32> -> tensor<1x32x4x4xf32>
  %bn = dla.batch_norm %g, %bg, %bg, %bg, %bg eps 1.0e-05 : tensor<1x32x4x4xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32> -> tensor<1x32x4x4xf32>
  %r = dla.relu %bn : tensor<1x32x4x4xf32>
  %s = dla.sigmoid %r : tensor<1x32x4x4xf32>
  %a = dla.add %s, %c : tensor<1x32x4x4xf32>
  %cat = dla.concat %a, %r : tensor<1x32x4x4xf32>, tensor<1x32x4x4xf32> -> tensor<1x64x4x4xf32>
  %sl = dla.slice %cat offset 8 size 16 : tensor<1x64x4x4xf32> -> tensor<1x16x4x4xf32>
  %mp = dla.max_pool2d %sl kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x16x4x4xf32> -> tensor<1x16x2x2xf32>
  %ap = dla.avg_pool2d %mp kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x16x2x2xf32> -> tensor<1x16x1x1xf32>
  %f = dla.flatten %ap : tensor<1x16x1x1xf32> -> tensor<1x16xf32>
  return %f : tensor<1x16xf32>
}

// -----

// CHECK-LABEL: func @upsample_and_dcn
// CHECK: dla.conv_transpose2d %{{.+}}, %{{.+}} stride [2, 2] padding [1, 1] output_padding [0, 0] groups 64 : tensor<1x64x8x8xf32>, tensor<64x1x4x4xf32> -> tensor<1x64x16x16xf32>
// CHECK: dla.deform_conv2d %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x64x16x16xf32>, tensor<1x18x16x16xf32>, tensor<1x9x16x16xf32>, tensor<32x64x3x3xf32>, tensor<32xf32> -> tensor<1x32x16x16xf32>
func.func @upsample_and_dcn(%x: tensor<1x64x8x8xf32>, %off: tensor<1x18x16x16xf32>, %m: tensor<1x9x16x16xf32>) -> tensor<1x32x16x16xf32> {
  %wu = dla.param "up.weight" : tensor<64x1x4x4xf32>
  %u = dla.conv_transpose2d %x, %wu stride [2, 2] padding [1, 1] output_padding [0, 0] groups 64 : tensor<1x64x8x8xf32>, tensor<64x1x4x4xf32> -> tensor<1x64x16x16xf32>
  %w = dla.param "dcn.weight" : tensor<32x64x3x3xf32>
  %b = dla.param "dcn.bias" : tensor<32xf32>
  %y = dla.deform_conv2d %u, %off, %m, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x64x16x16xf32>, tensor<1x18x16x16xf32>, tensor<1x9x16x16xf32>, tensor<32x64x3x3xf32>, tensor<32xf32> -> tensor<1x32x16x16xf32>
  return %y : tensor<1x32x16x16xf32>
}

// -----

// Element types other than f32 are accepted by the types.
// CHECK-LABEL: func @half
// CHECK: dla.relu %{{.+}} : tensor<1x8x4x4xf16>
// CHECK: dla.relu %{{.+}} : tensor<1x8x4x4xbf16>
func.func @half(%a: tensor<1x8x4x4xf16>, %b: tensor<1x8x4x4xbf16>) -> (tensor<1x8x4x4xf16>, tensor<1x8x4x4xbf16>) {
  %0 = dla.relu %a : tensor<1x8x4x4xf16>
  %1 = dla.relu %b : tensor<1x8x4x4xbf16>
  return %0, %1 : tensor<1x8x4x4xf16>, tensor<1x8x4x4xbf16>
}

// -----

// The BN fold of a conv without bias (every conv before a BN in DLA).
// CHECK-LABEL: func @fold_bn_no_bias
// CHECK: %[[W:.+]], %[[B:.+]] = dla.fold_batch_norm %arg0 bn(%arg1, %arg2, %arg3, %arg4) eps 1.000000e-05 : tensor<16x3x7x7xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x3x7x7xf32>, tensor<16xf32>
// CHECK: return %[[W]], %[[B]]
func.func @fold_bn_no_bias(%w: tensor<16x3x7x7xf32>, %g: tensor<16xf32>, %beta: tensor<16xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>) -> (tensor<16x3x7x7xf32>, tensor<16xf32>) {
  %nw, %nb = dla.fold_batch_norm %w bn(%g, %beta, %m, %v) eps 1.0e-05 : tensor<16x3x7x7xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x3x7x7xf32>, tensor<16xf32>
  return %nw, %nb : tensor<16x3x7x7xf32>, tensor<16xf32>
}

// -----

// The BN fold of a conv with bias (a DCN's).
// CHECK-LABEL: func @fold_bn_bias
// CHECK: dla.fold_batch_norm %arg0 bias %arg1 bn(%arg2, %arg3, %arg4, %arg5) eps 1.000000e-03 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
func.func @fold_bn_bias(%w: tensor<16x8x3x3xf32>, %b: tensor<16xf32>, %g: tensor<16xf32>, %beta: tensor<16xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>) -> (tensor<16x8x3x3xf32>, tensor<16xf32>) {
  %nw, %nb = dla.fold_batch_norm %w bias %b bn(%g, %beta, %m, %v) eps 1.0e-03 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
  return %nw, %nb : tensor<16x8x3x3xf32>, tensor<16xf32>
}

// -----

// CHECK-LABEL: func @prepared
// CHECK: dla.prepared "base.level0.0.weight:folded_weight" : tensor<16x16x3x3xf32>
func.func @prepared() -> tensor<16x16x3x3xf32> {
  %w = dla.prepared "base.level0.0.weight:folded_weight" : tensor<16x16x3x3xf32>
  return %w : tensor<16x16x3x3xf32>
}

// -----

// A Root with a pooled child, bias, residual and ReLU: every optional part.
// CHECK-LABEL: func @fused_conv_full
// CHECK: dla.fused_conv(%arg0, %arg1) pool [1, 2] weight %arg2 bias %arg3 residual %arg4 stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x64x8x8xf32>, tensor<1x32x16x16xf32>), tensor<64x96x1x1xf32> bias tensor<64xf32> residual tensor<1x64x8x8xf32> -> tensor<1x64x8x8xf32>
func.func @fused_conv_full(%a: tensor<1x64x8x8xf32>, %b: tensor<1x32x16x16xf32>, %w: tensor<64x96x1x1xf32>, %bias: tensor<64xf32>, %r: tensor<1x64x8x8xf32>) -> tensor<1x64x8x8xf32> {
  %y = dla.fused_conv(%a, %b) pool [1, 2] weight %w bias %bias residual %r stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x64x8x8xf32>, tensor<1x32x16x16xf32>), tensor<64x96x1x1xf32> bias tensor<64xf32> residual tensor<1x64x8x8xf32> -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// A projected residual (the Tree's downsample + project, computed in place).
// CHECK-LABEL: func @fused_conv_project
// CHECK: dla.fused_conv(%arg0) pool [1] weight %arg1 bias %arg2 residual %arg3 project %arg4, %arg5 pool 2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x64x8x8xf32>), tensor<64x64x3x3xf32> bias tensor<64xf32> residual tensor<1x32x16x16xf32> project tensor<64x32x1x1xf32>, tensor<64xf32> -> tensor<1x64x8x8xf32>
func.func @fused_conv_project(%h: tensor<1x64x8x8xf32>, %w: tensor<64x64x3x3xf32>, %b: tensor<64xf32>, %x: tensor<1x32x16x16xf32>, %wp: tensor<64x32x1x1xf32>, %bp: tensor<64xf32>) -> tensor<1x64x8x8xf32> {
  %y = dla.fused_conv(%h) pool [1] weight %w bias %b residual %x project %wp, %bp pool 2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x64x8x8xf32>), tensor<64x64x3x3xf32> bias tensor<64xf32> residual tensor<1x32x16x16xf32> project tensor<64x32x1x1xf32>, tensor<64xf32> -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}

// -----

// A tail conv (a CenterNet head's 1x1 conv after the 3x3 conv and ReLU).
// CHECK-LABEL: func @fused_conv_tail
// CHECK: dla.fused_conv(%arg0) pool [1] weight %arg1 bias %arg2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu then %arg3, %arg4 : (tensor<1x64x8x8xf32>), tensor<256x64x3x3xf32> bias tensor<256xf32> then tensor<2x256x1x1xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
func.func @fused_conv_tail(%x: tensor<1x64x8x8xf32>, %w: tensor<256x64x3x3xf32>, %b: tensor<256xf32>, %w2: tensor<2x256x1x1xf32>, %b2: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %y = dla.fused_conv(%x) pool [1] weight %w bias %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu then %w2, %b2 : (tensor<1x64x8x8xf32>), tensor<256x64x3x3xf32> bias tensor<256xf32> then tensor<2x256x1x1xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// No optional part: a plain strided, dilated, grouped conv.
// CHECK-LABEL: func @fused_conv_plain
// CHECK: dla.fused_conv(%arg0) pool [1] weight %arg1 stride [2, 2] padding [2, 2] dilation [2, 2] groups 2 : (tensor<1x16x8x8xf32>), tensor<32x8x3x3xf32> -> tensor<1x32x4x4xf32>
func.func @fused_conv_plain(%x: tensor<1x16x8x8xf32>, %w: tensor<32x8x3x3xf32>) -> tensor<1x32x4x4xf32> {
  %y = dla.fused_conv(%x) pool [1] weight %w stride [2, 2] padding [2, 2] dilation [2, 2] groups 2 : (tensor<1x16x8x8xf32>), tensor<32x8x3x3xf32> -> tensor<1x32x4x4xf32>
  return %y : tensor<1x32x4x4xf32>
}

// -----

// A residual without a bias (a bias-free conv's residual add).
// CHECK-LABEL: func @fused_conv_residual_no_bias
// CHECK: dla.fused_conv(%arg0) pool [1] weight %arg1 residual %arg2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> residual tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
func.func @fused_conv_residual_no_bias(%x: tensor<1x8x8x8xf32>, %w: tensor<16x8x3x3xf32>, %r: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %y = dla.fused_conv(%x) pool [1] weight %w residual %r stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> residual tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// An IDA node: the upsampled projection (up 2, its weight) plus the previous
// level.
// CHECK-LABEL: func @fused_deform_conv_up
// CHECK: dla.fused_deform_conv(%arg0, %arg1) up [2, 1] up_weights(%arg2 : tensor<64x1x4x4xf32>) offset %arg3, %arg4 weight %arg5 bias %arg6 relu : (tensor<1x64x8x8xf32>, tensor<1x64x16x16xf32>), tensor<27x64x3x3xf32>, tensor<27xf32>, tensor<64x64x3x3xf32>, tensor<64xf32> -> tensor<1x64x16x16xf32>
func.func @fused_deform_conv_up(%p: tensor<1x64x8x8xf32>, %prev: tensor<1x64x16x16xf32>, %u: tensor<64x1x4x4xf32>, %wom: tensor<27x64x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<64x64x3x3xf32>, %b: tensor<64xf32>) -> tensor<1x64x16x16xf32> {
  %y = dla.fused_deform_conv(%p, %prev) up [2, 1] up_weights(%u : tensor<64x1x4x4xf32>) offset %wom, %bom weight %w bias %b relu : (tensor<1x64x8x8xf32>, tensor<1x64x16x16xf32>), tensor<27x64x3x3xf32>, tensor<27xf32>, tensor<64x64x3x3xf32>, tensor<64xf32> -> tensor<1x64x16x16xf32>
  return %y : tensor<1x64x16x16xf32>
}

// -----

// A projection: one addend, no upsampling (no up_weights), no ReLU.
// CHECK-LABEL: func @fused_deform_conv_single
// CHECK: dla.fused_deform_conv(%arg0) up [1] offset %arg1, %arg2 weight %arg3 bias %arg4 : (tensor<1x128x8x8xf32>), tensor<27x128x3x3xf32>, tensor<27xf32>, tensor<64x128x3x3xf32>, tensor<64xf32> -> tensor<1x64x8x8xf32>
func.func @fused_deform_conv_single(%x: tensor<1x128x8x8xf32>, %wom: tensor<27x128x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<64x128x3x3xf32>, %b: tensor<64xf32>) -> tensor<1x64x8x8xf32> {
  %y = dla.fused_deform_conv(%x) up [1] offset %wom, %bom weight %w bias %b : (tensor<1x128x8x8xf32>), tensor<27x128x3x3xf32>, tensor<27xf32>, tensor<64x128x3x3xf32>, tensor<64xf32> -> tensor<1x64x8x8xf32>
  return %y : tensor<1x64x8x8xf32>
}
