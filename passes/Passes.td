//===- Passes.td - dla passes --------------------------------*- tablegen -*-===//

#ifndef DLA_PASSES_TD
#define DLA_PASSES_TD

include "mlir/Pass/PassBase.td"

def DLAExpandPass : Pass<"dla-expand"> {
  let summary = "Expand structural dla ops into primitive ops, as PyTorch computes them";
  let description = [{
    Rewrites every structural op (`dla.base_layer`, `dla.conv_level`,
    `dla.tree`, `dla.dla_up`, `dla.ida_up`, `dla.head`, `dla.classifier`)
    into the primitive ops the seed's PyTorch modules execute, in the same
    order, with one `dla.param` per state-dict entry named by its exact key.

    The expansion is literal on purpose: every later optimisation (BN
    folding, Root fusion, DCN fusion) is a separate pass whose effect can be
    checked against this faithful form with the reference executor. In
    particular the outer `project` of a Tree with levels > 1 is expanded
    although its result is dead, exactly as PyTorch computes it;
    canonicalization erases it (its parameters stay accepted by the loader).

    Example (`dla.head` with head_conv 0):

    ```mlir
    %y = dla.head %x prefix "reg" head_conv 0 final_kernel 1 classes 2 : ...
    // becomes
    %w = dla.param "reg.weight" : tensor<2x64x1x1xf32>
    %b = dla.param "reg.bias" : tensor<2xf32>
    %y = dla.conv2d %x, %w, %b stride [1, 1] padding [0, 0] dilation [1, 1] groups 1 : ...
    ```
  }];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [
    Statistic<"numExpanded", "num-expanded", "Structural ops expanded">,
    Statistic<"numParams", "num-params", "Parameters (dla.param) created">
  ];
}

def DLAFoldBatchNormPass : Pass<"dla-fold-batch-norm"> {
  let summary = "Fold inference BatchNorms into the preceding convolution";
  let description = [{
    `batch_norm(conv2d(x, w, b))` becomes `conv2d(x, w', b')` with
    `w', b' = dla.fold_batch_norm(w, b, bn...)`, and likewise for
    `deform_conv2d`. The fold is parameter-only: `dla-hoist-init` moves it
    into `@init`, so the forward pass does no work on weights.

    Preconditions (the pattern does not fire otherwise):
    1. the BatchNorm's input is a conv2d or deform_conv2d result;
    2. that result has no other user (a second user needs the unnormalised
       value).
  }];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [Statistic<"numFolded", "num-folded", "BatchNorms folded">];
}

def DLAFuseRootPass : Pass<"dla-fuse-root"> {
  let summary = "Read a Root's children directly instead of their concatenation";
  let description = [{
    `conv2d(concat(x1, …, xk), w, b)` becomes one `dla.fused_conv` whose
    inputs are x1…xk: W·[x1;…;xk] = Σ Wi·xi, so the concatenation of the
    Tree's children is never materialised.

    Preconditions: the concat's only user is the conv (a concat used
    elsewhere must exist in memory anyway).
  }];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [Statistic<"numFused", "num-fused", "Concats fused into convs">];
}

def DLAFuseConvEpiloguePass : Pass<"dla-fuse-conv-epilogue"> {
  let summary = "Fuse residual adds, ReLUs and max-pool prologues into convolutions";
  let description = [{
    Every `conv2d` becomes a `dla.fused_conv`, which then absorbs, while
    the result has a single user:
    1. `add(conv, r)`: the residual (any operand order), when no residual
       and no ReLU is fused yet;
    2. `relu(conv)`;
    3. `max_pool2d(x, k, stride k)` feeding an input: the pooling is done
       while reading (the Tree's downsampled `bottom` for `project` and the
       Root), when that input is not pooled already. The max-pool op itself
       stays while it has other users.
  }];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [Statistic<"numFused", "num-fused", "Ops fused into convs">];
}

