//===- Validator.cpp - JSON tree → ModelSpec, every field checked ---------===//
//
// A Validator walks the positioned JSON tree (frontend/Json.h) section by
// section, checking type and range of every field and reporting errors at the
// value's position, with its JSON path. What relates several fields to each
// other is checked afterwards by resolve() (frontend/Resolver.cpp).
//
//===----------------------------------------------------------------------===//

#include "frontend/Validator.h"

#include "frontend/FieldReader.h"

#include <algorithm>
#include <cctype>

namespace dla::frontend {
namespace {

using json::Loc;
using json::Member;
using json::Node;
using json::displayKey;
using json::element;
using json::isIdentifier;
using json::member;
using json::members;
using json::singleQuoted;

const IntRange kChannelRange{1, limits::kMaxChannels, "the limit on channels"};
const IntRange kStrideRange{1, limits::kMaxStride, "the limit on strides"};
const IntRange kDilationRange{1, limits::kMaxDilation, "the limit on dilations"};
const IntRange kKernelRange{1, limits::kMaxKernel, "the limit on kernel sizes"};
const IntRange kConvsRange{1, limits::kMaxConvsPerStage, "the limit on convs per level"};
const IntRange kTreeLevelsRange{1, limits::kMaxTreeLevels, "the limit on tree levels"};

class Validator : FieldReader {
public:
  Validator(const std::string &text, json::Reporter &reporter, Blames &blames)
      : FieldReader(text, reporter), blames(blames) {}

  std::optional<ModelSpec> run(const Node &root);

private:
  /// An odd kernel size: the convolutions pad by kernel/2 to keep the size.
  bool kernelField(const Node &object, std::string_view key, int64_t &out) {
    if (!intField(object, key, out, kKernelRange))
      return false;
    if (out % 2 == 1)
      return true;
    error(fieldLoc(object, key), "kernel size " + std::to_string(out) +
                                     " must be odd: the convolution pads by kernel/2 "
                                     "to keep the spatial size");
    return false;
  }

  // --- sections ---
  void readTopLevel(const Node &root, ModelSpec &spec);
  void readInput(const Node &input, ModelSpec &spec);
  void readBackbone(const Node &backbone, ModelSpec &spec);
  void readConstructorForm(const Node &backbone, ModelSpec &spec);
  void readStagesForm(const Node &backbone, ModelSpec &spec);
  void readStage(const Node &node, std::size_t index, Stage &stage);
  void readBlockFields(const Node &object, Stage &stage);
  bool checkCardinalityApplies(const Node &object, BlockKind block);
  void readNeck(const Node &neck, ModelSpec &spec);
  void readHeads(const Node &heads, ModelSpec &spec);
  void readCenterNetHeads(const Node &heads, ModelSpec &spec);
  void readClassifier(const Node &classifier, ModelSpec &spec);

