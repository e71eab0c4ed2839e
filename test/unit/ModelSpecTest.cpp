//===- ModelSpecTest.cpp - Tests of the JSON model-description importer ---===//
//
// Expected values come from the PyTorch reference (DLA.__init__, Tree, DLASeg
// in the seed document and CenterNet's preset definitions), not from the code
// under test. Error tests pin the whole rendered diagnostic, position included.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "test/unit/ModelSpecTestUtil.h"

using namespace dla::frontend;
using namespace dla::frontend::testing;

namespace {

//===----------------------------------------------------------------------===//
// Presets and the DLA constructor
//===----------------------------------------------------------------------===//

struct PresetCase {
  const char *name;
  std::array<int64_t, 6> levels;
  std::array<int64_t, 6> channels;
  BlockKind block;
  bool residualRoot;
  int64_t cardinality; // groups of the block's 3x3 conv
};

// CenterNet's networks/dlav0.py.
const PresetCase kPresetCases[] = {
    {"dla34", {1, 1, 1, 2, 2, 1}, {16, 32, 64, 128, 256, 512}, BlockKind::Basic, false, 1},
    {"dla46_c", {1, 1, 1, 2, 2, 1}, {16, 32, 64, 64, 128, 256}, BlockKind::Bottleneck, false, 1},
    {"dla46x_c", {1, 1, 1, 2, 2, 1}, {16, 32, 64, 64, 128, 256}, BlockKind::BottleneckX, false, 32},
    {"dla60x_c", {1, 1, 1, 2, 3, 1}, {16, 32, 64, 64, 128, 256}, BlockKind::BottleneckX, false, 32},
    {"dla60", {1, 1, 1, 2, 3, 1}, {16, 32, 128, 256, 512, 1024}, BlockKind::Bottleneck, false, 1},
    {"dla60x", {1, 1, 1, 2, 3, 1}, {16, 32, 128, 256, 512, 1024}, BlockKind::BottleneckX, false, 32},
    {"dla102", {1, 1, 1, 3, 4, 1}, {16, 32, 128, 256, 512, 1024}, BlockKind::Bottleneck, true, 1},
    {"dla102x", {1, 1, 1, 3, 4, 1}, {16, 32, 128, 256, 512, 1024}, BlockKind::BottleneckX, true, 32},
    {"dla102x2", {1, 1, 1, 3, 4, 1}, {16, 32, 128, 256, 512, 1024}, BlockKind::BottleneckX, true, 64},
    {"dla169", {1, 1, 2, 3, 5, 1}, {16, 32, 128, 256, 512, 1024}, BlockKind::Bottleneck, true, 1},
};

TEST(ModelSpecPresets, EveryPresetExpandsLikeDLAInit) {
  ASSERT_EQ(presetNames().size(), std::size(kPresetCases));
  for (const PresetCase &expected : kPresetCases) {
    SCOPED_TRACE(expected.name);
    ModelSpec spec = parseOk(doc({kInput, std::string("\"backbone\": {\"preset\": \"") +
                                              expected.name + "\"}"}));
    EXPECT_EQ(spec.preset, expected.name);
    EXPECT_EQ(spec.base.out, expected.channels[0]);
    EXPECT_EQ(spec.base.kernel, 7);
    const int64_t strides[6] = {1, 2, 2, 2, 2, 2};
    int64_t in = expected.channels[0], size = 512;
    for (int i = 0; i < 6; ++i) {
      SCOPED_TRACE("level" + std::to_string(i));
      const Stage &stage = spec.stages[i];
      size /= strides[i];
      EXPECT_EQ(stage.kind, i < 2 ? StageKind::Conv : StageKind::Tree);
      EXPECT_EQ(stage.in, in);
      EXPECT_EQ(stage.out, expected.channels[i]);
      EXPECT_EQ(stage.stride, strides[i]);
      EXPECT_EQ(stage.dilation, 1);
      EXPECT_EQ(stage.outHeight, size);
      EXPECT_EQ(stage.outWidth, size);
      in = expected.channels[i];
      if (i < 2) {
        EXPECT_EQ(stage.convs, expected.levels[i]);
        continue;
      }
      EXPECT_EQ(stage.levels, expected.levels[i]);
      EXPECT_EQ(stage.block, expected.block);
      EXPECT_EQ(stage.levelRoot, i >= 3);
      EXPECT_EQ(stage.rootResidual, expected.residualRoot);
      EXPECT_EQ(stage.rootKernelSize, 1);
      EXPECT_EQ(stage.cardinality, expected.cardinality);
    }
  }
}

TEST(ModelSpecPresets, CtdetDla34Summary) {
  ModelSpec spec = parseOk(R"({
    "name": "ctdet_dla34",
    "input": {"shape": [1, 3, 512, 512]},
    "precision": "f32",
    "backbone": {"preset": "dla34"},
    "neck": {"down_ratio": 4, "last_level": 5, "out_channel": 0},
    "heads": {"head_conv": 256, "final_kernel": 1,
              "outputs": {"hm": 80, "wh": 2, "reg": 2}}
  })");
  EXPECT_EQ(spec.summary(),
            "model ctdet_dla34 (preset dla34), f32, param prefix \"base.\"\n"
            "input: 1x3x512x512\n"
            "base: out=16 kernel=7 -> 512x512\n"
            "level0: conv convs=1 in=16 out=16 stride=1 dilation=1 -> 512x512\n"
            "level1: conv convs=1 in=16 out=32 stride=2 dilation=1 -> 256x256\n"
            "level2: tree levels=1 block=basic in=32 out=64 stride=2 dilation=1 "
            "level_root=false root_residual=false root_kernel_size=1 cardinality=1 -> 128x128\n"
            "level3: tree levels=2 block=basic in=64 out=128 stride=2 dilation=1 "
            "level_root=true root_residual=false root_kernel_size=1 cardinality=1 -> 64x64\n"
            "level4: tree levels=2 block=basic in=128 out=256 stride=2 dilation=1 "
            "level_root=true root_residual=false root_kernel_size=1 cardinality=1 -> 32x32\n"
            "level5: tree levels=1 block=basic in=256 out=512 stride=2 dilation=1 "
            "level_root=true root_residual=false root_kernel_size=1 cardinality=1 -> 16x16\n"
            "neck: down_ratio=4 first_level=2 last_level=5 out_channel=64 -> 128x128\n"
            "heads: head_conv=256 final_kernel=1 hm=80 wh=2 reg=2\n"
            "outputs: hm 1x80x128x128 wh 1x2x128x128 reg 1x2x128x128\n");
}

