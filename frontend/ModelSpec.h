//===- ModelSpec.h - Resolved description of a DLA model -----------*- C++ -*-===//
//
// The JSON model description (docs/model-format.md) parsed, validated and fully
// resolved into plain C++ values: presets and the DLA constructor fields are
// expanded into six explicit stages, every default is filled in and every
// derived quantity (stage input channels, spatial sizes, the neck's levels) is
// computed. Whoever builds IR from a ModelSpec never needs to re-check it: a
// ModelSpec returned by parseModelSpec() describes a network that the PyTorch
// reference (DLA / DLASeg in the seed document) would construct and run.
//
// Deliberately free of MLIR and LLVM so that it can be unit-tested and reused
// by tools that do not link the compiler. Namespace dla::frontend, apart from
// the dialect's mlir::dla: dla::frontend::BlockKind is this plain enum,
// mlir::dla::BlockKind the dialect's ODS enum, and frontend/Importer.cpp maps
// one to the other. (Inside namespace mlir::dla, write ::dla::frontend::X.)
//
//===----------------------------------------------------------------------===//

#ifndef DLAC_FRONTEND_MODELSPEC_H
#define DLAC_FRONTEND_MODELSPEC_H

#include "frontend/Limits.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dla::frontend {

// Limits: frontend/Limits.h (shared with the dla dialect's verifiers).

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

/// One error found in a model description. `line` and `column` are 1-based
/// and point at the offending value (or key); both are 0 when no position is
/// known (e.g. the file could not be read). Columns count bytes.
struct Diagnostic {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  /// Path of the offending JSON value, e.g. "backbone.levels[3]"; empty for
  /// errors about the document as a whole (syntax errors, empty file).
  std::string path;
  std::string message;

  /// "model.json:3:14: error: backbone.levels[3]: expected an integer >= 1, got -2"
  std::string str() const;
};

//===----------------------------------------------------------------------===//
// The resolved model
//===----------------------------------------------------------------------===//

enum class Precision { F32, TF32, F16, BF16 };
enum class BlockKind { Basic, Bottleneck, BottleneckX };
enum class StageKind { Conv, Tree };

std::string_view toString(Precision precision); // "f32", "tf32", "f16", "bf16"
/// The precision spelled `name` ("f32", "tf32", "f16", "bf16"), if any.
std::optional<Precision> parsePrecision(std::string_view name);
std::string_view toString(BlockKind block);     // "basic", "bottleneck", "bottleneckx"
std::string_view toString(StageKind kind);      // "conv", "tree"

struct InputSpec {
  int64_t batch = 1;
  int64_t channels = 3; // the base conv takes this many input channels
  int64_t height = 0;
  int64_t width = 0;
};

/// DLA's base_layer: Conv2d(input.channels, out, kernel, stride 1,
/// padding kernel/2, no bias) -> BN -> ReLU. `kernel` is odd, so the spatial
/// size is unchanged.
struct BaseLayer {
  int64_t out = 0;
  int64_t kernel = 7;
};

/// One of the six levels (index i = PyTorch module `level<i>`).
///
/// StageKind::Conv is DLA._make_conv_level: `convs` x (Conv3x3(dilation,
/// padding dilation, stride on the first conv only) -> BN -> ReLU).
/// StageKind::Tree is Tree(levels, block, in, out, stride, level_root,
/// root_kernel_size, dilation, root_residual) from the seed.
struct Stage {
  StageKind kind = StageKind::Conv;
  int64_t in = 0;  // derived: previous stage's `out` (base.out for level0)
  int64_t out = 0;
  int64_t stride = 1;
  int64_t dilation = 1;
  // Derived output spatial size. The input size is a multiple of the total
  // stride, so this is exactly the input size divided by the stride.
  int64_t outHeight = 0;
  int64_t outWidth = 0;

  // kind == StageKind::Conv only.
  int64_t convs = 0;

  // kind == StageKind::Tree only.
  int64_t levels = 0;
  BlockKind block = BlockKind::Basic;
  bool levelRoot = false;
  bool rootResidual = false;
  int64_t rootKernelSize = 1; // always 1; see docs/model-format.md
  /// Groups of the block's 3x3 conv: BottleneckX's cardinality, 1 for the
  /// basic and bottleneck blocks.
  int64_t cardinality = 1;
};

/// Width of the 3x3 conv inside the stage's blocks: `out` for the basic block,
/// out/2 for Bottleneck (expansion 2), out*cardinality/32 for BottleneckX.
int64_t bottleneckWidth(const Stage &stage);

