// RUN: dla-opt %s --split-input-file --dla-expand | FileCheck %s
// RUN: dla-opt %s --split-input-file --dla-to-primitive | FileCheck %s --check-prefix=CLEAN

// A levels-2 tree: the outer `project` is expanded (PyTorch computes it) and
// is dead; the clean pipeline erases it. tree1's own project feeds its blocks.
// CHECK-LABEL: func @deep_tree
// CHECK: dla.max_pool2d %arg0 kernel [2, 2] stride [2, 2]
// CHECK: dla.param "t.project.0.weight" : tensor<32x16x1x1xf32>
// CHECK: dla.param "t.tree1.project.0.weight" : tensor<32x16x1x1xf32>
// CHECK: dla.param "t.tree1.tree1.conv1.weight" : tensor<32x16x3x3xf32>
// CHECK: dla.param "t.tree1.root.conv.weight" : tensor<32x64x1x1xf32>
// The inner root aggregates tree2, tree1 and the level_root child: 32+32+16.
// CHECK: dla.param "t.tree2.root.conv.weight" : tensor<32x112x1x1xf32>
// CHECK-NOT: dla.tree
// CLEAN-LABEL: func @deep_tree
// CLEAN-NOT: "t.project.0.weight"
// CLEAN: dla.param "t.tree1.project.0.weight"
// CLEAN-NOT: "t.project.0.weight"
func.func @deep_tree(%x: tensor<1x16x8x8xf32>) -> tensor<1x32x4x4xf32> {
  %y = dla.tree %x basic prefix "t" levels 2 out 32 stride 2 level_root true root_residual false root_kernel 1 dilation 1 cardinality 1 : tensor<1x16x8x8xf32> -> tensor<1x32x4x4xf32>
  return %y : tensor<1x32x4x4xf32>
}

// -----

