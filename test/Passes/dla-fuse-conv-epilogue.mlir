// RUN: dla-opt %s --split-input-file --dla-fuse-conv-epilogue | FileCheck %s

// Every conv2d becomes a fused_conv with one unpooled input.
// CHECK-LABEL: func @plain_conv
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK-DAG: %[[W:.+]] = dla.param "c.weight"
// CHECK-DAG: %[[B:.+]] = dla.param "c.bias"
// CHECK-NOT: dla.conv2d
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %[[W]] bias %[[B]] stride [2, 2] padding [1, 1] dilation [1, 1] groups 2 : (tensor<1x8x8x8xf32>), tensor<16x4x3x3xf32> bias tensor<16xf32> -> tensor<1x16x4x4xf32>
// CHECK-NOT: dla.conv2d
// CHECK: return %[[Y]]
func.func @plain_conv(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x4x4xf32> {
  %w = dla.param "c.weight" : tensor<16x4x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [2, 2] padding [1, 1] dilation [1, 1] groups 2 : tensor<1x8x8x8xf32>, tensor<16x4x3x3xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
  return %c : tensor<1x16x4x4xf32>
}

// -----

// add(conv, r): the residual fuses.
// CHECK-LABEL: func @residual_rhs
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[R:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} residual %[[R]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> residual tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.add
// CHECK: return %[[Y]]
func.func @residual_rhs(%x: tensor<1x8x8x8xf32>, %r: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.add %c, %r : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// add(r, conv): the residual fuses in the other operand order too.
// CHECK-LABEL: func @residual_lhs
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[R:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} residual %[[R]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK-NOT: dla.add
// CHECK: return %[[Y]]
func.func @residual_lhs(%x: tensor<1x8x8x8xf32>, %r: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.add %r, %c : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// relu(add(conv, r)), a BasicBlock's second half: residual and ReLU fuse.
// CHECK-LABEL: func @residual_then_relu
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[R:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} residual %[[R]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu :
// CHECK-NOT: dla.add
// CHECK-NOT: dla.relu
// CHECK: return %[[Y]]
func.func @residual_then_relu(%x: tensor<1x8x8x8xf32>, %r: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.add %c, %r : tensor<1x16x8x8xf32>
  %z = dla.relu %y : tensor<1x16x8x8xf32>
  return %z : tensor<1x16x8x8xf32>
}

// -----

// relu(conv), a head's first conv: the ReLU fuses.
// CHECK-LABEL: func @relu
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> bias tensor<16xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.relu
// CHECK: return %[[Y]]
func.func @relu(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "hm.0.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "hm.0.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.relu %c : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// A Tree's downsampled `bottom` feeding `project`: the 2x2/2 max-pool is done
// while reading, and the pool op goes away with its only user.
// CHECK-LABEL: func @pool_prologue
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x16x16xf32>)
// CHECK-NOT: dla.max_pool2d
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [2] weight %{{.+}} bias %{{.+}} stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x16x16xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.max_pool2d
// CHECK: return %[[Y]]
func.func @pool_prologue(%x: tensor<1x8x16x16xf32>) -> tensor<1x16x8x8xf32> {
  %mp = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32>
  %w = dla.param "project.0.weight" : tensor<16x8x1x1xf32>
  %b = dla.param "project.0.bias" : tensor<16xf32>
  %c = dla.conv2d %mp, %w, %b stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return %c : tensor<1x16x8x8xf32>
}

// -----

// A Root reading two children of which only the second is pooled: only that
// input gets pool 2.
// CHECK-LABEL: func @pool_one_of_two
// CHECK-SAME: (%[[A:[^:]+]]: tensor<1x8x16x16xf32>, %[[B:[^:]+]]: tensor<1x8x8x8xf32>)
// CHECK-NOT: dla.max_pool2d
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[B]], %[[A]]) pool [1, 2] weight %{{.+}} stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>, tensor<1x8x16x16xf32>), tensor<16x16x1x1xf32> -> tensor<1x16x8x8xf32>
// CHECK-NOT: dla.max_pool2d
// CHECK: return %[[Y]]
func.func @pool_one_of_two(%a: tensor<1x8x16x16xf32>, %b: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %mp = dla.max_pool2d %a kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32>
  %w = dla.param "root.conv.weight" : tensor<16x16x1x1xf32>
  %y = dla.fused_conv(%b, %mp) pool [1, 1] weight %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>), tensor<16x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// A Tree block with a downsampling residual: project(max_pool(x)) is one
// fused conv with pool 2 and becomes the residual of conv2; the max-pool is
// shared by project and the Root, so both read x pooled and it goes away.
// CHECK-LABEL: func @tree_block
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x16x16xf32>)
// CHECK-NOT: dla.max_pool2d
// CHECK: %[[P:.+]] = dla.fused_conv(%[[X]]) pool [2] weight %{{.+}} bias %{{.+}} stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 :
// CHECK: %[[C1:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 relu :
// CHECK: %[[C2:.+]] = dla.fused_conv(%[[C1]]) pool [1] weight %{{.+}} bias %{{.+}} residual %[[P]] stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu :
// CHECK: %[[ROOT:.+]] = dla.fused_conv(%[[C2]], %[[X]]) pool [1, 2] weight
// CHECK-NOT: dla.max_pool2d
// CHECK: return %[[ROOT]]
func.func @tree_block(%x: tensor<1x8x16x16xf32>) -> tensor<1x16x8x8xf32> {
  %mp = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32>
  %wp = dla.param "project.0.weight" : tensor<16x8x1x1xf32>
  %bp = dla.param "project.0.bias" : tensor<16xf32>
  %p = dla.conv2d %mp, %wp, %bp stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %w1 = dla.param "conv1.weight" : tensor<16x8x3x3xf32>
  %b1 = dla.param "conv1.bias" : tensor<16xf32>
  %c1 = dla.conv2d %x, %w1, %b1 stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x16x16xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %r1 = dla.relu %c1 : tensor<1x16x8x8xf32>
  %w2 = dla.param "conv2.weight" : tensor<16x16x3x3xf32>
  %b2 = dla.param "conv2.bias" : tensor<16xf32>
  %c2 = dla.conv2d %r1, %w2, %b2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %a2 = dla.add %c2, %p : tensor<1x16x8x8xf32>
  %r2 = dla.relu %a2 : tensor<1x16x8x8xf32>
  %wr = dla.param "root.conv.weight" : tensor<16x24x1x1xf32>
  %root = dla.fused_conv(%r2, %mp) pool [1, 1] weight %wr stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu : (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>), tensor<16x24x1x1xf32> -> tensor<1x16x8x8xf32>
  return %root : tensor<1x16x8x8xf32>
}

// -----

// A max-pool that has a user besides the conv stays for that user; the conv
// still reads x pooled.
// CHECK-LABEL: func @pool_kept_for_other_user
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x16x16xf32>)
// CHECK: %[[MP:.+]] = dla.max_pool2d %[[X]] kernel [2, 2] stride [2, 2]
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[X]]) pool [2] weight
// CHECK: return %[[Y]], %[[MP]]
func.func @pool_kept_for_other_user(%x: tensor<1x8x16x16xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>) {
  %mp = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32>
  %w = dla.param "project.0.weight" : tensor<16x8x1x1xf32>
  %c = dla.conv2d %mp, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x1x1xf32> -> tensor<1x16x8x8xf32>
  return %c, %mp : tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>
}

