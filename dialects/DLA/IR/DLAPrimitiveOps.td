//===- DLAPrimitiveOps.td - One op per PyTorch module --------*- tablegen -*-===//
//
// Value-semantics ops on ranked NCHW tensors, produced by `dla-expand`. Each
// infers its result type from its operands and attributes (the verifier
// checks the declared type against it), so builders need no result type.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_PRIMITIVE_OPS_TD
#define DLA_PRIMITIVE_OPS_TD

include "dialects/DLA/IR/DLABase.td"

class DLA_PrimOp<string mnemonic, list<Trait> traits = [InferTypeOpAdaptor]>
    : DLA_Op<mnemonic, !listconcat(traits, [Pure])>;

def DLA_ParamOp : DLA_Op<"param", [Pure]> {
  let summary = "A model parameter, named by its PyTorch state-dict key";
  let description = [{
    The tensor stored under `name` in the checkpoint (e.g.
    `base.level3.tree1.root.conv.weight`). The loader checks that the
    checkpoint holds it with exactly this shape. Unused parameters are
    erased by DCE; the loader still accepts their keys.

    ```mlir
    %w = dla.param "base.level0.0.weight" : tensor<16x16x3x3xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs DLA_AnyTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def DLA_Conv2dOp : DLA_PrimOp<"conv2d"> {
  let summary = "2-D convolution (`nn.Conv2d`)";
  let description = [{
    `input` is N×C×H×W, `weight` is O×(C/groups)×kh×kw, the optional `bias`
    has O elements. The result is N×O×Ho×Wo with
    Ho = ⌊(H + 2·pad − dil·(kh − 1) − 1) / stride⌋ + 1 (likewise Wo).
    Attributes are (h, w) pairs.

    ```mlir
    %y = dla.conv2d %x, %w stride [2, 2] padding [1, 1] dilation [1, 1] groups 1
           : tensor<1x16x32x32xf32>, tensor<32x16x3x3xf32> -> tensor<1x32x16x16xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, DLA_Tensor4D:$weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$bias,
                       DLA_Pair:$stride, DLA_Pair:$padding, DLA_Pair:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `stride` $stride `padding` $padding
    `dilation` $dilation `groups` $groups attr-dict
    `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
}

def DLA_BatchNormOp : DLA_PrimOp<"batch_norm"> {
  let summary = "Inference batch normalisation (`nn.BatchNorm2d` in eval mode)";
  let description = [{
    `(x − mean) / sqrt(var + epsilon) · weight + bias` per channel, with the
    running statistics. All four parameters have C elements.

    ```mlir
    %y = dla.batch_norm %x, %g, %b, %m, %v eps 1.0e-05
           : tensor<1x16x8x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>,
             tensor<16xf32> -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, 1DTensorOf<[F32, TF32, F16, BF16]>:$weight,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$bias,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$mean,
                       1DTensorOf<[F32, TF32, F16, BF16]>:$var,
                       ConfinedAttr<F64Attr, [/*epsilon > 0*/]>:$epsilon);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $mean `,` $var `eps` $epsilon attr-dict
    `:` type($input) `,` type($weight) `,` type($bias) `,` type($mean) `,`
    type($var) `->` type($result)
  }];
}

class DLA_UnaryOp<string mnemonic, string torch>
    : DLA_PrimOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "Elementwise " # mnemonic # " (`" # torch # "`)";
  let arguments = (ins DLA_Tensor4D:$input);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def DLA_ReluOp : DLA_UnaryOp<"relu", "nn.ReLU"> {
  let description = [{
    `max(x, 0)`. `relu(relu(x))` folds to `relu(x)`.

    ```mlir
    %y = dla.relu %x : tensor<1x16x8x8xf32>
    ```
  }];
  let hasFolder = 1;
}

def DLA_SigmoidOp : DLA_UnaryOp<"sigmoid", "torch.sigmoid"> {
  let description = [{
    `1 / (1 + exp(−x))`: the DCNv2 modulation mask.

    ```mlir
    %m = dla.sigmoid %x : tensor<1x9x8x8xf32>
    ```
  }];
}

def DLA_AddOp : DLA_PrimOp<"add", [Commutative, AllTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "Elementwise sum of two tensors of one shape (`a + b`)";
  let description = [{
    The residual additions of the blocks and the IDAUp aggregation
    (`up(proj(x)) + layers[i−1]`). No broadcasting.

    ```mlir
    %y = dla.add %a, %b : tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$lhs, DLA_Tensor4D:$rhs);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def DLA_ConcatOp : DLA_PrimOp<"concat"> {
  let summary = "Concatenation along channels (`torch.cat(xs, 1)`)";
  let description = [{
    The Root's input. All inputs share N, H and W and the element type. A
    single input folds to itself.

    ```mlir
    %y = dla.concat %a, %b : tensor<1x16x8x8xf32>, tensor<1x32x8x8xf32>
           -> tensor<1x48x8x8xf32>
    ```
  }];
  let arguments = (ins Variadic<DLA_Tensor4D>:$inputs);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasFolder = 1;
}

def DLA_SliceOp : DLA_PrimOp<"slice"> {
  let summary = "A chunk of channels, [offset, offset + size) (`torch.chunk` part)";
  let description = [{
    Used to split the DCNv2 `conv_offset_mask` output into o1, o2 and the
    mask logits. The full range folds to the input.

    ```mlir
    %o1 = dla.slice %om offset 0 size 9 : tensor<1x27x8x8xf32> -> tensor<1x9x8x8xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$offset,
                       ConfinedAttr<I64Attr, [IntPositive]>:$size);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `offset` $offset `size` $size attr-dict `:` type($input) `->` type($result)
  }];
  let hasFolder = 1;
}