  Blames &blames;
};

const std::vector<std::string_view> kTopLevelKeys = {"name", "input", "precision",
                                                     "backbone", "neck", "heads"};
const std::vector<std::string_view> kPrecisions = {"f32", "tf32", "f16", "bf16"};
const std::vector<std::string_view> kBlocks = {"basic", "bottleneck", "bottleneckx"};
const std::vector<std::string_view> kStageTypes = {"conv", "tree"};

// The three mutually exclusive ways to describe a backbone.
const std::vector<std::string_view> kPresetKeys = {"preset"};
const std::vector<std::string_view> kConstructorKeys = {
    "levels", "channels", "block", "residual_root", "cardinality"};
const std::vector<std::string_view> kStagesKeys = {"base", "stages"};

const std::vector<std::string_view> kConvStageKeys = {"type", "convs", "out", "stride",
                                                      "dilation"};
const std::vector<std::string_view> kTreeStageKeys = {
    "type",     "levels",           "block",    "out",        "stride", "level_root",
    "root_residual", "root_kernel_size", "dilation", "cardinality"};

const std::vector<std::string_view> kCenterNetKeys = {"head_conv", "final_kernel",
                                                      "outputs"};
const std::vector<std::string_view> kClassifierKeys = {"classifier"};

// Head names become state-dict prefixes next to these modules of DLASeg.
const std::vector<std::string_view> kReservedHeadNames = {"base", "dla_up", "ida_up"};

std::vector<std::string_view> concat(std::initializer_list<std::vector<std::string_view>> lists) {
  std::vector<std::string_view> result;
  for (const auto &list : lists)
    result.insert(result.end(), list.begin(), list.end());
  return result;
}

std::vector<std::string_view> asViews(const std::vector<std::string> &strings) {
  return std::vector<std::string_view>(strings.begin(), strings.end());
}

std::optional<ModelSpec> Validator::run(const Node &root) {
  ModelSpec spec;
  if (!root.value->is_object()) {
    error(root.loc(), "the top level must be an object describing the model, got " +
                          describe(root));
    return std::nullopt;
  }
  readTopLevel(root, spec);
  // Sections are read in schema order; report in file order, like a compiler.
  reporter.sortByPosition();
  if (failed())
    return std::nullopt;
  return spec;
}

void Validator::readTopLevel(const Node &root, ModelSpec &spec) {
  checkKeys(root, kTopLevelKeys);

  if (std::optional<Node> name = member(root, "name")) {
    std::optional<std::string> value = readString(*name);
    // The name ends up in file and symbol names.
    bool valid = value && !value->empty() && value->size() <= limits::kMaxNameLength &&
                 std::all_of(value->begin(), value->end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                          c == '-' || c == '.';
                 });
    if (valid)
      spec.name = *value;
    else if (value)
      error(name->loc(), "expected a name of 1 to " +
                             std::to_string(limits::kMaxNameLength) +
                             " letters, digits, '_', '-' or '.', got " + describe(*name));
  }
  choiceField(root, "precision", spec.precision, kPrecisions);

  std::optional<Node> input = member(root, "input");
  if (!input)
    error(root.loc(), "missing required key 'input'");
  else if (expectObject(*input))
    readInput(*input, spec);

  std::optional<Node> backbone = member(root, "backbone");
  if (!backbone)
    error(root.loc(), "missing required key 'backbone'");
  else if (expectObject(*backbone))
    readBackbone(*backbone, spec);