// -----

// Must not fire: the conv result has a second user, which needs it without
// the residual, so the add stays.
// CHECK-LABEL: func @residual_conv_second_user
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[R:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[C:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK: %[[Y:.+]] = dla.add %[[C]], %[[R]]
// CHECK: return %[[Y]], %[[C]]
func.func @residual_conv_second_user(%x: tensor<1x8x8x8xf32>, %r: tensor<1x16x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.add %c, %r : tensor<1x16x8x8xf32>
  return %y, %c : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// Must not fire: the conv result has a second user, which needs it before
// the ReLU, so the ReLU stays.
// CHECK-LABEL: func @relu_conv_second_user
// CHECK: %[[C:.+]] = dla.fused_conv(%{{.+}}) pool [1] weight %{{.+}} bias %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK: %[[Y:.+]] = dla.relu %[[C]]
// CHECK: return %[[Y]], %[[C]]
func.func @relu_conv_second_user(%x: tensor<1x8x8x8xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %y = dla.relu %c : tensor<1x16x8x8xf32>
  return %y, %c : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// Must not fire: a ReLU before the add. relu(conv) fuses; the add of the
// rectified conv and r must stay (relu(c) + r is not relu-free c + r).
// CHECK-LABEL: func @relu_before_add
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[R:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[C:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} bias %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu :
// CHECK: %[[Y:.+]] = dla.add %[[C]], %[[R]]
// CHECK: return %[[Y]]
func.func @relu_before_add(%x: tensor<1x8x8x8xf32>, %r: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %b = dla.param "c.bias" : tensor<16xf32>
  %c = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  %a = dla.relu %c : tensor<1x16x8x8xf32>
  %y = dla.add %a, %r : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: a second residual on a conv that already has one stays an
// add.
// CHECK-LABEL: func @second_residual
// CHECK-SAME: (%[[X:[^:]+]]: tensor<1x8x8x8xf32>, %[[R:[^:]+]]: tensor<1x16x8x8xf32>, %[[S:[^:]+]]: tensor<1x16x8x8xf32>)
// CHECK: %[[C:.+]] = dla.fused_conv(%[[X]]) pool [1] weight %{{.+}} residual %[[R]] stride
// CHECK: %[[Y:.+]] = dla.add %[[C]], %[[S]]
// CHECK: return %[[Y]]
func.func @second_residual(%x: tensor<1x8x8x8xf32>, %r: tensor<1x16x8x8xf32>, %s: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %c = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
  %a = dla.add %c, %r : tensor<1x16x8x8xf32>
  %y = dla.add %a, %s : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: add(conv, conv) of the same value is not conv + residual.
// CHECK-LABEL: func @add_same_conv
// CHECK: %[[C:.+]] = dla.fused_conv(%{{.+}}) pool [1] weight %{{.+}} stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 :
// CHECK: %[[Y:.+]] = dla.add %[[C]], %[[C]]
// CHECK: return %[[Y]]
func.func @add_same_conv(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dla.param "c.weight" : tensor<16x8x3x3xf32>
  %c = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
  %y = dla.add %c, %c : tensor<1x16x8x8xf32>
  return %y : tensor<1x16x8x8xf32>
}

// -----

// Must not fire: a max-pool with padding reads -inf outside the map, which
// the prologue does not do.
// CHECK-LABEL: func @pool_with_padding
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK: %[[MP:.+]] = dla.max_pool2d %[[X]] kernel [2, 2] stride [2, 2] padding [1, 1]
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[MP]]) pool [1] weight
// CHECK: return %[[Y]]
func.func @pool_with_padding(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x5x5xf32> {
  %mp = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [1, 1] : tensor<1x8x8x8xf32> -> tensor<1x8x5x5xf32>
  %w = dla.param "project.0.weight" : tensor<16x8x1x1xf32>
  %c = dla.conv2d %mp, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x5x5xf32>, tensor<16x8x1x1xf32> -> tensor<1x16x5x5xf32>
  return %c : tensor<1x16x5x5xf32>
}

// -----

// Must not fire: overlapping windows (kernel 3, stride 2) are not a pool
// factor.
// CHECK-LABEL: func @pool_kernel_not_stride
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x9x9xf32>)
// CHECK: %[[MP:.+]] = dla.max_pool2d %[[X]] kernel [3, 3] stride [2, 2] padding [0, 0]
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[MP]]) pool [1] weight
// CHECK: return %[[Y]]
func.func @pool_kernel_not_stride(%x: tensor<1x8x9x9xf32>) -> tensor<1x16x4x4xf32> {
  %mp = dla.max_pool2d %x kernel [3, 3] stride [2, 2] padding [0, 0] : tensor<1x8x9x9xf32> -> tensor<1x8x4x4xf32>
  %w = dla.param "project.0.weight" : tensor<16x8x1x1xf32>
  %c = dla.conv2d %mp, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32> -> tensor<1x16x4x4xf32>
  return %c : tensor<1x16x4x4xf32>
}

// -----

// Must not fire: a 9x9 map pooled 2x2/2 drops its last row and column (floor
// mode), which a pool factor cannot express.
// CHECK-LABEL: func @pool_not_divisible
// CHECK-SAME: (%[[X:.+]]: tensor<1x8x9x9xf32>)
// CHECK: %[[MP:.+]] = dla.max_pool2d %[[X]] kernel [2, 2] stride [2, 2] padding [0, 0]
// CHECK: %[[Y:.+]] = dla.fused_conv(%[[MP]]) pool [1] weight
// CHECK: return %[[Y]]
func.func @pool_not_divisible(%x: tensor<1x8x9x9xf32>) -> tensor<1x16x4x4xf32> {
  %mp = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x8x9x9xf32> -> tensor<1x8x4x4xf32>
  %w = dla.param "project.0.weight" : tensor<16x8x1x1xf32>
  %c = dla.conv2d %mp, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32> -> tensor<1x16x4x4xf32>
  return %c : tensor<1x16x4x4xf32>
}