class DLA_PoolOp<string mnemonic, string torch> : DLA_PrimOp<mnemonic> {
  let summary = "2-D " # mnemonic # " (`" # torch # "`, floor mode)";
  let arguments = (ins DLA_Tensor4D:$input, DLA_Pair:$kernel, DLA_Pair:$stride,
                       DLA_Pair:$padding);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `kernel` $kernel `stride` $stride `padding` $padding attr-dict
    `:` type($input) `->` type($result)
  }];
}

def DLA_MaxPool2dOp : DLA_PoolOp<"max_pool2d", "nn.MaxPool2d"> {
  let description = [{
    The Tree's downsampling, `MaxPool2d(stride, stride)`. Padding counts as
    −∞ and must be at most half the kernel.

    ```mlir
    %y = dla.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0]
           : tensor<1x16x8x8xf32> -> tensor<1x16x4x4xf32>
    ```
  }];
}

def DLA_AvgPool2dOp : DLA_PoolOp<"avg_pool2d", "nn.AvgPool2d"> {
  let description = [{
    The classifier's `AvgPool2d(pool_size)`; padding counts in the divisor
    (`count_include_pad=True`).

    ```mlir
    %y = dla.avg_pool2d %x kernel [7, 7] stride [7, 7] padding [0, 0]
           : tensor<1x512x7x7xf32> -> tensor<1x512x1x1xf32>
    ```
  }];
}

def DLA_ConvTranspose2dOp : DLA_PrimOp<"conv_transpose2d"> {
  let summary = "Transposed 2-D convolution (`nn.ConvTranspose2d`)";
  let description = [{
    `weight` is C×(O/groups)×kh×kw (PyTorch's layout); the result is
    N×O×Ho×Wo with Ho = (H − 1)·stride − 2·pad + kh + output_padding. IDAUp's
    upsampling is the depthwise case (groups = C = O, kernel 2f, stride f,
    padding f/2).

    ```mlir
    %y = dla.conv_transpose2d %x, %w stride [2, 2] padding [1, 1]
           output_padding [0, 0] groups 64
           : tensor<1x64x8x8xf32>, tensor<64x1x4x4xf32> -> tensor<1x64x16x16xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, DLA_Tensor4D:$weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$bias,
                       DLA_Pair:$stride, DLA_Pair:$padding,
                       DLA_Pair:$output_padding,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `stride` $stride `padding` $padding
    `output_padding` $output_padding `groups` $groups attr-dict
    `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
}

def DLA_DeformConv2dOp : DLA_PrimOp<"deform_conv2d"> {
  let summary = "Modulated deformable convolution, DCNv2 (`torchvision.ops.deform_conv2d` with `mask`)";
  let description = [{
    `offset` is N×(2·dg·kh·kw)×Ho×Wo, channel 2k holding dy and 2k+1 dx of
    kernel point k (row-major over kh, kw) of deformable group g (k counted
    within the group, groups consecutive); `mask` is N×(dg·kh·kw)×Ho×Wo.
    Input channels are split into `deformable_groups` equal parts. Point
    (i, j) of output (h, w) samples the input bilinearly at
    y = h·stride − pad + i·dil + dy, x = w·stride − pad + j·dil + dx (zero when
    y ≤ −1, y ≥ H, x ≤ −1 or x ≥ W, and zero for corners outside the image),
    times the mask, then a (grouped) weighted sum plus bias.

    ```mlir
    %y = dla.deform_conv2d %x, %off, %mask, %w, %b stride [1, 1] padding [1, 1]
           dilation [1, 1] groups 1 deformable_groups 1
           : tensor<1x64x8x8xf32>, tensor<1x18x8x8xf32>, tensor<1x9x8x8xf32>,
             tensor<32x64x3x3xf32>, tensor<32xf32> -> tensor<1x32x8x8xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, DLA_Tensor4D:$offset,
                       DLA_Tensor4D:$mask, DLA_Tensor4D:$weight,
                       Optional<1DTensorOf<[F32, TF32, F16, BF16]>>:$bias,
                       DLA_Pair:$stride, DLA_Pair:$padding, DLA_Pair:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups,
                       ConfinedAttr<I64Attr, [IntPositive]>:$deformable_groups);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `,` $offset `,` $mask `,` $weight (`,` $bias^)? `stride` $stride
    `padding` $padding `dilation` $dilation `groups` $groups
    `deformable_groups` $deformable_groups attr-dict
    `:` type($input) `,` type($offset) `,` type($mask) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
}

def DLA_FlattenOp : DLA_PrimOp<"flatten"> {
  let summary = "N×C×H×W → N×(C·H·W) (`x.view(x.size(0), -1)`)";
  let description = [{
    The classifier's last step.

    ```mlir
    %y = dla.flatten %x : tensor<1x1000x1x1xf32> -> tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input);
  let results = (outs 2DTensorOf<[F32, TF32, F16, BF16]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

#endif // DLA_PRIMITIVE_OPS_TD
