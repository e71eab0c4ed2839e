// RUN: dla-opt %s --split-input-file --dla-fuse-deform-conv | FileCheck %s

// CenterNet's DeformConv (proj of IDAUp): the offset/mask conv, its three
// chunks, the sigmoid, the DCN and the ReLU are one op.
// CHECK-LABEL: func @deform_conv
// CHECK-SAME: (%[[X:.+]]: tensor<1x16x8x8xf32>)
// CHECK-DAG: %[[WOM:.+]] = dla.param "proj.conv.conv_offset_mask.weight"
// CHECK-DAG: %[[BOM:.+]] = dla.param "proj.conv.conv_offset_mask.bias"
// CHECK-DAG: %[[W:.+]] = dla.param "proj.conv.weight"
// CHECK-DAG: %[[B:.+]] = dla.param "proj.conv.bias"
// CHECK-NOT: dla.conv2d
// CHECK-NOT: dla.slice
// CHECK-NOT: dla.concat
// CHECK-NOT: dla.sigmoid
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%[[X]]) up [1] offset %[[WOM]], %[[BOM]] weight %[[W]] bias %[[B]] relu : (tensor<1x16x8x8xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<32x16x3x3xf32>, tensor<32xf32> -> tensor<1x32x8x8xf32>
// CHECK-NOT: dla.relu
// CHECK-NOT: dla.deform_conv2d
// CHECK: return %[[Y]]
func.func @deform_conv(%x: tensor<1x16x8x8xf32>) -> tensor<1x32x8x8xf32> {
  %wom = dla.param "proj.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "proj.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "proj.conv.weight" : tensor<32x16x3x3xf32>
  %b = dla.param "proj.conv.bias" : tensor<32xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<32x16x3x3xf32>, tensor<32xf32> -> tensor<1x32x8x8xf32>
  %z = dla.relu %y : tensor<1x32x8x8xf32>
  return %z : tensor<1x32x8x8xf32>
}

// -----

// Without a following ReLU the fused op has none.
// CHECK-LABEL: func @no_relu
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%arg0) up [1] offset %{{.+}}, %{{.+}} weight %{{.+}} bias %{{.+}} :
// CHECK: return %[[Y]]
func.func @no_relu(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// The IDA node's input sum: the add is read on the fly as two addends.
// CHECK-LABEL: func @input_add
// CHECK-SAME: (%[[A:[^:]+]]: tensor<1x16x8x8xf32>, %[[P:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK-NOT: dla.add
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%[[A]], %[[P]]) up [1, 1] offset %{{.+}}, %{{.+}} weight %{{.+}} bias %{{.+}} relu : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.add
// CHECK: return %[[Y]]
func.func @input_add(%a: tensor<1x16x8x8xf32>, %prev: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %x = dla.add %a, %prev : tensor<1x16x8x8xf32>
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// The whole IDA node: up(proj) + layers[i-1] feeding the node's DCN. The
// depthwise transposed conv (kernel 4, stride 2, padding 1, groups C) is an
// up factor 2 with its weight; neither the sum nor the upsampled map remain.
// CHECK-LABEL: func @ida_node
// CHECK-SAME: (%[[P:[^:]+]]: tensor<1x16x4x4xf32>, %[[PREV:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[WU:.+]] = dla.param "up_1.weight"
// CHECK-NOT: dla.conv_transpose2d
// CHECK-NOT: dla.add
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%[[P]], %[[PREV]]) up [2, 1] up_weights(%[[WU]] : tensor<16x1x4x4xf32>) offset %{{.+}}, %{{.+}} weight %{{.+}} bias %{{.+}} relu : (tensor<1x16x4x4xf32>, tensor<1x16x8x8xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.conv_transpose2d
// CHECK: return %[[Y]]
func.func @ida_node(%p: tensor<1x16x4x4xf32>, %prev: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wu = dla.param "up_1.weight" : tensor<16x1x4x4xf32>
  %u = dla.conv_transpose2d %p, %wu stride [2, 2] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x4x4xf32>, tensor<16x1x4x4xf32> -> tensor<1x16x8x8xf32>
  %x = dla.add %u, %prev : tensor<1x16x8x8xf32>
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the mask is not a sigmoid (here a ReLU) of the third chunk.
// CHECK-LABEL: func @mask_not_sigmoid
// CHECK-NOT: dla.fused_deform_conv
// CHECK: %[[M:.+]] = dla.slice %{{.+}} offset 18 size 9
// CHECK: %[[MASK:.+]] = dla.relu %[[M]]
// CHECK: dla.deform_conv2d %arg0, %{{.+}}, %[[MASK]],
// CHECK-NOT: dla.fused_deform_conv
func.func @mask_not_sigmoid(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.relu %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the offsets are cat(o2, o1), not cat(o1, o2).
// CHECK-LABEL: func @offsets_swapped
// CHECK-NOT: dla.fused_deform_conv
// CHECK: %[[O1:.+]] = dla.slice %{{.+}} offset 0 size 9
// CHECK: %[[O2:.+]] = dla.slice %{{.+}} offset 9 size 9
// CHECK: %[[OFF:.+]] = dla.concat %[[O2]], %[[O1]]
// CHECK: dla.deform_conv2d %arg0, %[[OFF]],
// CHECK-NOT: dla.fused_deform_conv
func.func @offsets_swapped(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o2, %o1 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the offset/mask conv reads another map than the DCN.
// CHECK-LABEL: func @offset_conv_other_input
// CHECK-NOT: dla.fused_deform_conv
// CHECK: dla.conv2d %arg1, %{{.+}}, %{{.+}} stride [1, 1] padding [1, 1]
// CHECK: dla.deform_conv2d %arg0,
// CHECK-NOT: dla.fused_deform_conv
func.func @offset_conv_other_input(%x: tensor<1x16x8x8xf32>, %x2: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x2, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: a stride-2 DCN is not CenterNet's form.
// CHECK-LABEL: func @dcn_stride_2
// CHECK-NOT: dla.fused_deform_conv
// CHECK: dla.conv2d %arg0, %{{.+}}, %{{.+}} stride [2, 2] padding [1, 1]
// CHECK: dla.deform_conv2d %arg0, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} stride [2, 2]
// CHECK-NOT: dla.fused_deform_conv
func.func @dcn_stride_2(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x4x4xf32> {
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x4x4xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x4x4xf32> -> tensor<1x9x4x4xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x4x4xf32> -> tensor<1x9x4x4xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x4x4xf32> -> tensor<1x9x4x4xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x4x4xf32>, tensor<1x9x4x4xf32> -> tensor<1x18x4x4xf32>
  %mask = dla.sigmoid %m : tensor<1x9x4x4xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x4x4xf32>, tensor<1x9x4x4xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
  %z = dla.relu %y : tensor<1x16x4x4xf32>
  return %z : tensor<1x16x4x4xf32>
}

// -----

// Must not fire (ReLU): the DCN result has a second user, which needs it
// before the ReLU.
// CHECK-LABEL: func @dcn_second_user
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%arg0) up [1] offset %{{.+}}, %{{.+}} weight %{{.+}} bias %{{.+}} :
// CHECK: %[[Z:.+]] = dla.relu %[[Y]]
// CHECK: return %[[Z]], %[[Y]]
func.func @dcn_second_user(%x: tensor<1x16x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z, %y : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// Must not split: the sum has a second user (the next level reads it), so
// it exists in memory and the fused op reads it as one addend.
// CHECK-LABEL: func @add_second_user
// CHECK-SAME: (%[[A:[^:]+]]: tensor<1x16x8x8xf32>, %[[P:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[X:.+]] = dla.add %[[A]], %[[P]]
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%[[X]]) up [1] offset
// CHECK: return %[[Y]], %[[X]]
func.func @add_second_user(%a: tensor<1x16x8x8xf32>, %prev: tensor<1x16x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %x = dla.add %a, %prev : tensor<1x16x8x8xf32>
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z, %x : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// Must not fire (up): a transposed conv with a bias is not IDAUp's `up`; the
// add still splits and the transposed conv is an ordinary addend.
// CHECK-LABEL: func @up_with_bias
// CHECK-SAME: (%[[P:[^:]+]]: tensor<1x16x4x4xf32>, %[[PREV:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[U:.+]] = dla.conv_transpose2d %[[P]], %{{.+}}, %{{.+}} stride [2, 2]
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%[[U]], %[[PREV]]) up [1, 1] offset
// CHECK: return %[[Y]]
func.func @up_with_bias(%p: tensor<1x16x4x4xf32>, %prev: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wu = dla.param "up_1.weight" : tensor<16x1x4x4xf32>
  %bu = dla.param "up_1.bias" : tensor<16xf32>
  %u = dla.conv_transpose2d %p, %wu, %bu stride [2, 2] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x4x4xf32>, tensor<16x1x4x4xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %x = dla.add %u, %prev : tensor<1x16x8x8xf32>
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// Must not fire (up): a dense (groups 1) transposed conv is not a depthwise
// upsampling.
// CHECK-LABEL: func @up_groups_1
// CHECK-SAME: (%[[P:[^:]+]]: tensor<1x16x4x4xf32>, %[[PREV:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[U:.+]] = dla.conv_transpose2d %[[P]], %{{.+}} stride [2, 2] padding [1, 1] output_padding [0, 0] groups 1
// CHECK: %[[Y:.+]] = dla.fused_deform_conv(%[[U]], %[[PREV]]) up [1, 1] offset
// CHECK: return %[[Y]]
func.func @up_groups_1(%p: tensor<1x16x4x4xf32>, %prev: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %wu = dla.param "up_1.weight" : tensor<16x16x4x4xf32>
  %u = dla.conv_transpose2d %p, %wu stride [2, 2] padding [1, 1] output_padding [0, 0] groups 1 : tensor<1x16x4x4xf32>, tensor<16x16x4x4xf32> -> tensor<1x16x8x8xf32>
  %x = dla.add %u, %prev : tensor<1x16x8x8xf32>
  %wom = dla.param "node.conv.conv_offset_mask.weight" : tensor<27x16x3x3xf32>
  %bom = dla.param "node.conv.conv_offset_mask.bias" : tensor<27xf32>
  %om = dla.conv2d %x, %wom, %bom stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32> -> tensor<1x27x8x8xf32>
  %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %o2 = dla.slice %om offset 9 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %m = dla.slice %om offset 18 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
  %off = dla.concat %o1, %o2 : tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32> -> tensor<1x18x8x8xf32>
  %mask = dla.sigmoid %m : tensor<1x9x8x8xf32>
  %w = dla.param "node.conv.weight" : tensor<16x16x3x3xf32>
  %b = dla.param "node.conv.bias" : tensor<16xf32>
  %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}
