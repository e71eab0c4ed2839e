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

#endif // DLA_PASSES_TD