TEST(ModelSpecPresets, ConstructorFieldsMatchThePreset) {
  for (const PresetCase &preset : kPresetCases) {
    SCOPED_TRACE(preset.name);
    auto list = [](const std::array<int64_t, 6> &values) {
      std::string result = "[";
      for (int64_t value : values)
        result += (result.size() > 1 ? ", " : "") + std::to_string(value);
      return result + "]";
    };
    std::string fields = "\"levels\": " + list(preset.levels) +
                         ", \"channels\": " + list(preset.channels) + ", \"block\": \"" +
                         std::string(toString(preset.block)) + "\", \"residual_root\": " +
                         (preset.residualRoot ? "true" : "false");
    if (preset.block == BlockKind::BottleneckX)
      fields += ", \"cardinality\": " + std::to_string(preset.cardinality);
    ModelSpec fromFields = parseOk(ctdet(fields));
    ModelSpec fromPreset = parseOk(ctdet(std::string("\"preset\": \"") + preset.name + "\""));
    EXPECT_EQ(fromFields.preset, "");
    fromFields.preset = fromPreset.preset;
    EXPECT_EQ(fromFields.summary(), fromPreset.summary());
  }
}

TEST(ModelSpecPresets, ConstructorDefaults) {
  // block defaults to basic (DLA's BasicBlock), residual_root to false,
  // cardinality to 32 (BottleneckX.cardinality).
  ModelSpec basic = parseOk(
      ctdet(R"("levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 64, 128, 256, 512])"));
  EXPECT_EQ(basic.stages[4].block, BlockKind::Basic);
  EXPECT_FALSE(basic.stages[4].rootResidual);
  ModelSpec x = parseOk(ctdet(R"("levels": [1, 1, 1, 2, 2, 1],
      "channels": [16, 32, 64, 128, 256, 512], "block": "bottleneckx")"));
  EXPECT_EQ(x.stages[4].cardinality, 32);
  EXPECT_EQ(bottleneckWidth(x.stages[4]), 256);
  EXPECT_EQ(bottleneckWidth(basic.stages[4]), 256);
}

//===----------------------------------------------------------------------===//
// Explicit stages, neck and heads
//===----------------------------------------------------------------------===//

const char *const kCustomBackbone = R"("backbone": {
    "base": {"out": 8, "kernel": 3},
    "stages": [
      {"type": "conv", "convs": 2, "out": 8},
      {"type": "conv", "convs": 1, "out": 16, "stride": 2, "dilation": 2},
      {"type": "tree", "levels": 1, "out": 32, "stride": 2},
      {"type": "tree", "levels": 3, "block": "bottleneck", "out": 64, "stride": 2,
       "level_root": true, "root_residual": true, "root_kernel_size": 1},
      {"type": "tree", "levels": 2, "block": "bottleneckx", "cardinality": 8,
       "out": 128, "stride": 2, "level_root": true, "dilation": 2},
      {"type": "tree", "levels": 1, "block": "basic", "out": 256, "stride": 2}
    ]})";