  // `null` and absence both mean "no neck" / "no heads".
  std::optional<Node> neck = member(root, "neck");
  if (neck && !neck->value->is_null() && expectObject(*neck))
    readNeck(*neck, spec);
  std::optional<Node> heads = member(root, "heads");
  if (heads && !heads->value->is_null() && expectObject(*heads))
    readHeads(*heads, spec);
}

void Validator::readInput(const Node &input, ModelSpec &spec) {
  checkKeys(input, {"shape"});
  std::vector<IntRange> ranges = {
      {1, limits::kMaxBatch, "the limit on the batch size"},
      {1, limits::kMaxChannels, "the limit on channels"},
      {1, limits::kMaxSpatial, "the limit on the input size"},
      {1, limits::kMaxSpatial, "the limit on the input size"}};
  std::vector<int64_t> shape;
  if (!field(input, "shape", shape, Presence::Required,
             [&](const Node &node) { return readIntArray(node, ranges); }))
    return;
  Node shapeNode = *member(input, "shape");
  for (std::size_t i = 0; i < 4; ++i)
    blames.inputShape[i] = element(shapeNode, i).loc();
  spec.input = InputSpec{shape[0], shape[1], shape[2], shape[3]};
  checkElements(reporter, shapeNode.loc(), "the input", shape);
}

void Validator::readBackbone(const Node &backbone, ModelSpec &spec) {
  bool knownKeys = checkKeys(backbone, concat({kPresetKeys, kConstructorKeys, kStagesKeys}));

  // Which forms are used, each with its first key in file order.
  const std::vector<std::string_view> *forms[] = {&kPresetKeys, &kConstructorKeys,
                                                  &kStagesKeys};
  std::vector<std::pair<const std::vector<std::string_view> *, Member>> used;
  for (const Member &field : members(backbone)) {
    for (const auto *form : forms) {
      bool inForm = std::find(form->begin(), form->end(), field.key) != form->end();
      bool seen = std::any_of(used.begin(), used.end(),
                              [&](const auto &entry) { return entry.first == form; });
      if (inForm && !seen)
        used.emplace_back(form, field);
    }
  }
  const char *choices = "a backbone is either {\"preset\": NAME}, the DLA constructor "
                        "fields (levels, channels, block, residual_root, cardinality) "
                        "or explicit \"base\" and \"stages\"";
  if (used.empty()) {
    // An unknown key was most likely a misspelled form key: already reported.
    if (knownKeys)
      error(backbone.loc(), std::string("empty backbone: ") + choices);
    return;
  }
  if (used.size() > 1) {
    error(used[1].second.node.keyLoc(), singleQuoted(used[1].second.key) +
                                            " cannot be combined with " +
                                            singleQuoted(used[0].second.key) + ": " + choices);
    return;
  }

  if (used[0].first == &kPresetKeys) {
    std::vector<std::string_view> names = asViews(presetNames());
    std::size_t index = 0;
    if (!choiceField(backbone, "preset", index, names))
      return;
    spec.preset = presetNames()[index];
    expandConstructorArgs(*lookupPreset(spec.preset), spec.base, spec.stages);
    // A preset is valid by construction; only the input size can disagree.
    Loc preset = fieldLoc(backbone, "preset");
    blames.baseOut = preset;
    for (StageBlame &stage : blames.stages)
      stage = {preset, preset, preset};
  } else if (used[0].first == &kConstructorKeys) {
    readConstructorForm(backbone, spec);
  } else {
    readStagesForm(backbone, spec);
  }
}

void Validator::readConstructorForm(const Node &backbone, ModelSpec &spec) {
  DLAConstructorArgs args;
  std::vector<IntRange> levelRanges = {kConvsRange,      kConvsRange,
                                       kTreeLevelsRange, kTreeLevelsRange,
                                       kTreeLevelsRange, kTreeLevelsRange};
  std::vector<IntRange> channelRanges(6, kChannelRange);
  std::vector<int64_t> levels, channels;
  bool ok = field(backbone, "levels", levels, Presence::Required,
                  [&](const Node &n) { return readIntArray(n, levelRanges); });
  ok &= field(backbone, "channels", channels, Presence::Required,
              [&](const Node &n) { return readIntArray(n, channelRanges); });
  ok &= choiceField(backbone, "block", args.block, kBlocks);
  ok &= boolField(backbone, "residual_root", args.residualRoot);
  ok &= intField(backbone, "cardinality", args.cardinality, kChannelRange);
  if (!ok)
    return;
  if (!checkCardinalityApplies(backbone, args.block))
    return;
  std::copy(levels.begin(), levels.end(), args.levels.begin());
  std::copy(channels.begin(), channels.end(), args.channels.begin());
  expandConstructorArgs(args, spec.base, spec.stages);

  Node channelsNode = *member(backbone, "channels");
  blames.baseOut = element(channelsNode, 0).loc();
  for (std::size_t i = 0; i < 6; ++i) {
    Loc out = element(channelsNode, i).loc();
    blames.stages[i] = {out, backbone.loc(), presentFieldLocOr(backbone, "cardinality", out)};
  }
}

void Validator::readStagesForm(const Node &backbone, ModelSpec &spec) {
  std::optional<Node> base = member(backbone, "base");
  if (!base)
    error(backbone.loc(), "missing required key 'base' (the stem conv: {\"out\": 16, "
                          "\"kernel\": 7})");
  else if (expectObject(*base)) {
    checkKeys(*base, {"out", "kernel"});
    intField(*base, "out", spec.base.out, kChannelRange, Presence::Required);
    kernelField(*base, "kernel", spec.base.kernel);
    blames.baseOut = fieldLoc(*base, "out");
  }

  std::optional<Node> stages = member(backbone, "stages");
  if (!stages) {
    error(backbone.loc(), "missing required key 'stages'");
    return;
  }
  if (!stages->value->is_array() || stages->value->size() != 6) {
    error(stages->loc(),
          "expected an array of 6 stages (level0 to level5), got " +
              (stages->value->is_array() ? std::to_string(stages->value->size()) +
                                               (stages->value->size() == 1 ? " stage" : " stages")
                                         : describe(*stages)));
    return;
  }
  for (std::size_t i = 0; i < 6; ++i)
    readStage(element(*stages, i), i, spec.stages[i]);
}

void Validator::readStage(const Node &node, std::size_t index, Stage &stage) {
  if (!expectObject(node))
    return;
  StageBlame &blame = blames.stages[index];
  if (!choiceField(node, "type", stage.kind, kStageTypes, Presence::Required))
    return;
  bool isTree = stage.kind == StageKind::Tree;
  if (std::optional<Node> in = member(node, "in")) {
    error(in->keyLoc(), "'in' is derived from the previous stage's 'out' (or base.out "
                        "for level0) and cannot be set");
    return;
  }
  checkKeys(node, isTree ? kTreeStageKeys : kConvStageKeys);

  intField(node, "out", stage.out, kChannelRange, Presence::Required);
  intField(node, "stride", stage.stride, kStrideRange);
  intField(node, "dilation", stage.dilation, kDilationRange);
  blame.out = fieldLoc(node, "out");
  blame.stride = fieldLoc(node, "stride");
  blame.cardinality = presentFieldLocOr(node, "cardinality", blame.out);
  if (isTree)
    readBlockFields(node, stage);
  else
    intField(node, "convs", stage.convs, kConvsRange, Presence::Required);
}

void Validator::readBlockFields(const Node &object, Stage &stage) {
  intField(object, "levels", stage.levels, kTreeLevelsRange, Presence::Required);
  choiceField(object, "block", stage.block, kBlocks);
  boolField(object, "level_root", stage.levelRoot);
  boolField(object, "root_residual", stage.rootResidual);
  if (intField(object, "root_kernel_size", stage.rootKernelSize, kKernelRange) &&
      stage.rootKernelSize != 1)
    // Root always uses a 1x1 conv but pads it by (root_kernel_size - 1) / 2;
    // anything but 1 grows the map and breaks the additions in the tree.
    error(fieldLoc(object, "root_kernel_size"),
          "only root_kernel_size 1 is supported: Root is a 1x1 convolution padded by "
          "(root_kernel_size - 1) / 2, so " + std::to_string(stage.rootKernelSize) +
              " would change the spatial size");
  stage.cardinality = 32; // BottleneckX.cardinality
  if (intField(object, "cardinality", stage.cardinality, kChannelRange) &&
      checkCardinalityApplies(object, stage.block) &&
      stage.block != BlockKind::BottleneckX)
    stage.cardinality = 1; // the other blocks' 3x3 conv is not grouped
}

/// `cardinality` is BottleneckX's; anywhere else it is a mistake, not a no-op.
bool Validator::checkCardinalityApplies(const Node &object, BlockKind block) {
  if (block == BlockKind::BottleneckX || !member(object, "cardinality"))
    return true;
  error(fieldLoc(object, "cardinality"),
        "cardinality only applies to block \"bottleneckx\", but block is \"" +
            std::string(toString(block)) + "\"");
  return false;
}

void Validator::readNeck(const Node &neck, ModelSpec &spec) {
  checkKeys(neck, {"down_ratio", "last_level", "out_channel"});
  NeckSpec result;
  blames.neck = neck.loc();
  blames.outChannel = fieldLoc(neck, "out_channel");
  IntRange ratioRange{2, 16, nullptr, "2, 4, 8 or 16"};
  bool ok = intField(neck, "down_ratio", result.downRatio, ratioRange);
  ok &= intField(neck, "out_channel", result.outChannel,
                 {0, limits::kMaxChannels, "the limit on channels"});
  if (!ok)
    return;
  int64_t ratio = result.downRatio;
  if (ratio != 2 && ratio != 4 && ratio != 8 && ratio != 16) {
    error(fieldLoc(neck, "down_ratio"), "expected 2, 4, 8 or 16, got " + describe(*member(neck, "down_ratio")));
    return;
  }
  result.firstLevel = ratio == 2 ? 1 : ratio == 4 ? 2 : ratio == 8 ? 3 : 4;
  // The neck fuses levels first_level .. last_level - 1 (IDAUp needs one).
  std::string first = std::to_string(result.firstLevel);
  IntRange lastRange{result.firstLevel + 1, 5};
  lastRange.why = " (first_level = log2(down_ratio) = " + first +
                  "; the neck fuses levels " + first + " to last_level - 1)";
  if (intField(neck, "last_level", result.lastLevel, lastRange))
    spec.neck = result;
}

void Validator::readHeads(const Node &heads, ModelSpec &spec) {
  blames.heads = heads.loc();
  checkKeys(heads, concat({kCenterNetKeys, kClassifierKeys}));
  std::optional<Node> classifier = member(heads, "classifier");
  if (!classifier) {
    readCenterNetHeads(heads, spec);
    return;
  }
  for (std::string_view key : kCenterNetKeys)
    if (std::optional<Node> other = member(heads, key)) {
      error(other->keyLoc(), singleQuoted(key) + " cannot be combined with 'classifier': "
                             "heads are either CenterNet heads (head_conv, final_kernel, "
                             "outputs) or {\"classifier\": {...}}");
      return;
    }
  if (expectObject(*classifier))
    readClassifier(*classifier, spec);
}

void Validator::readCenterNetHeads(const Node &heads, ModelSpec &spec) {
  CenterNetHeads result;
  blames.headConv = fieldLoc(heads, "head_conv");
  bool ok = intField(heads, "head_conv", result.headConv,
                     {0, limits::kMaxChannels, "the limit on channels"});
  ok &= kernelField(heads, "final_kernel", result.finalKernel);
  std::optional<Node> outputs = member(heads, "outputs");
  if (!outputs) {
    error(heads.loc(), "missing required key 'outputs' (e.g. {\"hm\": 80, \"wh\": 2, "
                       "\"reg\": 2})");
    return;
  }
  if (!expectObject(*outputs))
    return;
  if (outputs->value->empty() || outputs->value->size() > limits::kMaxHeads) {
    error(outputs->loc(), "expected 1 to " + std::to_string(limits::kMaxHeads) +
                              " outputs, got " + std::to_string(outputs->value->size()));
    return;
  }
  for (const auto &[key, output] : members(*outputs)) {
    std::string name(key);
    if (!isIdentifier(name) || name.size() > 64) {
      error(output.keyLoc(), "head name " + displayKey(name) + " must be an identifier of at most 64 characters "
                                 "(letters, digits, '_'; not starting with a digit): "
                                 "it names the output and its parameters");
      ok = false;
      continue;
    }
    if (name == "__metadata__") {
      error(output.keyLoc(), "head name '__metadata__' is reserved: safetensors files "
                             "keep their metadata under it, so the output could "
                             "never be written");
      ok = false;
      continue;
    }
    if (std::find(kReservedHeadNames.begin(), kReservedHeadNames.end(), name) !=
        kReservedHeadNames.end()) {
      error(output.keyLoc(), "head name " + singleQuoted(name) + " is reserved: its parameters "
                             "would collide with the '" + name + ".' state-dict keys");
      ok = false;
      continue;
    }
    std::optional<int64_t> classes = readInt(output, kChannelRange);
    if (!classes) {
      ok = false;
      continue;
    }
    result.outputs.push_back({name, *classes});
    blames.headOutputs.push_back(output.loc());
  }
  if (ok)
    spec.centerNet = std::move(result);
}

void Validator::readClassifier(const Node &classifier, ModelSpec &spec) {
  checkKeys(classifier, {"num_classes", "pool_size"});
  ClassifierHead result;
  blames.poolSize = fieldLoc(classifier, "pool_size");
  bool ok = intField(classifier, "num_classes", result.numClasses, kChannelRange);
  ok &= intField(classifier, "pool_size", result.poolSize,
                 {1, limits::kMaxSpatial, "the limit on the input size"});
  if (ok)
    spec.classifier = result;
}

} // namespace

std::optional<ModelSpec> validate(const Node &root, const std::string &text,
                                  json::Reporter &reporter, Blames &blames) {
  return Validator(text, reporter, blames).run(root);
}

} // namespace dla::frontend
