//===- DLAStructuralOps.td - Ops that mirror the model JSON --*- tablegen -*-===//
//
// One op per construct of the JSON model description. They keep the network
// readable as the user wrote it; `dla-expand` rewrites each into primitive ops
// exactly as the PyTorch code of the seed computes it.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_STRUCTURAL_OPS_TD
#define DLA_STRUCTURAL_OPS_TD

include "dialects/DLA/IR/DLABase.td"

class DLA_StructuralOp<string mnemonic, list<Trait> traits = []>
    : DLA_Op<mnemonic, !listconcat(traits, [Pure])>;

def DLA_BaseLayerOp : DLA_StructuralOp<"base_layer"> {
  let summary = "DLA's stem: conv k×k (stride 1, no bias) → BatchNorm → ReLU";
  let description = [{
    `DLA.base_layer`: `nn.Sequential(nn.Conv2d(C, out, k, stride 1,
    padding k//2, bias=False), BatchNorm2d(out), ReLU)`. Parameters:
    `<prefix>.0.weight` and `<prefix>.1.{weight,bias,running_mean,running_var}`.
    The spatial size is unchanged.

    ```mlir
    %0 = dla.base_layer %x prefix "base.base_layer" out 16 kernel 7
           : tensor<1x3x64x64xf32> -> tensor<1x16x64x64xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntPositive]>:$out_channels,
                       ConfinedAttr<I64Attr, [IntPositive]>:$kernel_size);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `prefix` $prefix `out` $out_channels `kernel` $kernel_size attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def DLA_ConvLevelOp : DLA_StructuralOp<"conv_level"> {
  let summary = "DLA's `_make_conv_level`: `convs` × (conv3x3 → BatchNorm → ReLU)";
  let description = [{
    `DLA._make_conv_level(in, out, convs, stride, dilation)`: the first conv
    has the given stride, all have padding = dilation and no bias; module
    indices run 0 (conv), 1 (BN), 2 (ReLU), 3 (conv), ... under `prefix`.

    ```mlir
    %1 = dla.conv_level %0 prefix "base.level1" out 32 convs 1 stride 2 dilation 1
           : tensor<1x16x64x64xf32> -> tensor<1x32x32x32xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntPositive]>:$out_channels,
                       ConfinedAttr<I64Attr, [IntPositive]>:$convs,
                       ConfinedAttr<I64Attr, [IntPositive]>:$stride,
                       ConfinedAttr<I64Attr, [IntPositive]>:$dilation);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `prefix` $prefix `out` $out_channels `convs` $convs `stride` $stride
    `dilation` $dilation attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def DLA_TreeOp : DLA_StructuralOp<"tree"> {
  let summary = "A DLA hierarchical aggregation tree (the seed's `Tree`)";
  let description = [{
    `Tree(levels, block, in, out, stride, level_root, root_dim=0,
    root_kernel_size, dilation, root_residual)`: `levels` = 1 is two blocks
    aggregated by a `Root` (1×1 conv over the concatenation of its children,
    BN, optional residual, ReLU); `levels` > 1 recurses into `tree1` and
    `tree2`, threading the list of children. With `stride` > 1 the input is
    max-pooled (`MaxPool2d(stride, stride)`) for the residual and the
    `level_root` child; when in ≠ out a 1×1 `project` conv + BN maps it to
    `out` channels (dead, though loaded, when `levels` > 1).
    `cardinality` is the group count of BottleneckX blocks.

    ```mlir
    %3 = dla.tree %2 basic prefix "base.level3" levels 2 out 128 stride 2
           level_root true root_residual false root_kernel 1 dilation 1
           cardinality 32 : tensor<1x64x16x16xf32> -> tensor<1x128x8x8xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, DLA_BlockKind:$block, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntPositive]>:$levels,
                       ConfinedAttr<I64Attr, [IntPositive]>:$out_channels,
                       ConfinedAttr<I64Attr, [IntPositive]>:$stride,
                       BoolAttr:$level_root, BoolAttr:$root_residual,
                       ConfinedAttr<I64Attr, [IntPositive]>:$root_kernel_size,
                       ConfinedAttr<I64Attr, [IntPositive]>:$dilation,
                       ConfinedAttr<I64Attr, [IntPositive]>:$cardinality);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input $block `prefix` $prefix `levels` $levels `out` $out_channels
    `stride` $stride `level_root` $level_root `root_residual` $root_residual
    `root_kernel` $root_kernel_size `dilation` $dilation `cardinality` $cardinality
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def DLA_DLAUpOp : DLA_StructuralOp<"dla_up"> {
  let summary = "CenterNet's DLAUp: iterative deep aggregation of the deep levels";
  let description = [{
    `DLAUp(startp, channels[startp:], scales)` applied to all backbone levels.
    For i in 0..n−startp−2 it runs `ida_i` = IDAUp(channels[j],
    in_channels[j:], scales[j:] // scales[j]) with j = −i−2 on the levels
    from n−i−2 on, and collects the last level after each step. Results are
    in order `out[0]` (finest, startp) … `out[n−startp−1]` (the deepest
    level, unchanged); `out[k]` has the channels of level startp+k.
    Parameters live under `<prefix>.ida_<i>.{proj,up,node}_<k>`.

    ```mlir
    %o:4 = dla.dla_up %l0, %l1, %l2, %l3, %l4, %l5 prefix "dla_up" start 2
             : tensor<...>, ... -> tensor<...>, ...
    ```
  }];
  let arguments = (ins Variadic<DLA_Tensor4D>:$levels, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$start_level);
  let results = (outs Variadic<DLA_Tensor4D>:$outputs);
  let assemblyFormat = [{
    $levels `prefix` $prefix `start` $start_level attr-dict
    `:` type($levels) `->` type($outputs)
  }];
  let hasVerifier = 1;
}

def DLA_IDAUpOp : DLA_StructuralOp<"ida_up"> {
  let summary = "CenterNet's IDAUp: project, upsample and aggregate a pyramid";
  let description = [{
    `IDAUp(o, channels, up_f)` with `forward(layers, 0, len(layers))`: for
    i ≥ 1, `layers[i] = node_i(up_i(proj_i(layers[i])) + layers[i−1])`, where
    proj and node are DeformConv (DCNv2 3×3 → BN → ReLU) and up_i a depthwise
    `ConvTranspose2d(o, o, 2f, stride f, padding f//2, groups o)` with
    f = H(layers[0]) / H(layers[i]). The result is the last layer. `layers[0]`
    must already have `o` channels.

    ```mlir
    %y = dla.ida_up %o0, %o1, %o2 prefix "ida_up" out 64
           : tensor<1x64x16x16xf32>, tensor<1x128x8x8xf32>, tensor<1x256x4x4xf32>
           -> tensor<1x64x16x16xf32>
    ```
  }];
  let arguments = (ins Variadic<DLA_Tensor4D>:$layers, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntPositive]>:$out_channels);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $layers `prefix` $prefix `out` $out_channels attr-dict
    `:` type($layers) `->` type($result)
  }];
  let hasVerifier = 1;
}