TEST(ModelSpecStages, ExplicitStagesResolve) {
  ModelSpec spec = parseOk(doc({R"("input": {"shape": [2, 1, 64, 96]})", kCustomBackbone}));
  EXPECT_EQ(spec.preset, "");
  EXPECT_EQ(spec.input.channels, 1);
  EXPECT_EQ(spec.base.out, 8);
  EXPECT_EQ(spec.base.kernel, 3);

  const Stage &level0 = spec.stages[0];
  EXPECT_EQ(level0.kind, StageKind::Conv);
  EXPECT_EQ(level0.convs, 2);
  EXPECT_EQ(level0.in, 8);
  EXPECT_EQ(level0.stride, 1);
  EXPECT_EQ(spec.stages[1].dilation, 2);

  const Stage &level2 = spec.stages[2]; // all tree defaults
  EXPECT_EQ(level2.kind, StageKind::Tree);
  EXPECT_EQ(level2.block, BlockKind::Basic);
  EXPECT_EQ(level2.in, 16);
  EXPECT_FALSE(level2.levelRoot);
  EXPECT_FALSE(level2.rootResidual);
  EXPECT_EQ(level2.rootKernelSize, 1);
  EXPECT_EQ(level2.dilation, 1);
  EXPECT_EQ(level2.cardinality, 1);

  EXPECT_EQ(spec.stages[3].levels, 3);
  EXPECT_TRUE(spec.stages[3].rootResidual);
  EXPECT_EQ(bottleneckWidth(spec.stages[3]), 32);
  EXPECT_EQ(spec.stages[4].cardinality, 8);
  EXPECT_EQ(spec.stages[4].dilation, 2);
  EXPECT_EQ(bottleneckWidth(spec.stages[4]), 32);
  EXPECT_EQ(spec.stages[5].in, 128);
  EXPECT_EQ(spec.stages[5].outHeight, 2);
  EXPECT_EQ(spec.stages[5].outWidth, 3);
  EXPECT_EQ(spec.totalStride(), 32);
}

TEST(ModelSpecStages, BackboneOnlyOutputsTheSixLevels) {
  ModelSpec spec = parseOk(doc({kInput, kDla34, R"("neck": null, "heads": null)"}));
  EXPECT_FALSE(spec.neck);
  EXPECT_FALSE(spec.centerNet);
  EXPECT_FALSE(spec.classifier);
  EXPECT_EQ(spec.paramPrefix, "");
  std::vector<TensorSpec> outputs = spec.outputs();
  ASSERT_EQ(outputs.size(), 6u);
  EXPECT_EQ(outputs[0].name, "level0");
  EXPECT_EQ(outputs[0].shape, (std::vector<int64_t>{1, 16, 512, 512}));
  EXPECT_EQ(outputs[5].name, "level5");
  EXPECT_EQ(outputs[5].shape, (std::vector<int64_t>{1, 512, 16, 16}));
}

TEST(ModelSpecNeck, DefaultsAndDerivedLevels) {
  ModelSpec spec = parseOk(doc({kInput, kDla34, R"("neck": {})", kHeads}));
  ASSERT_TRUE(spec.neck);
  EXPECT_EQ(spec.neck->downRatio, 4);
  EXPECT_EQ(spec.neck->firstLevel, 2);
  EXPECT_EQ(spec.neck->lastLevel, 5);
  EXPECT_EQ(spec.neck->outChannel, 64); // 0 resolves to channels[first_level]
  EXPECT_EQ(spec.paramPrefix, "base.");

  ModelSpec fine = parseOk(doc({kInput, kDla34,
                                R"("neck": {"down_ratio": 2, "last_level": 4, "out_channel": 32})",
                                kHeads}));
  EXPECT_EQ(fine.neck->firstLevel, 1);
  EXPECT_EQ(fine.neck->lastLevel, 4);
  EXPECT_EQ(fine.neck->outChannel, 32);
  EXPECT_EQ(fine.outputs()[0].shape, (std::vector<int64_t>{1, 80, 256, 256}));

  ModelSpec coarse = parseOk(doc({kInput, kDla34, R"("neck": {"down_ratio": 16})", kHeads}));
  EXPECT_EQ(coarse.neck->firstLevel, 4);
  EXPECT_EQ(coarse.neck->outChannel, 256);
}

