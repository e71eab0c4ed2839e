//===- Presets.cpp - Official DLA variants and DLA.__init__ ------------------===//
//
// The preset table holds the constructor arguments of the DLA variants defined
// in CenterNet's networks (dla34 ... dla169), and expandConstructorArgs is the
// stage layout of DLA.__init__ from the seed document.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

#include <utility>

namespace dla::frontend {
namespace {

struct Preset {
  const char *name;
  DLAConstructorArgs args;
};

constexpr std::array<int64_t, 6> kLevels34 = {1, 1, 1, 2, 2, 1};
constexpr std::array<int64_t, 6> kLevels60 = {1, 1, 1, 2, 3, 1};
constexpr std::array<int64_t, 6> kLevels102 = {1, 1, 1, 3, 4, 1};
constexpr std::array<int64_t, 6> kLevels169 = {1, 1, 2, 3, 5, 1};
// The "_c" (compact) variants keep the narrow channels of DLA-34's stem.
constexpr std::array<int64_t, 6> kChannelsSmall = {16, 32, 64, 128, 256, 512};
constexpr std::array<int64_t, 6> kChannelsCompact = {16, 32, 64, 64, 128, 256};
constexpr std::array<int64_t, 6> kChannelsWide = {16, 32, 128, 256, 512, 1024};

using B = BlockKind;

// dla102x2 is dla102x with BottleneckX.cardinality = 64 (PyTorch sets the class
// attribute before constructing it).
const Preset kPresets[] = {
    {"dla34", {kLevels34, kChannelsSmall, B::Basic, false, 32}},
    {"dla46_c", {kLevels34, kChannelsCompact, B::Bottleneck, false, 32}},
    {"dla46x_c", {kLevels34, kChannelsCompact, B::BottleneckX, false, 32}},
    {"dla60x_c", {kLevels60, kChannelsCompact, B::BottleneckX, false, 32}},
    {"dla60", {kLevels60, kChannelsWide, B::Bottleneck, false, 32}},
    {"dla60x", {kLevels60, kChannelsWide, B::BottleneckX, false, 32}},
    {"dla102", {kLevels102, kChannelsWide, B::Bottleneck, true, 32}},
    {"dla102x", {kLevels102, kChannelsWide, B::BottleneckX, true, 32}},
    {"dla102x2", {kLevels102, kChannelsWide, B::BottleneckX, true, 64}},
    {"dla169", {kLevels169, kChannelsWide, B::Bottleneck, true, 32}},
};

Stage convStage(int64_t convs, int64_t out, int64_t stride) {
  Stage s;
  s.kind = StageKind::Conv;
  s.convs = convs;
  s.out = out;
  s.stride = stride;
  return s;
}

Stage treeStage(const DLAConstructorArgs &args, int level, bool levelRoot) {
  Stage s;
  s.kind = StageKind::Tree;
  s.levels = args.levels[level];
  s.block = args.block;
  s.out = args.channels[level];
  s.stride = 2;
  s.levelRoot = levelRoot;
  s.rootResidual = args.residualRoot;
  s.rootKernelSize = 1;
  s.cardinality = args.block == BlockKind::BottleneckX ? args.cardinality : 1;
  return s;
}

} // namespace

const DLAConstructorArgs *lookupPreset(std::string_view name) {
  for (const Preset &preset : kPresets)
    if (name == preset.name)
      return &preset.args;
  return nullptr;
}

const std::vector<std::string> &presetNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const Preset &preset : kPresets)
      result.emplace_back(preset.name);
    return result;
  }();
  return names;
}

void expandConstructorArgs(const DLAConstructorArgs &args, BaseLayer &base,
                           std::array<Stage, 6> &stages) {
  base.out = args.channels[0];
  base.kernel = 7;
  stages[0] = convStage(args.levels[0], args.channels[0], /*stride=*/1);
  stages[1] = convStage(args.levels[1], args.channels[1], /*stride=*/2);
  stages[2] = treeStage(args, 2, /*levelRoot=*/false);
  for (int level = 3; level < 6; ++level)
    stages[level] = treeStage(args, level, /*levelRoot=*/true);
}

} // namespace dla::frontend