/// DLASeg's DLAUp + IDAUp. first_level = log2(down_ratio); the neck fuses
/// levels first_level..5 (DLAUp) and then first_level..last_level-1 (IDAUp)
/// into one map of channels[first_level] channels at 1/down_ratio resolution.
struct NeckSpec {
  int64_t downRatio = 4;
  int64_t firstLevel = 2;
  int64_t lastLevel = 5;
  int64_t outChannel = 0; // resolved: never 0, always stages[firstLevel].out
};

struct HeadOutput {
  std::string name; // a valid identifier; the state-dict prefix and output name
  int64_t classes = 0;
};

/// CenterNet heads: per output, Conv3x3(head_conv, bias) -> ReLU ->
/// Conv(final_kernel, bias) when headConv > 0, else a single
/// Conv(final_kernel, bias). All read the neck's output.
struct CenterNetHeads {
  int64_t headConv = 256;
  int64_t finalKernel = 1;
  std::vector<HeadOutput> outputs; // in the order of the JSON file
};

/// DLA's classifier: AvgPool2d(poolSize) over level5, then a 1x1 conv `fc`
/// (with bias) to numClasses, flattened to [N, numClasses * poolH * poolW].
struct ClassifierHead {
  int64_t numClasses = 1000;
  int64_t poolSize = 7;
};

/// A named output of the model and its shape.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

struct ModelSpec {
  std::string name = "model";
  InputSpec input;
  Precision precision = Precision::F32;
  /// The preset the backbone came from ("dla34"), empty for the constructor
  /// and explicit-stage forms. Informational only: `stages` is authoritative.
  std::string preset;
  BaseLayer base;
  std::array<Stage, 6> stages;
  std::optional<NeckSpec> neck;
  /// At most one of `centerNet` and `classifier` is set; neither means the
  /// outputs are the six level maps. centerNet is set iff neck is set.
  std::optional<CenterNetHeads> centerNet;
  std::optional<ClassifierHead> classifier;
  /// Prefix of the backbone's state-dict keys: "base." for a CenterNet model
  /// (DLASeg stores the DLA as `self.base`), "" for a classifier or a bare
  /// backbone, which are DLA modules themselves (as in the DLA checkpoints).
  std::string paramPrefix;
  /// Where the constructs the IR's ops stand for were written (line,
  /// column), by their JSON path as the importer names them:
  /// "backbone.base", "backbone.stages[i]", "neck", "heads.classifier",
  /// "heads.outputs.NAME". A construct a preset supplies is located at the
  /// preset's key. Absent (a spec not parsed from a file): 1:1.
  std::map<std::string, std::pair<unsigned, unsigned>> sourceLocations;

  /// Product of the six stage strides (32 for every preset).
  int64_t totalStride() const;
  /// The model's outputs: the heads for CenterNet, "logits" for a classifier,
  /// otherwise "level0".."level5".
  std::vector<TensorSpec> outputs() const;
  /// Multi-line, stable, human-readable description (used by tests and by
  /// `dlac --emit=json`-style debugging).
  std::string summary() const;
};

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

/// Parses and validates a model description. `filename` is only used in
/// diagnostics. On failure returns std::nullopt and appends at least one
/// diagnostic; never throws on bad input.
std::optional<ModelSpec> parseModelSpec(const std::string &text,
                                        const std::string &filename,
                                        std::vector<Diagnostic> &diags);

/// Reads `path` (at most limits::kMaxFileBytes) and parses it.
std::optional<ModelSpec> parseModelSpecFile(const std::string &path,
                                            std::vector<Diagnostic> &diags);

//===----------------------------------------------------------------------===//
// Presets (Presets.cpp)
//===----------------------------------------------------------------------===//

/// The arguments of the PyTorch DLA constructor that shape the network.
struct DLAConstructorArgs {
  std::array<int64_t, 6> levels{};
  std::array<int64_t, 6> channels{};
  BlockKind block = BlockKind::Basic;
  bool residualRoot = false;
  int64_t cardinality = 32; // BottleneckX only
};

/// The official CenterNet/DLA variants, or nullptr for an unknown name.
const DLAConstructorArgs *lookupPreset(std::string_view name);
/// All preset names, in the order of the DLA paper.
const std::vector<std::string> &presetNames();

/// Expands constructor arguments exactly as DLA.__init__ does: base conv 7x7
/// to channels[0]; level0 conv (levels[0] convs, stride 1); level1 conv
/// (levels[1] convs, stride 2); level2 tree (stride 2, level_root false);
/// level3..5 trees (stride 2, level_root true); root_residual = residual_root.
/// Only the non-derived fields of the stages are filled in.
void expandConstructorArgs(const DLAConstructorArgs &args, BaseLayer &base,
                           std::array<Stage, 6> &stages);

} // namespace dla::frontend

#endif // DLAC_FRONTEND_MODELSPEC_H