TEST(ModelSpecHeads, CenterNetHeadsKeepFileOrderAndDefaults) {
  ModelSpec spec = parseOk(doc({kInput, kDla34, kNeck,
                                R"("heads": {"outputs": {"wh": 2, "hm": 80, "id": 128}})"}));
  ASSERT_TRUE(spec.centerNet);
  EXPECT_EQ(spec.centerNet->headConv, 256);
  EXPECT_EQ(spec.centerNet->finalKernel, 1);
  ASSERT_EQ(spec.centerNet->outputs.size(), 3u);
  EXPECT_EQ(spec.centerNet->outputs[0].name, "wh");
  EXPECT_EQ(spec.centerNet->outputs[1].name, "hm");
  EXPECT_EQ(spec.centerNet->outputs[2].name, "id");
  EXPECT_EQ(spec.centerNet->outputs[2].classes, 128);
  std::vector<TensorSpec> outputs = spec.outputs();
  EXPECT_EQ(outputs[1].name, "hm");
  EXPECT_EQ(outputs[1].shape, (std::vector<int64_t>{1, 80, 128, 128}));

  ModelSpec single = parseOk(doc({kInput, kDla34, kNeck,
                                  R"("heads": {"head_conv": 0, "final_kernel": 3,
                                               "outputs": {"hm": 1}})"}));
  EXPECT_EQ(single.centerNet->headConv, 0);
  EXPECT_EQ(single.centerNet->finalKernel, 3);
}

TEST(ModelSpecHeads, Classifier) {
  ModelSpec spec = parseOk(doc({R"("input": {"shape": [4, 3, 224, 224]})", kDla34,
                                R"("heads": {"classifier": {"num_classes": 10, "pool_size": 7}})"}));
  ASSERT_TRUE(spec.classifier);
  EXPECT_EQ(spec.paramPrefix, "");
  EXPECT_EQ(spec.outputs()[0].name, "logits");
  EXPECT_EQ(spec.outputs()[0].shape, (std::vector<int64_t>{4, 10}));

  // 512x512 leaves 16x16 at level5; AvgPool2d(7) gives 2x2, flattened.
  ModelSpec large = parseOk(doc({kInput, kDla34, R"("heads": {"classifier": {}})"}));
  EXPECT_EQ(large.classifier->numClasses, 1000);
  EXPECT_EQ(large.classifier->poolSize, 7);
  EXPECT_EQ(large.outputs()[0].shape, (std::vector<int64_t>{1, 4000}));
}

TEST(ModelSpecTopLevel, DefaultsPrecisionAndComments) {
  ModelSpec spec = parseOk(doc({kInput, kDla34}));
  EXPECT_EQ(spec.name, "model");
  EXPECT_EQ(spec.precision, Precision::F32);
  EXPECT_EQ(parseOk(doc({kInput, kDla34, R"("precision": "f16")"})).precision, Precision::F16);
  EXPECT_EQ(parseOk(doc({kInput, kDla34, R"("precision": "bf16")"})).precision, Precision::BF16);
  EXPECT_EQ(parseOk(doc({kInput, kDla34, R"("precision": "tf32")"})).precision, Precision::TF32);
  ModelSpec commented = parseOk(R"(// a model
    {
      /* block
         comment */ "name": "m-1.v2",  // trailing
      "input": {"shape": [1, 3, 64, 64]}, "backbone": {"preset": "dla34"}
    })");
  EXPECT_EQ(commented.name, "m-1.v2");
}

#ifdef DLAC_EXAMPLES_DIR
TEST(ModelSpecExamples, EveryExampleParses) {
  int count = 0;
  for (const auto &entry : std::filesystem::directory_iterator(DLAC_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".json")
      continue;
    SCOPED_TRACE(entry.path().string());
    std::vector<Diagnostic> diags;
    std::optional<ModelSpec> spec = parseModelSpecFile(entry.path().string(), diags);
    EXPECT_TRUE(spec.has_value()) << (diags.empty() ? "" : diags[0].str());
    if (spec) {
      EXPECT_EQ(spec->name, entry.path().stem().string());
    }
    ++count;
  }
  EXPECT_EQ(count, 12);
}
#endif

} // namespace