def DLA_HeadOp : DLA_StructuralOp<"head"> {
  let summary = "A CenterNet output head (hm, wh, reg, ...)";
  let description = [{
    With `head_conv` > 0: `nn.Sequential(Conv2d(C, head_conv, 3, padding 1,
    bias), ReLU, Conv2d(head_conv, classes, final_kernel, padding
    final_kernel//2, bias))`, parameters `<prefix>.0.*` and `<prefix>.2.*`;
    with `head_conv` = 0 a single `Conv2d(C, classes, final_kernel, bias)`
    with parameters `<prefix>.*`.

    ```mlir
    %hm = dla.head %y prefix "hm" head_conv 256 final_kernel 1 classes 80
            : tensor<1x64x16x16xf32> -> tensor<1x80x16x16xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$head_conv,
                       ConfinedAttr<I64Attr, [IntPositive]>:$final_kernel,
                       ConfinedAttr<I64Attr, [IntPositive]>:$classes);
  let results = (outs DLA_Tensor4D:$result);
  let assemblyFormat = [{
    $input `prefix` $prefix `head_conv` $head_conv `final_kernel` $final_kernel
    `classes` $classes attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def DLA_ClassifierOp : DLA_StructuralOp<"classifier"> {
  let summary = "DLA's ImageNet classifier: AvgPool2d(pool_size) → 1×1 fc → flatten";
  let description = [{
    `DLA.forward` with `return_levels=False`: `avgpool = AvgPool2d(pool_size)`,
    `fc = Conv2d(C, classes, 1, bias)`, then `x.view(N, -1)`. The pooled map
    must be 1×1 for the result to be `N × classes`. Parameters
    `<prefix>fc.{weight,bias}`.

    ```mlir
    %logits = dla.classifier %l5 prefix "" pool 7 classes 1000
                : tensor<1x512x7x7xf32> -> tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins DLA_Tensor4D:$input, StrAttr:$prefix,
                       ConfinedAttr<I64Attr, [IntPositive]>:$pool_size,
                       ConfinedAttr<I64Attr, [IntPositive]>:$classes);
  let results = (outs 2DTensorOf<[F32, TF32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $input `prefix` $prefix `pool` $pool_size `classes` $classes attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // DLA_STRUCTURAL_OPS_TD