def DLAFuseResidualProjectionPass : Pass<"dla-fuse-residual-projection"> {
  let summary = "Compute a Tree's projected residual inside the conv that adds it (CPU builds)";
  let description = [{
    `fused_conv(..., residual fused_conv(x pool q, Wp, bp))`, where the
    residual is a single-use 1x1 conv (stride 1, no padding, one input, a
    bias, no residual, no ReLU: the Tree's `project(downsample(x))` with
    its BatchNorm folded), becomes `fused_conv(..., residual x project Wp,
    bp pool q)`: the projection is computed by the kernel that adds it, so
    the projected map is never written and the pooled input is read once.
    Only convs with a kernel larger than 1x1 take it (the BasicBlock's
    second conv; a Bottleneck's 1x1 `conv3` keeps its separate projection).

    The host's CPU kernels implement it; the GPU kernels do not, so the
    pass does nothing in a module whose `dla.target` has a GPU part (a
    CUDA build): the one answer of
    `targetImplements` (codegen/Target.h).
  }];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [Statistic<"numFused", "num-fused", "Projections fused into convs">];
}

def DLAFuseConvTailPass : Pass<"dla-fuse-conv-tail"> {
  let summary = "Fuse a 1x1 conv with few output channels into the conv before it (CPU builds)";
  let description = [{
    `fused_conv(fused_conv(x, W1, b1, relu), W2, b2)`, where the second is a
    1x1 conv (stride 1, no padding, no pooling, no residual, no ReLU, a
    bias) with at most `max-channels` outputs and the only user of the
    first, becomes `fused_conv(x, W1, b1, relu then W2, b2)`: a CenterNet
    head's `wh` and `reg` (3x3 conv to 256 channels, ReLU, 1x1 conv to 2).
    The wide map between them is never written: a 1x1 conv to 2 channels
    reads 256 channels per pixel for 512 FLOPs, about one FLOP per byte, so
    on its own it is bound by memory; inside the first conv it costs a
    few dot products per pixel. Wide tails (`hm`'s 80 classes) stay separate
    kernels, which reach the FMA peak on their own. The first conv must be
    larger than 1x1, without groups, residual or projection.

    The host's CPU kernels implement it; the GPU kernels do not, so the
    pass does nothing in a module whose `dla.target` has a GPU part (a
    CUDA build): the one answer of
    `targetImplements` (codegen/Target.h).
  }];
  let options = [Option<"maxChannels", "max-channels", "int64_t", "8",
                        "Fuse tails with at most this many output channels">];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [Statistic<"numFused", "num-fused", "1x1 convs fused into the conv before them">];
}

def DLAFuseDeformConvPass : Pass<"dla-fuse-deform-conv"> {
  let summary = "Fuse CenterNet's DeformConv (offsets, mask, DCN, ReLU, input sum, upsampling) into one op";
  let description = [{
    `deform_conv2d(x, cat(om[0:9], om[9:18]), sigmoid(om[18:27]), w, b)` with
    `om = conv2d(x, w_om, b_om)` (3×3, padding 1) becomes
    `dla.fused_deform_conv`. It then absorbs a following ReLU, an `add`
    producing x (when x has no other user), and a depthwise
    `conv_transpose2d` (kernel 2f, stride f, padding f/2) producing an
    addend with no other user.

    Must not fire when: the mask is not a sigmoid of the third chunk, the
    offsets are not the first two chunks of the same conv of the same input,
    or the DCN is not the 3×3/stride 1/padding 1 single-group form.
  }];
  let dependentDialects = ["::mlir::dla::DLADialect"];
  let statistics = [Statistic<"numFused", "num-fused", "DeformConvs fused">];
}

def DLAHoistInitPass : Pass<"dla-hoist-init", "::mlir::ModuleOp"> {
  let summary = "Move parameter-only computation from @forward into @init";
  let description = [{
    Ops of `@forward` whose operands all derive from `dla.param` (BatchNorm
    folding, weight re-layout) move into a function `@init` that returns
    the tensors `@forward` needs, each named with `dla.name`; `@forward`
    reads them with `dla.prepared`. The runtime runs `@init` once after
    loading the weights.
  }];
  let dependentDialects = ["::mlir::dla::DLADialect", "::mlir::func::FuncDialect"];
  let statistics = [Statistic<"numHoisted", "num-hoisted", "Ops moved into @init">];
}

def DLAApplyPrecisionPass : Pass<"dla-apply-precision", "::mlir::ModuleOp"> {
  let summary = "Store the fused IR's tensors in the model's precision (dla.precision)";
  let description = [{
    Reads the module's `dla.precision` ("f32", "tf32", "f16" or "bf16"; absent:
    "f32") and gives every tensor that `@forward` keeps in memory the storage
    type: the results of its kernels (`dla.fused_conv`,
    `dla.fused_deform_conv`, pools), the parameters it reads (`dla.param`,
    converted once when the weights are loaded) and the prepared tensors
    (`dla.prepared`, and the `@init` results they name: folded in f32, then
    rounded once on store). The model's input and outputs stay f32, as the
    API promises: the first kernel reads f32, the last ones write f32.

    The fused ops compute in f32 whatever the storage types of their
    operands and result: each operand is widened exactly when it is read,
    products accumulate in f32, the epilogue (scale/shift, residual, ReLU)
    runs in f32, and the result is rounded once (to nearest even) on store.
    "tf32" stores `tensor<...xtf32>`: f32 words holding values rounded (to
    nearest, ties away from zero, as `cvt.rna.tf32.f32`) to tf32's 10
    mantissa bits, the operands a tf32 tensor core reads. An op that does
    not compute (a pool, flatten) keeps one element type: one that produces
    an output reads f32. For "f32" the pass changes
    nothing. docs/precision.md has the rounding points.

    ```mlir
    // "f16": a kernel between two others
    %y = dla.fused_conv(%x), %w bias %b ... : (tensor<1x64x32x32xf16>),
           tensor<64x64x3x3xf16> bias tensor<64xf16> -> tensor<1x64x32x32xf16>
    ```
  }];
  let dependentDialects = ["::mlir::dla::DLADialect", "::mlir::func::FuncDialect"];
  let statistics = [Statistic<"numRetyped", "num-retyped", "Tensors given the storage type">];
}

def DLAPrintMemoryPlanPass : Pass<"dla-print-memory-plan", "::mlir::ModuleOp"> {
  let summary = "Print the bundle's memory plan of fused IR (a test and report hook)";
  let description = [{
    Prints to stdout, for `@init` and `@forward`, the plan that the bundle's
    manifest uses (codegen/Bundle.h): each prepared tensor's offset in the
    prepared buffer, each activation's size, arena offset and lifetime (kernel
    indices in program order, `@init`'s kernels first), the totals, the ratio
    of arena to total activation bytes, and the number of pairs of
    activations that are live at the same time and overlap in memory (always
    0 for a correct plan). With `manifest=DIR`, also writes DIR/manifest.json
    with placeholder launches (kernel names from the IR, grid and block
    1×1×1, target host). The IR is left unchanged.
  }];
  let options = [Option<"manifestDir", "manifest", "std::string", "\"\"",
                        "Also write DIR/manifest.json (placeholder launches)">];
}

#endif // DLA_PASSES_TD