// Root with residual: the add of children[0] (x2) comes before the ReLU.
// CHECK-LABEL: func @root_residual
// CLEAN-LABEL: func @root_residual
// CHECK: %[[CAT:.+]] = dla.concat %[[X2:[0-9]+]], %{{.+}} : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
// CHECK: %[[C:.+]] = dla.conv2d %[[CAT]]
// CHECK: %[[BN:.+]] = dla.batch_norm %[[C]]
// CHECK: %[[ADD:.+]] = dla.add %[[BN]], %[[X2]]
// CHECK: dla.relu %[[ADD]]
func.func @root_residual(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %y = dla.tree %x basic prefix "t" levels 1 out 16 stride 1 level_root false root_residual true root_kernel 1 dilation 1 cardinality 1 : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// BottleneckX: 1x1 to out*cardinality/32 channels, grouped 3x3, 1x1 back.
// CHECK-LABEL: func @bottleneckx
// CHECK: dla.param "t.tree1.conv1.weight" : tensor<64x32x1x1xf32>
// CHECK: dla.conv2d %{{.+}}, %{{.+}} stride [2, 2] padding [1, 1] dilation [1, 1] groups 32 : tensor<1x64x8x8xf32>, tensor<64x2x3x3xf32> -> tensor<1x64x4x4xf32>
// CHECK: dla.param "t.tree1.conv3.weight" : tensor<64x64x1x1xf32>
func.func @bottleneckx(%x: tensor<1x32x8x8xf32>) -> tensor<1x64x4x4xf32> {
  %y = dla.tree %x bottleneckx prefix "t" levels 1 out 64 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x32x8x8xf32> -> tensor<1x64x4x4xf32>
  return %y : tensor<1x64x4x4xf32>
}

// -----

// IDAUp: DeformConv proj (offset/mask conv, chunk into o1 | o2 | m, offset =
// cat(o1, o2), mask = sigmoid(m), DCN, BN, ReLU), depthwise transposed conv
// (kernel 2f, stride f, padding f/2), add of the previous layer, node.
// CHECK-LABEL: func @ida_up
// CHECK: %[[OM:.+]] = dla.conv2d %arg1, %{{.+}}, %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x32x2x2xf32>, tensor<27x32x3x3xf32>, tensor<27xf32> -> tensor<1x27x2x2xf32>
// CHECK: %[[O1:.+]] = dla.slice %[[OM]] offset 0 size 9
// CHECK: %[[O2:.+]] = dla.slice %[[OM]] offset 9 size 9
// CHECK: %[[M:.+]] = dla.slice %[[OM]] offset 18 size 9
// CHECK: %[[OFF:.+]] = dla.concat %[[O1]], %[[O2]]
// CHECK: %[[MASK:.+]] = dla.sigmoid %[[M]]
// CHECK: dla.param "ida.proj_1.conv.weight" : tensor<16x32x3x3xf32>
// CHECK: dla.deform_conv2d %arg1, %[[OFF]], %[[MASK]]
// CHECK: dla.param "ida.proj_1.actf.0.weight"
// CHECK: dla.param "ida.up_1.weight" : tensor<16x1x8x8xf32>
// CHECK: %[[UP:.+]] = dla.conv_transpose2d %{{.+}}, %{{.+}} stride [4, 4] padding [2, 2] output_padding [0, 0] groups 16 : tensor<1x16x2x2xf32>, tensor<16x1x8x8xf32> -> tensor<1x16x8x8xf32>
// CHECK: %[[SUM:.+]] = dla.add %[[UP]], %arg0
// CHECK: dla.conv2d %[[SUM]]
// CHECK: dla.param "ida.node_1.conv.weight" : tensor<16x16x3x3xf32>
func.func @ida_up(%a: tensor<1x16x8x8xf32>, %b: tensor<1x32x2x2xf32>) -> tensor<1x16x8x8xf32> {
  %y = dla.ida_up %a, %b prefix "ida" out 16 : tensor<1x16x8x8xf32>, tensor<1x32x2x2xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// DLAUp: ida_0 over the two deepest levels, ida_1 over three, finest first.
// CHECK-LABEL: func @dla_up
// CHECK: "up.ida_0.proj_1.conv.weight" : tensor<16x32x3x3xf32>
// CHECK: "up.ida_1.proj_1.conv.weight" : tensor<8x16x3x3xf32>
// CHECK: "up.ida_1.proj_2.conv.weight" : tensor<8x16x3x3xf32>
// CHECK-NOT: ida_2
// CHECK: return %{{.+}}, %{{.+}}, %arg2
func.func @dla_up(%a: tensor<1x8x8x8xf32>, %b: tensor<1x16x4x4xf32>, %c: tensor<1x32x2x2xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x16x4x4xf32>, tensor<1x32x2x2xf32>) {
  %o:3 = dla.dla_up %a, %b, %c prefix "up" start 0 : tensor<1x8x8x8xf32>, tensor<1x16x4x4xf32>, tensor<1x32x2x2xf32> -> tensor<1x8x8x8xf32>, tensor<1x16x4x4xf32>, tensor<1x32x2x2xf32>
  return %o#0, %o#1, %o#2 : tensor<1x8x8x8xf32>, tensor<1x16x4x4xf32>, tensor<1x32x2x2xf32>
}

// -----

// Heads with and without head_conv; the classifier pools, applies fc, flattens.
// CHECK-LABEL: func @heads
// CHECK: dla.param "hm.0.weight" : tensor<8x16x3x3xf32>
// CHECK: dla.relu
// CHECK: dla.param "hm.2.weight" : tensor<3x8x1x1xf32>
// CHECK: dla.param "reg.weight" : tensor<2x16x3x3xf32>
// CHECK: dla.avg_pool2d %arg0 kernel [4, 4] stride [4, 4] padding [0, 0]
// CHECK: dla.param "fc.weight" : tensor<10x16x1x1xf32>
// CHECK: dla.flatten
func.func @heads(%x: tensor<1x16x4x4xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x10xf32>) {
  %hm = dla.head %x prefix "hm" head_conv 8 final_kernel 1 classes 3 : tensor<1x16x4x4xf32> -> tensor<1x3x4x4xf32>
  %reg = dla.head %x prefix "reg" head_conv 0 final_kernel 3 classes 2 : tensor<1x16x4x4xf32> -> tensor<1x2x4x4xf32>
  %c = dla.classifier %x prefix "" pool 4 classes 10 : tensor<1x16x4x4xf32> -> tensor<1x10xf32>
  return %hm, %reg, %c : tensor<1x3x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x10xf32>
}
