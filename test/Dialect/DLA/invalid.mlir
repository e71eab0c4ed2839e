// RUN: dla-opt %s --split-input-file --verify-diagnostics
// One case per verifier error of the dla dialect.

func.func @c0(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{needs a non-empty state-dict key}}
  %w = dla.param "" : tensor<4xf32>
  return
}

// -----

func.func @c1(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{must have a static shape}}
  %w = dla.param "w" : tensor<?xf32>
  return
}

// -----

func.func @c2(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{inferred type(s) 'tensor<1x32x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x32x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c3(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{stride must be >= 1, got [0, 2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [0, 2] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c4(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{padding must be >= 0, got [-1, 1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [-1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c5(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{dilation must be >= 1, got [0, 1]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [0, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c6(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+1 {{attribute 'stride' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements}}
  %y = dla.conv2d %x, %w stride [1, 2, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c7(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+1 {{attribute 'groups' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 0 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c8(%x: tensor<1x15x8x8xf32>) {
  %w = dla.param "w" : tensor<33x5x3x3xf32>
  // expected-error @+2 {{input channels (15) must be divisible by groups (2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 2 : tensor<1x15x8x8xf32>, tensor<33x5x3x3xf32> -> tensor<1x33x8x8xf32>
  return
}

// -----

func.func @c9(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<33x8x3x3xf32>
  // expected-error @+2 {{output channels (33) must be divisible by groups (2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 2 : tensor<1x16x8x8xf32>, tensor<33x8x3x3xf32> -> tensor<1x33x8x8xf32>
  return
}

// -----

func.func @c10(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{weight must have 8 input channels (input channels / groups), got 'tensor<32x16x3x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 2 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c11(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  %b = dla.param "b" : tensor<16xf32>
  // expected-error @+2 {{bias must have 32 elements, got 'tensor<16xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w, %b stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32>, tensor<16xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c12(%x: tensor<1x16x2x2xf32>) {
  %w = dla.param "w" : tensor<32x16x5x5xf32>
  // expected-error @+2 {{kernel 5x5 (dilation [1, 1]) does not fit the padded 2x2 input}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : tensor<1x16x2x2xf32>, tensor<32x16x5x5xf32> -> tensor<1x32x1x1xf32>
  return
}

// -----

func.func @c13(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf16>
  // expected-error @+2 {{expects one element type for all tensors, got 'f32' and 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf16> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c14(%x: tensor<1x16x?x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{input must have a static shape, got 'tensor<1x16x?x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x?x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c15(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3xf32>
  // expected-error @+1 {{operand #1 must be 4D tensor of 32-bit float or tf32 type or 16-bit float or bfloat16 type values}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c16(%x: tensor<1x16x8x8xf32>) {
  %p = dla.param "p" : tensor<16xf32>
  %q = dla.param "q" : tensor<8xf32>
  // expected-error @+2 {{mean must have 16 elements (one per channel), got 'tensor<8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.batch_norm %x, %p, %p, %q, %p eps 1.0e-05 : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<8xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c17(%x: tensor<1x16x8x8xf32>) {
  %p = dla.param "p" : tensor<16xf32>
  // expected-error @+2 {{epsilon must be > 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.batch_norm %x, %p, %p, %p, %p eps 0.0 : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c18(%x: tensor<1x16x8x8xf32>, %z: tensor<1x16x4x4xf32>) {
  // expected-error @+1 {{all of {lhs, rhs, result} have same type}}
  %y = "dla.add"(%x, %z) : (tensor<1x16x8x8xf32>, tensor<1x16x4x4xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c19(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %y = "dla.relu"(%x) : (tensor<1x16x8x8xf32>) -> tensor<1x16x8x4xf32>
  return
}

// -----

func.func @c20(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{needs at least one input}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = "dla.concat"() : () -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c21(%x: tensor<1x16x8x8xf32>, %z: tensor<1x16x4x8xf32>) {
  // expected-error @+2 {{input #1 'tensor<1x16x4x8xf32>' must match input #0 in N, H and W, got 'tensor<1x16x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.concat %x, %z : tensor<1x16x8x8xf32>, tensor<1x16x4x8xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c22(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x32x8x8xf32>' are incompatible with return type(s) of operation 'tensor<1x24x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.concat %x, %x : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32> -> tensor<1x24x8x8xf32>
  return
}

// -----

func.func @c23(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{channel range [8, 24) is outside the input's 16 channels}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.slice %x offset 8 size 16 : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c24(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{kernel must be >= 1, got [0, 2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.max_pool2d %x kernel [0, 2] stride [2, 2] padding [0, 0] : tensor<1x16x8x8xf32> -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @c25(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{padding must be at most half the kernel, got padding [2, 2] for kernel [3, 3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.max_pool2d %x kernel [3, 3] stride [1, 1] padding [2, 2] : tensor<1x16x8x8xf32> -> tensor<1x16x10x10xf32>
  return
}

// -----

func.func @c26(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{kernel [9, 9] is larger than the padded 8x8 input}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.avg_pool2d %x kernel [9, 9] stride [9, 9] padding [0, 0] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  return
}

// -----

func.func @c27(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<16x1x4x4xf32>
  // expected-error @+2 {{input channels (16) must be divisible by groups (3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [1, 1] output_padding [0, 0] groups 3 : tensor<1x16x8x8xf32>, tensor<16x1x4x4xf32> -> tensor<1x16x16x16xf32>
  return
}

// -----

func.func @c28(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<8x1x4x4xf32>
  // expected-error @+2 {{weight must have 16 rows (one per input channel, PyTorch's layout), got 'tensor<8x1x4x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x8x8xf32>, tensor<8x1x4x4xf32> -> tensor<1x16x16x16xf32>
  return
}

// -----

func.func @c29(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<16x1x4x4xf32>
  // expected-error @+2 {{output_padding must be in [0, stride), got [2, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [1, 1] output_padding [2, 0] groups 16 : tensor<1x16x8x8xf32>, tensor<16x1x4x4xf32> -> tensor<1x16x16x16xf32>
  return
}

// -----

func.func @c30(%x: tensor<1x16x1x1xf32>) {
  %w = dla.param "w" : tensor<16x1x2x2xf32>
  // expected-error @+2 {{padding [1, 1] leaves no output}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [1, 1] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x1x1xf32>, tensor<16x1x2x2xf32> -> tensor<1x16x1x1xf32>
  return
}

// -----

func.func @c31(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<16x1x4x4xf32>
  // expected-error @+2 {{inferred type(s) 'tensor<1x16x16x16xf32>' are incompatible with return type(s) of operation 'tensor<1x16x17x16xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x8x8xf32>, tensor<16x1x4x4xf32> -> tensor<1x16x17x16xf32>
  return
}

// -----

func.func @c32(%x: tensor<1x16x8x8xf32>, %o: tensor<1x9x8x8xf32>, %m: tensor<1x9x8x8xf32>) {
  %w = dla.param "w" : tensor<8x16x3x3xf32>
  // expected-error @+2 {{offset must be 'tensor<1x18x8x8xf32>' (2 × deformable_groups × kh × kw channels at the output size), got 'tensor<1x9x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.deform_conv2d %x, %o, %m, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x9x8x8xf32>, tensor<1x9x8x8xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @c33(%x: tensor<1x16x8x8xf32>, %o: tensor<1x18x8x8xf32>, %m: tensor<1x9x4x4xf32>) {
  %w = dla.param "w" : tensor<8x16x3x3xf32>
  // expected-error @+2 {{mask must be 'tensor<1x9x8x8xf32>' (deformable_groups × kh × kw channels at the output size), got 'tensor<1x9x4x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.deform_conv2d %x, %o, %m, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x4x4xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @c34(%x: tensor<1x16x8x8xf32>, %o: tensor<1x54x8x8xf32>, %m: tensor<1x27x8x8xf32>) {
  %w = dla.param "w" : tensor<8x16x3x3xf32>
  // expected-error @+2 {{input channels (16) must be divisible by deformable_groups (3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.deform_conv2d %x, %o, %m, %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 deformable_groups 3 : tensor<1x16x8x8xf32>, tensor<1x54x8x8xf32>, tensor<1x27x8x8xf32>, tensor<8x16x3x3xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @c35(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x1024xf32>' are incompatible with return type(s) of operation 'tensor<1x16xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.flatten %x : tensor<1x16x8x8xf32> -> tensor<1x16xf32>
  return
}

// -----

func.func @c36(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{kernel must be odd (padding is kernel/2 and keeps the size), got 4}}
  %y = dla.base_layer %x prefix "base.base_layer" out 16 kernel 4 : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c37(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x32x8x8xf32>' (out channels, same size), got 'tensor<1x16x8x8xf32>'}}
  %y = dla.base_layer %x prefix "base.base_layer" out 32 kernel 7 : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c38(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x32x4x4xf32>' (3x3 convs, the first with the stride), got 'tensor<1x32x8x8xf32>'}}
  %y = dla.conv_level %x prefix "base.level1" out 32 convs 1 stride 2 dilation 1 : tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c39(%x: tensor<1x16x6x6xf32>) {
  // expected-error @+1 {{input size 6x6 must be divisible by the stride 4 (the block's conv and the residual's max-pool would disagree)}}
  %y = dla.tree %x basic prefix "t" levels 1 out 32 stride 4 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x6x6xf32> -> tensor<1x32x1x1xf32>
  return
}

// -----

func.func @c40(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{root_kernel_size must be 1}}
  %y = dla.tree %x basic prefix "t" levels 1 out 32 stride 2 level_root false root_residual false root_kernel 3 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @c41(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{bottleneck blocks need at least 2 output channels}}
  %y = dla.tree %x bottleneck prefix "t" levels 1 out 1 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @c42(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{cardinality 32 must divide the bottleneck width out*cardinality/32 = 48}}
  %y = dla.tree %x bottleneckx prefix "t" levels 1 out 48 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x48x4x4xf32>
  return
}

// -----

func.func @c43(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x32x4x4xf32>' (out channels, size divided by the stride), got 'tensor<1x32x8x8xf32>'}}
  %y = dla.tree %x basic prefix "t" levels 1 out 32 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c44(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{attribute 'levels' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = dla.tree %x basic prefix "t" levels 0 out 32 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @c45(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{start level 1 must leave at least two of the 2 levels}}
  %o = dla.dla_up %x, %z prefix "dla_up" start 1 : tensor<1x16x8x8xf32>, tensor<1x32x4x4xf32> -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @c46(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x3x3xf32>) {
  // expected-error @+1 {{layer #1 ('tensor<1x32x3x3xf32>') must be the first layer ('tensor<1x16x8x8xf32>') downsampled by an even integer factor}}
  %o:2 = dla.dla_up %x, %z prefix "dla_up" start 0 : tensor<1x16x8x8xf32>, tensor<1x32x3x3xf32> -> tensor<1x16x8x8xf32>, tensor<1x32x3x3xf32>
  return
}

// -----

func.func @c47(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{must have 2 results, one per level from 0, got 1}}
  %o = dla.dla_up %x, %z prefix "dla_up" start 0 : tensor<1x16x8x8xf32>, tensor<1x32x4x4xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c48(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{result #1 must have the type of level 1, 'tensor<1x32x4x4xf32>', got 'tensor<1x16x4x4xf32>'}}
  %o:2 = dla.dla_up %x, %z prefix "dla_up" start 0 : tensor<1x16x8x8xf32>, tensor<1x32x4x4xf32> -> tensor<1x16x8x8xf32>, tensor<1x16x4x4xf32>
  return
}

// -----

func.func @c49(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{first layer must have 32 channels (the projected layers are added to it), got 'tensor<1x16x8x8xf32>'}}
  %o = dla.ida_up %x, %z prefix "ida_up" out 32 : tensor<1x16x8x8xf32>, tensor<1x32x4x4xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c50(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x8x8xf32>) {
  // expected-error @+1 {{layer #1 ('tensor<1x32x8x8xf32>') must be the first layer ('tensor<1x16x8x8xf32>') downsampled by an even integer factor}}
  %o = dla.ida_up %x, %z prefix "ida_up" out 16 : tensor<1x16x8x8xf32>, tensor<1x32x8x8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c51(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{needs at least one layer}}
  %o = "dla.ida_up"() <{prefix = "ida_up", out_channels = 16 : i64}> : () -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c52(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x80x9x9xf32>' (classes channels after the final conv), got 'tensor<1x80x8x8xf32>'}}
  %y = dla.head %x prefix "hm" head_conv 256 final_kernel 2 classes 80 : tensor<1x16x8x8xf32> -> tensor<1x80x8x8xf32>
  return
}

// -----

func.func @c53(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{pool size 9 is larger than the 8x8 feature map}}
  %y = dla.classifier %x prefix "" pool 9 classes 10 : tensor<1x16x8x8xf32> -> tensor<1x10xf32>
  return
}

// -----

func.func @c54(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x40xf32>' (N x classes*Hp*Wp after pooling and flattening), got 'tensor<1x10xf32>'}}
  %y = dla.classifier %x prefix "" pool 4 classes 10 : tensor<1x16x8x8xf32> -> tensor<1x10xf32>
  return
}

// -----

func.func @c55(%x: tensor<1x16x?x8xf32>) {
  // expected-error @+1 {{needs static shapes, got 'tensor<1x16x?x8xf32>'}}
  %y = dla.head %x prefix "hm" head_conv 0 final_kernel 1 classes 80 : tensor<1x16x?x8xf32> -> tensor<1x80x8x8xf32>
  return
}

// -----

func.func @c56(%w: tensor<16x8x3x3xf32>, %g: tensor<16xf16>, %v: tensor<16xf32>) {
  // expected-error @+1 {{expects one element type for all tensors, got 'f32' and 'f16'}}
  %nw, %nb = dla.fold_batch_norm %w bias %v bn(%g, %v, %v, %v) eps 1.0e-05 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf16>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
  return
}

// -----

func.func @c57(%w: tensor<16x8x3x3xf32>, %b: tensor<16xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{per-channel operands must have 16 elements (the weight's output channels), got 'tensor<8xf32>'}}
  %nw, %nb = dla.fold_batch_norm %w bias %b bn(%g, %b, %b, %b) eps 1.0e-05 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
  return
}

// -----

func.func @c58(%w: tensor<16x8x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{new weight must have the weight's shape 'tensor<16x8x3x3xf32>'}}
  %nw, %nb = dla.fold_batch_norm %w bias %b bn(%b, %b, %b, %b) eps 1.0e-05 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x1x1xf32>, tensor<16xf32>
  return
}

// -----

func.func @c59(%w: tensor<16x8x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{new bias must have 16 elements}}
  %nw, %nb = dla.fold_batch_norm %w bias %b bn(%b, %b, %b, %b) eps 1.0e-05 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<8xf32>
  return
}

// -----

func.func @c60(%w: tensor<16x8x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{epsilon must be > 0}}
  %nw, %nb = dla.fold_batch_norm %w bias %b bn(%b, %b, %b, %b) eps 0.0 : tensor<16x8x3x3xf32> bias tensor<16xf32> bn(tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<16x8x3x3xf32>, tensor<16xf32>
  return
}

// -----

func.func @c61(%w: tensor<16x8x1x1xf32>) {
  // expected-error @+1 {{needs at least one input}}
  %y = "dla.fused_conv"(%w) <{pool = array<i64>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, operandSegmentSizes = array<i32: 0, 1, 0, 0, 0, 0, 0, 0>}> : (tensor<16x8x1x1xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c62(%a: tensor<1x8x8x8xf32>, %b: tensor<1x8x8x8xf32>, %w: tensor<16x16x1x1xf32>) {
  // expected-error @+1 {{needs one pool factor per input (2), got 1}}
  %y = dla.fused_conv(%a, %b) pool [1] weight %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>), tensor<16x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c63(%a: tensor<1x8x8x8xf32>, %w: tensor<16x8x1x1xf32>) {
  // expected-error @+1 {{pool factors must be >= 1, got 0}}
  %y = dla.fused_conv(%a) pool [0] weight %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c64(%a: tensor<1x8x9x9xf32>, %w: tensor<16x8x1x1xf32>) {
  // expected-error @+1 {{input #0 ('tensor<1x8x9x9xf32>') is not divisible by its pool factor 2}}
  %y = dla.fused_conv(%a) pool [2] weight %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x9x9xf32>), tensor<16x8x1x1xf32> -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @c65(%a: tensor<1x8x8x8xf32>, %b: tensor<1x8x8x8xf32>, %w: tensor<16x16x1x1xf32>) {
  // expected-error @+1 {{input #1 ('tensor<1x8x8x8xf32>', pool 2) does not meet input #0 in N, H and W}}
  %y = dla.fused_conv(%a, %b) pool [1, 2] weight %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>), tensor<16x16x1x1xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c66(%a: tensor<1x8x8x8xf32>, %w: tensor<16x8x1x1xf32>) {
  // expected-error @+1 {{stride and dilation must be >= 1 and padding >= 0}}
  %y = dla.fused_conv(%a) pool [1] weight %w stride [0, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c67(%a: tensor<1x8x8x8xf32>, %b: tensor<1x8x8x8xf32>, %w: tensor<16x8x1x1xf32>) {
  // expected-error @+1 {{weight 'tensor<16x8x1x1xf32>' does not fit 16 input channels in 1 groups}}
  %y = dla.fused_conv(%a, %b) pool [1, 1] weight %w stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @project_pool(%h: tensor<1x16x4x4xf32>, %w: tensor<16x16x3x3xf32>, %x: tensor<1x8x8x8xf32>, %wp: tensor<16x8x1x1xf32>, %bp: tensor<16xf32>) {
  // expected-error @+1 {{residual 'tensor<1x8x8x8xf32>' max-pooled by 4 does not give the result's N, H and W (1, 4, 4)}}
  %y = dla.fused_conv(%h) pool [1] weight %w residual %x project %wp, %bp pool 4 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> residual tensor<1x8x8x8xf32> project tensor<16x8x1x1xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @project_weight(%h: tensor<1x16x4x4xf32>, %w: tensor<16x16x3x3xf32>, %x: tensor<1x8x8x8xf32>, %wp: tensor<16x4x1x1xf32>, %bp: tensor<16xf32>) {
  // expected-error @+1 {{residual weight 'tensor<16x4x1x1xf32>' must be 16x8x1x1 (a 1x1 conv of the residual's 8 channels)}}
  %y = dla.fused_conv(%h) pool [1] weight %w residual %x project %wp, %bp pool 2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> residual tensor<1x8x8x8xf32> project tensor<16x4x1x1xf32>, tensor<16xf32> -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @project_bias(%h: tensor<1x16x4x4xf32>, %w: tensor<16x16x3x3xf32>, %x: tensor<1x8x8x8xf32>, %wp: tensor<16x8x1x1xf32>, %bp: tensor<8xf32>) {
  // expected-error @+1 {{residual bias must have 16 elements}}
  %y = dla.fused_conv(%h) pool [1] weight %w residual %x project %wp, %bp pool 2 stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x16x4x4xf32>), tensor<16x16x3x3xf32> residual tensor<1x8x8x8xf32> project tensor<16x8x1x1xf32>, tensor<8xf32> -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @project_without_residual(%h: tensor<1x16x4x4xf32>, %w: tensor<16x16x3x3xf32>, %wp: tensor<16x8x1x1xf32>, %bp: tensor<16xf32>) {
  // expected-error @+1 {{`project` needs a residual to project}}
  %y = "dla.fused_conv"(%h, %w, %wp, %bp) <{pool = array<i64: 1>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, residual_pool = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 1, 0, 0>}> : (tensor<1x16x4x4xf32>, tensor<16x16x3x3xf32>, tensor<16x8x1x1xf32>, tensor<16xf32>) -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @pool_without_project(%h: tensor<1x16x4x4xf32>, %w: tensor<16x16x3x3xf32>, %r: tensor<1x16x4x4xf32>) {
  // expected-error @+1 {{a residual pool factor needs a residual weight (`project`)}}
  %y = "dla.fused_conv"(%h, %w, %r) <{pool = array<i64: 1>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, residual_pool = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 1, 0, 0, 0, 0>}> : (tensor<1x16x4x4xf32>, tensor<16x16x3x3xf32>, tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @c68(%a: tensor<1x8x8x8xf32>, %w: tensor<16x8x1x1xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias must have 16 elements}}
  %y = dla.fused_conv(%a) pool [1] weight %w bias %b stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> bias tensor<8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c69(%a: tensor<1x8x8x8xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x16x4x4xf32>', got 'tensor<1x16x8x8xf32>'}}
  %y = dla.fused_conv(%a) pool [1] weight %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x3x3xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c70(%a: tensor<1x8x8x8xf32>, %w: tensor<16x8x1x1xf32>, %b: tensor<16xf32>, %r: tensor<1x16x4x4xf32>) {
  // expected-error @+1 {{residual must have the conv's output type 'tensor<1x16x8x8xf32>'}}
  %y = dla.fused_conv(%a) pool [1] weight %w bias %b residual %r stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : (tensor<1x8x8x8xf32>), tensor<16x8x1x1xf32> bias tensor<16xf32> residual tensor<1x16x4x4xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c71(%wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{needs at least one addend}}
  %y = "dla.fused_deform_conv"(%wom, %bom, %w, %b) <{up = array<i64>, operandSegmentSizes = array<i32: 0, 0, 1, 1, 1, 1>}> : (tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c72(%a: tensor<1x16x8x8xf32>, %p: tensor<1x16x8x8xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{needs one up factor per addend (2), got 1}}
  %y = "dla.fused_deform_conv"(%a, %p, %wom, %bom, %w, %b) <{up = array<i64: 1>, operandSegmentSizes = array<i32: 2, 0, 1, 1, 1, 1>}> : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c73(%a: tensor<1x16x4x4xf32>, %p: tensor<1x16x8x8xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{needs one up weight per addend with an up factor > 1}}
  %y = "dla.fused_deform_conv"(%a, %p, %wom, %bom, %w, %b) <{up = array<i64: 2, 1>, operandSegmentSizes = array<i32: 2, 0, 1, 1, 1, 1>}> : (tensor<1x16x4x4xf32>, tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c74(%a: tensor<1x16x8x8xf32>, %p: tensor<1x16x8x8xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{up factors must be >= 1, got 0}}
  %y = "dla.fused_deform_conv"(%a, %p, %wom, %bom, %w, %b) <{up = array<i64: 0, 1>, operandSegmentSizes = array<i32: 2, 0, 1, 1, 1, 1>}> : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c75(%a: tensor<1x16x4x4xf32>, %p: tensor<1x16x8x8xf32>, %u: tensor<16x1x3x3xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{up weight of addend #0 must be 16x1x4x4}}
  %y = dla.fused_deform_conv(%a, %p) up [2, 1] up_weights(%u : tensor<16x1x3x3xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4x4xf32>, tensor<1x16x8x8xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c76(%a: tensor<1x16x4x4xf32>, %p: tensor<1x16x16x16xf32>, %u: tensor<16x1x4x4xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{addend #1 ('tensor<1x16x16x16xf32>', up 1) does not meet addend #0}}
  %y = dla.fused_deform_conv(%a, %p) up [2, 1] up_weights(%u : tensor<16x1x4x4xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4x4xf32>, tensor<1x16x16x16xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c77(%a: tensor<1x16x4x4xf32>, %p: tensor<1x16x8x8xf32>, %u: tensor<16x1x4x4xf32>, %wom: tensor<18x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{offset/mask conv must be 27x16x3x3 with 27 biases (3x3 DCNv2, one deformable group)}}
  %y = dla.fused_deform_conv(%a, %p) up [2, 1] up_weights(%u : tensor<16x1x4x4xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4x4xf32>, tensor<1x16x8x8xf32>), tensor<18x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c78(%a: tensor<1x16x4x4xf32>, %p: tensor<1x16x8x8xf32>, %u: tensor<16x1x4x4xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<32x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{weight must be Ox16x3x3 with O biases}}
  %y = dla.fused_deform_conv(%a, %p) up [2, 1] up_weights(%u : tensor<16x1x4x4xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4x4xf32>, tensor<1x16x8x8xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<32x16x3x3xf32>, tensor<16xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c79(%a: tensor<1x16x4x4xf32>, %p: tensor<1x16x8x8xf32>, %u: tensor<16x1x4x4xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<32x16x3x3xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x32x8x8xf32>', got 'tensor<1x16x8x8xf32>'}}
  %y = dla.fused_deform_conv(%a, %p) up [2, 1] up_weights(%u : tensor<16x1x4x4xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4x4xf32>, tensor<1x16x8x8xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<32x16x3x3xf32>, tensor<32xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

// Hostile attribute and shape values (e.g. 2^63 - 1): the shape arithmetic
// is checked, so each is a clear error instead of signed overflow.

func.func @c80(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{the output size of kernel 3x3 with padding [9223372036854775807, 1] and dilation [1, 1] on the 8x8 input overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [9223372036854775807, 1] dilation [1, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c81(%x: tensor<1x16x8x8xf32>) {
  %w = dla.param "w" : tensor<32x16x3x3xf32>
  // expected-error @+2 {{the output size of kernel 3x3 with padding [1, 1] and dilation [1, 9223372036854775807] on the 8x8 input overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [1, 1] padding [1, 1] dilation [1, 9223372036854775807] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c82(%x: tensor<1x16x8x8xf32>, %w: tensor<32x16x4611686018427387904x3xf32>) {
  // expected-error @+2 {{the output size of kernel 4611686018427387904x3 with padding [1, 1] and dilation [3, 1] on the 8x8 input overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv2d %x, %w stride [9223372036854775807, 1] padding [1, 1] dilation [3, 1] groups 1 : tensor<1x16x8x8xf32>, tensor<32x16x4611686018427387904x3xf32> -> tensor<1x32x1x8xf32>
  return
}

// -----

func.func @c83(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{the output size of kernel [9223372036854775807, 3] with padding [4611686018427387903, 1] on the 8x8 input overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.max_pool2d %x kernel [9223372036854775807, 3] stride [1, 1] padding [4611686018427387903, 1] : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c84(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{padding must be at most half the kernel, got padding [9223372036854775807, 0] for kernel [2, 2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.avg_pool2d %x kernel [2, 2] stride [9223372036854775807, 9223372036854775807] padding [9223372036854775807, 0] : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  return
}

// -----

func.func @c85(%x: tensor<1x16x8x8xf32>, %w: tensor<16x1x4x4xf32>) {
  // expected-error @+2 {{the output size of stride [9223372036854775807, 2], padding [1, 1] and kernel 4x4 on the 8x8 input overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [9223372036854775807, 2] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x8x8xf32>, tensor<16x1x4x4xf32> -> tensor<1x16x16x16xf32>
  return
}

// -----

func.func @c86(%x: tensor<1x16x8x8xf32>, %w: tensor<16x1x4x4xf32>) {
  // expected-error @+2 {{the output size of stride [2, 2], padding [9223372036854775807, 1] and kernel 4x4 on the 8x8 input overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [9223372036854775807, 1] output_padding [0, 0] groups 16 : tensor<1x16x8x8xf32>, tensor<16x1x4x4xf32> -> tensor<1x16x16x16xf32>
  return
}

// -----

func.func @c87(%x: tensor<1x16x8x8xf32>, %w: tensor<16x4611686018427387904x4x4xf32>) {
  // expected-error @+2 {{the output channel count 4611686018427387904 x groups 16 overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [1, 1] output_padding [0, 0] groups 16 : tensor<1x16x8x8xf32>, tensor<16x4611686018427387904x4x4xf32> -> tensor<1x16x16x16xf32>
  return
}

// -----

func.func @c88(%x: tensor<1x16x8x8xf32>, %o: tensor<1x18x1x1xf32>, %m: tensor<1x9x1x1xf32>, %w: tensor<8x16x4611686018427387904x4611686018427387904xf32>) {
  // expected-error @+2 {{the offset channel count 2 x deformable_groups 1 x kernel 4611686018427387904x4611686018427387904 overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.deform_conv2d %x, %o, %m, %w stride [1, 1] padding [2305843009213693952, 2305843009213693952] dilation [1, 1] groups 1 deformable_groups 1 : tensor<1x16x8x8xf32>, tensor<1x18x1x1xf32>, tensor<1x9x1x1xf32>, tensor<8x16x4611686018427387904x4611686018427387904xf32> -> tensor<1x8x9x9xf32>
  return
}

// -----

func.func @c89(%x: tensor<1x4294967296x4294967296x4xf32>) {
  // expected-error @+2 {{the flattened size 4294967296x4294967296x4 overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.flatten %x : tensor<1x4294967296x4294967296x4xf32> -> tensor<1x16xf32>
  return
}

// -----

func.func @c90(%x: tensor<1x9223372036854775807x8x8xf32>, %z: tensor<1x1x8x8xf32>) {
  // expected-error @+2 {{the channel count of the 2 inputs overflows 64-bit integer arithmetic}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.concat %x, %z : tensor<1x9223372036854775807x8x8xf32>, tensor<1x1x8x8xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c91(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+2 {{channel range of 1 channels at offset 9223372036854775807 is outside the input's 16 channels}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = dla.slice %x offset 9223372036854775807 size 1 : tensor<1x16x8x8xf32> -> tensor<1x1x8x8xf32>
  return
}

// -----

func.func @c92(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{the output size of dilation 9223372036854775807 on the 8x8 input overflows 64-bit integer arithmetic}}
  %y = dla.conv_level %x prefix "base.level1" out 32 convs 1 stride 1 dilation 9223372036854775807 : tensor<1x16x8x8xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c93(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{the bottleneck width out*cardinality/32 (4611686018427387904 * 32) overflows 64-bit integer arithmetic}}
  %y = dla.tree %x bottleneckx prefix "t" levels 1 out 4611686018427387904 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x48x4x4xf32>
  return
}

// -----

func.func @c94(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{the output size of final_kernel 9223372036854775807 on the 8x8 input overflows 64-bit integer arithmetic}}
  %y = dla.head %x prefix "hm" head_conv 0 final_kernel 9223372036854775807 classes 2 : tensor<1x16x8x8xf32> -> tensor<1x2x8x8xf32>
  return
}

// -----

func.func @c95(%x: tensor<2x512x8x8xf32>) {
  // expected-error @+1 {{the output size classes*Hp*Wp (4611686018427387904 * 8 * 8) overflows 64-bit integer arithmetic}}
  %y = dla.classifier %x prefix "" pool 1 classes 4611686018427387904 : tensor<2x512x8x8xf32> -> tensor<2x1000xf32>
  return
}

// -----

func.func @c96(%x: tensor<1x16x8x8xf32>, %w: tensor<32x16x3x3xf32>) {
  // expected-error @+1 {{the output size of kernel 3x3 with padding [9223372036854775807, 1] and dilation [1, 1] on the 8x8 input overflows 64-bit integer arithmetic}}
  %y = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [9223372036854775807, 1] dilation [1, 1] groups 1 : (tensor<1x16x8x8xf32>), tensor<32x16x3x3xf32> -> tensor<1x32x8x8xf32>
  return
}

// -----

func.func @c97(%a: tensor<1x16x4x4xf32>, %u: tensor<16x1x4x4xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{up factor 9223372036854775807 of addend #0 overflows 64-bit integer arithmetic}}
  %y = dla.fused_deform_conv(%a) up [9223372036854775807] up_weights(%u : tensor<16x1x4x4xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4x4xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c98(%a: tensor<1x16x4611686018427387904x4xf32>, %u: tensor<16x1x8x8xf32>, %wom: tensor<27x16x3x3xf32>, %bom: tensor<27xf32>, %w: tensor<16x16x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{the upsampled size of addend #0 ('tensor<1x16x4611686018427387904x4xf32>', up 4) overflows 64-bit integer arithmetic}}
  %y = dla.fused_deform_conv(%a) up [4] up_weights(%u : tensor<16x1x8x8xf32>) offset %wom, %bom weight %w bias %b : (tensor<1x16x4611686018427387904x4xf32>), tensor<27x16x3x3xf32>, tensor<27xf32>, tensor<16x16x3x3xf32>, tensor<16xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @c99(%x: tensor<1x16x8x8xf32>, %z: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{start level 9223372036854775807 must leave at least two of the 2 levels}}
  %o = dla.dla_up %x, %z prefix "dla_up" start 9223372036854775807 : tensor<1x16x8x8xf32>, tensor<1x32x4x4xf32> -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @tail_weight(%x: tensor<1x8x4x4xf32>, %w: tensor<16x8x3x3xf32>, %w2: tensor<2x8x1x1xf32>, %b2: tensor<2xf32>) {
  // expected-error @+1 {{tail weight 'tensor<2x8x1x1xf32>' must be Tx16x1x1 (a 1x1 conv of the conv's 16 channels)}}
  %y = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu then %w2, %b2 : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> then tensor<2x8x1x1xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  return
}

// -----

func.func @tail_result(%x: tensor<1x8x4x4xf32>, %w: tensor<16x8x3x3xf32>, %w2: tensor<2x16x1x1xf32>, %b2: tensor<2xf32>) {
  // expected-error @+1 {{result must be 'tensor<1x2x4x4xf32>', got 'tensor<1x16x4x4xf32>'}}
  %y = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu then %w2, %b2 : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> then tensor<2x16x1x1xf32>, tensor<2xf32> -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @tail_bias(%x: tensor<1x8x4x4xf32>, %w: tensor<16x8x3x3xf32>, %w2: tensor<2x16x1x1xf32>, %b2: tensor<3xf32>) {
  // expected-error @+1 {{tail bias must have 2 elements}}
  %y = dla.fused_conv(%x) pool [1] weight %w stride [1, 1] padding [1, 1] dilation [1, 1] groups 1 relu then %w2, %b2 : (tensor<1x8x4x4xf32>), tensor<16x8x3x3xf32> then tensor<2x16x1x1xf32>, tensor<3xf32> -> tensor<1x2x4x4xf32>
  return
}

// -----

// The frontend's limits hold for IR from anywhere: dla-expand would build
// 2^40 blocks.
func.func @tree_levels(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{levels must be 1 to 8, got 40}}
  %y = dla.tree %x basic prefix "t" levels 40 out 32 stride 2 level_root false root_residual false root_kernel 1 dilation 1 cardinality 32 : tensor<1x16x8x8xf32> -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @conv_level_convs(%x: tensor<1x16x8x8xf32>) {
  // expected-error @+1 {{convs must be 1 to 64, got 1000000}}
  %y = dla.conv_level %x prefix "base.level1" out 32 convs 1000000 stride 2 dilation 1 : tensor<1x16x8x8xf32> -> tensor<1x32x4x4xf32>
  return
}
