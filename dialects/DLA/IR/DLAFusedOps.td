//===- DLAFusedOps.td - Fused ops: one kernel each -----------*- tablegen -*-===//
//
// The output of the fusion passes. Each op is one kernel of the generated
// code; its semantics are defined as a composition of primitive ops (the
// reference executor evaluates exactly that composition), so every fusion can
// be checked against the unfused program.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_FUSED_OPS_TD
#define DLA_FUSED_OPS_TD

include "dialects/DLA/IR/DLABase.td"

def DLA_FoldBatchNormOp : DLA_Op<"fold_batch_norm", [Pure]> {
  let summary = "Folds an inference BatchNorm into the preceding conv's weight and bias";
  let description = [{
    With s = weight_bn / sqrt(var + eps): `new_weight[o] = weight[o] · s[o]`
    and `new_bias[o] = (bias[o] − mean[o]) · s[o] + bias_bn[o]` (bias 0 when
    absent). Works for conv (O×I×kh×kw) weights; parameter-only, so the
    pipeline hoists it into `@init`.

    ```mlir
    %w2, %b2 = dla.fold_batch_norm %w bn(%g, %beta, %m, %v) eps 1.0e-05
                 : tensor<16x3x7x7xf32> bn(tensor<16xf32>, tensor<16xf32>,
                   tensor<16xf32>, tensor<16xf32>) -> tensor<16x3x7x7xf32>,
                   tensor<16xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$bias,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$bn_weight,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$bn_bias,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$mean,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$var, F64Attr:$epsilon);
  let results = (outs DLA_Tensor4D:$new_weight,
                      1DTensorOf<[F32, TF32, F16, BF16]>:$new_bias);
  let assemblyFormat = [{
    $weight (`bias` $bias^)? `bn` `(` $bn_weight `,` $bn_bias `,` $mean `,` $var `)`
    `eps` $epsilon attr-dict `:` type($weight) (`bias` type($bias)^)? `bn` `(`
    type($bn_weight) `,` type($bn_bias) `,` type($mean) `,` type($var) `)`
    `->` type($new_weight) `,` type($new_bias)
  }];
  let hasVerifier = 1;
}

def DLA_PreparedOp : DLA_Op<"prepared", [Pure]> {
  let summary = "A tensor computed once by `@init` from the parameters";
  let description = [{
    Reads the result of `@init` whose `dla.name` is `name` (e.g. the folded
    weight of a conv). Forward functions read weights only through
    `dla.param` and `dla.prepared`; `dla-hoist-init` creates these.

    ```mlir
    %w = dla.prepared "base.level0.0.weight.folded" : tensor<16x16x3x3xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs DLA_AnyTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def DLA_FusedConvOp : DLA_Op<"fused_conv", [Pure, AttrSizedOperandSegments]> {
  let summary = "Convolution over several inputs with pooling prologue and bias/residual/ReLU epilogue";
  let description = [{
    One kernel for the regular convolutions of DLA:

    ```
    xi'  = max_pool2d(xi, pool[i], stride pool[i])   (pool[i] = 1: xi itself)
    y    = conv2d(concat(x1', …, xk'), weight, bias) (stride, padding,
                                                       dilation, groups)
    r    = residual                                    (when present)
    r    = conv2d(max_pool2d(residual, q, stride q),   (when `project`:
                  residual_weight, residual_bias)       1x1, q = `pool` of
                                                        the group)
    y    = y + r
    y    = relu(y)                                     (when `relu`)
    y    = conv2d(y, tail_weight, tail_bias)           (when `then`: 1x1)
    ```

    The inputs are never concatenated in memory: W·[x1;…;xk] = Σ Wi·xi, with
    Wi the slice of the weight's input channels that meets xi (the Root of a
    DLA tree). Pooling is done while reading (the Tree's downsampled `bottom`
    feeding `project` and the Root). BatchNorm has been folded into
    `weight` and `bias`.

    With `project`, the residual is a 1x1 projection of a (max-pooled)
    tensor, computed in this kernel rather than materialised: the Tree's
    `project(downsample(x))` feeding its first block's second conv
    (`dla-fuse-residual-projection`, CPU builds). Its BatchNorm is folded
    into `residual_weight` and `residual_bias`.

    With `then`, a 1x1 conv with few output channels follows (a CenterNet
    head's `wh` and `reg`: 3x3 conv, ReLU, 1x1 conv to 2 channels); the
    result has its channels, and the wide intermediate map is never
    written (`dla-fuse-conv-tail`, CPU builds).

    ```mlir
    %y = dla.fused_conv (%a, %b) pool [1, 2] weight %w bias %bias residual %r
           stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 relu
           : (tensor<1x64x8x8xf32>, tensor<1x32x16x16xf32>), tensor<64x96x1x1xf32>
             bias tensor<64xf32> residual tensor<1x64x8x8xf32> -> tensor<1x64x8x8xf32>


    A projected residual (the Tree's downsample + project):

    ```mlir
    %y = dla.fused_conv (%h) pool [1] weight %w2 bias %b2 residual %x
           project %wp, %bp pool 2 stride [1, 1] padding [1, 1]
           dilation [1, 1] groups 1 relu
           : (tensor<1x64x8x8xf32>), tensor<64x64x3x3xf32> bias tensor<64xf32>
             residual tensor<1x32x16x16xf32> project tensor<64x32x1x1xf32>,
             tensor<64xf32> -> tensor<1x64x8x8xf32>
    ```
  }];
  let arguments = (ins Variadic<DLA_Tensor4D>:$inputs, DLA_Tensor4D:$weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$bias,
                       Optional<DLA_Tensor4D>:$residual,
                       Optional<DLA_Tensor4D>:$residual_weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$residual_bias,
                       DenseI64ArrayAttr:$pool,
                       DLA_Pair:$stride, DLA_Pair:$padding, DLA_Pair:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups,
                       Optional<DLA_Tensor4D>:$tail_weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$tail_bias,
                       UnitAttr:$relu,
                       DefaultValuedAttr<I64Attr, "1">:$residual_pool);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    `(` $inputs `)` `pool` $pool `weight` $weight (`bias` $bias^)?
    (`residual` $residual^)?
    (`project` $residual_weight^ `,` $residual_bias `pool` $residual_pool)?
    `stride` $stride `padding` $padding
    `dilation` $dilation `groups` $groups (`relu` $relu^)?
    (`then` $tail_weight^ `,` $tail_bias)? attr-dict
    `:` `(` type($inputs) `)` `,` type($weight) (`bias` type($bias)^)?
    (`residual` type($residual)^)?
    (`project` type($residual_weight)^ `,` type($residual_bias))?
    (`then` type($tail_weight)^ `,` type($tail_bias))? `->` type($result)
  }];
  let hasVerifier = 1;
}

def DLA_FusedDeformConvOp : DLA_Op<"fused_deform_conv", [Pure,
    AttrSizedOperandSegments]> {
  let summary = "CenterNet's DeformConv in one kernel: input sum, offsets, mask, sampling, GEMM, epilogue";
  let description = [{
    ```
    x    = Σ_i ai'  with ai' = conv_transpose2d(ai, up_weight_j, stride f,
                    padding f/2, groups C) when up[i] = f > 1, else ai
    om   = conv2d(x, offset_weight, offset_bias, 3×3, padding 1)   (27 ch)
    off  = om[0:18]   (= cat(o1, o2) of torch.chunk(om, 3))
    mask = sigmoid(om[18:27])
    y    = deform_conv2d(x, off, mask, weight, bias, 3×3, stride 1, pad 1)
    y    = relu(y)    (when `relu`)
    ```

    BatchNorm has been folded into `weight` and `bias`. The IDAUp sum
    `up(proj(x)) + layers[i−1]` feeding a node is read on the fly, the
    depthwise upsampling computed while reading: neither the sum nor the
    upsampled map is materialised, and there is no im2col buffer.
    `up_weights` holds one weight per addend with `up` > 1, in order.

    ```mlir
    %y = dla.fused_deform_conv (%p, %prev) up [2, 1]
           up_weights (%u : tensor<64x1x4x4xf32>)
           offset %wom, %bom weight %w bias %b relu
           : (tensor<1x64x8x8xf32>, tensor<1x64x16x16xf32>),
             tensor<27x64x3x3xf32>, tensor<27xf32>, tensor<64x64x3x3xf32>,
             tensor<64xf32> -> tensor<1x64x16x16xf32>
    ```
  }];
  let arguments = (ins Variadic<DLA_Tensor4D>:$addends,
                       Variadic<DLA_Tensor4D>:$up_weights,
                       DLA_Tensor4D:$offset_weight,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$offset_bias,
                       DLA_Tensor4D:$weight, 1DTensorOf<[F32, TF32, F16, BF16]>:$bias,
                       DenseI64ArrayAttr:$up, UnitAttr:$relu);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    `(` $addends `)` `up` $up (`up_weights` `(` $up_weights^ `:` type($up_weights) `)`)?
    `offset` $offset_weight `,` $offset_bias `weight` $weight `bias` $bias
    (`relu` $relu^)? attr-dict
    `:` `(` type($addends) `)` `,`
    type($offset_weight) `,` type($offset_bias) `,` type($weight) `,` type($bias)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // DLA_FUSED_OPS_TD
