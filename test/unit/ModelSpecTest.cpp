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

using namespace dla::frontend;

namespace {

const char *const kInput = R"("input": {"shape": [1, 3, 512, 512]})";
const char *const kDla34 = R"("backbone": {"preset": "dla34"})";
const char *const kNeck = R"("neck": {"down_ratio": 4, "last_level": 5})";
const char *const kHeads = R"("heads": {"outputs": {"hm": 80, "wh": 2, "reg": 2}})";

/// "{a, b, c}": a one-line document from top-level members.
std::string doc(std::initializer_list<std::string> members) {
  std::string result = "{";
  for (const std::string &member : members)
    result += (result.size() > 1 ? ", " : "") + member;
  return result + "}";
}

ModelSpec parseOk(const std::string &text) {
  std::vector<Diagnostic> diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, "model.json", diags);
  std::string rendered;
  for (const Diagnostic &diag : diags)
    rendered += diag.str() + "\n";
  EXPECT_TRUE(spec.has_value()) << rendered;
  EXPECT_TRUE(diags.empty()) << rendered;
  return spec.value_or(ModelSpec{});
}

/// All diagnostics, one per line; the parse must fail.
std::string errors(const std::string &text) {
  std::vector<Diagnostic> diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, "model.json", diags);
  EXPECT_FALSE(spec.has_value());
  std::string rendered;
  for (const Diagnostic &diag : diags)
    rendered += (rendered.empty() ? "" : "\n") + diag.str();
  return rendered;
}

/// A CenterNet model around the given backbone members.
std::string ctdet(const std::string &backbone) {
  return doc({kInput, "\"backbone\": {" + backbone + "}", kNeck, kHeads});
}

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
  // f16 and bf16 are known values, refused until a stage implements them.
  EXPECT_EQ(errors(doc({kInput, kDla34, R"("precision": "f16")"})),
            "model.json:1:86: error: precision: \"f16\" is not implemented yet: "
            "this dlac compiles \"f32\" only");
  EXPECT_NE(errors(doc({kInput, kDla34, R"("precision": "bf16")"})).find(
                "precision: \"bf16\" is not implemented yet"),
            std::string::npos);
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

//===----------------------------------------------------------------------===//
// Errors: the document as a whole
//===----------------------------------------------------------------------===//

TEST(ModelSpecErrors, EmptyAndNonObjectDocuments) {
  EXPECT_EQ(errors(""),
            "model.json:1:1: error: the model description is empty; expected a JSON object");
  EXPECT_EQ(errors(" \n\t "),
            "model.json:1:1: error: the model description is empty; expected a JSON object");
  EXPECT_EQ(errors("[1, 2]"), "model.json:1:1: error: the top level must be an object "
                              "describing the model, got an array");
  EXPECT_EQ(errors("  \"dla34\""), "model.json:1:3: error: the top level must be an "
                                   "object describing the model, got \"dla34\"");
  EXPECT_EQ(errors("null"), "model.json:1:1: error: the top level must be an object "
                            "describing the model, got null");
}

TEST(ModelSpecErrors, SyntaxErrorsHavePositions) {
  EXPECT_EQ(errors("{\n  \"input\": {\"shape\": [1, 3, 512"),
            "model.json:2:32: error: syntax error while parsing array - unexpected end of "
            "input; expected ']'");
  EXPECT_EQ(errors("{\n  \"a\": 1\n  \"b\": 2\n}"),
            "model.json:3:5: error: syntax error while parsing object - unexpected string "
            "literal; expected '}'");
  EXPECT_EQ(errors("{\"a\": tru}"),
            "model.json:1:10: error: syntax error while parsing value - invalid literal; "
            "last read: '\"a\": tru}'");
  EXPECT_EQ(errors("{} x"), "model.json:1:4: error: syntax error while parsing value - "
                            "invalid literal; last read: '{} x'; expected end of input");
  EXPECT_EQ(errors("{\"a\": 1,}"), "model.json:1:9: error: syntax error while parsing "
                                   "object key - unexpected '}'; expected string literal");
  EXPECT_EQ(errors("{/* never closed"),
            "model.json:1:17: error: syntax error while parsing object key - invalid "
            "comment; missing closing '*/'; last read: '{/* never closed'; expected string "
            "literal");
}

TEST(ModelSpecErrors, DeepNesting) {
  std::string deep(100000, '[');
  EXPECT_EQ(errors(deep), "model.json:1:65: error: nesting deeper than 64 levels is not "
                          "supported");
  // 64 levels are fine as far as nesting goes.
  std::string ok = "{\"x\": " + std::string(63, '[') + std::string(63, ']') + "}";
  // Diagnostics come in file order.
  EXPECT_EQ(errors(ok), "model.json:1:1: error: missing required key 'input'\n"
                        "model.json:1:1: error: missing required key 'backbone'\n"
                        "model.json:1:2: error: x: unknown key 'x'; expected one of 'name', "
                        "'input', 'precision', 'backbone', 'neck', 'heads'");
}

TEST(ModelSpecErrors, FileSizeLimit) {
  std::string huge = "{\"name\": \"" + std::string(limits::kMaxFileBytes, 'a') + "\"}";
  EXPECT_EQ(errors(huge), "model.json:1:1: error: the model description is 1048588 bytes; "
                          "at most 1048576 (1 MiB) are supported");
}

TEST(ModelSpecErrors, DuplicateKeys) {
  EXPECT_EQ(errors(doc({kInput, kDla34, kNeck,
                        R"("heads": {"outputs": {"hm": 80, "wh": 2, "hm": 1}})"})),
            "model.json:1:158: error: duplicate key 'hm'; the first one is at 1:139");
  EXPECT_EQ(errors("{\"input\": {},\n \"input\": {}}"),
            "model.json:2:2: error: duplicate key 'input'; the first one is at 1:2");
}

TEST(ModelSpecErrors, Files) {
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(parseModelSpecFile("/nonexistent/model.json", diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].str(),
            "/nonexistent/model.json: error: cannot open file: No such file or directory");

  std::string path = ::testing::TempDir() + "modelspec_test.json";
  std::ofstream(path) << "{\n  \"input\": {\"shape\": [1, 3, 512, 512]},\n"
                         "  \"backbone\": {\"preset\": \"dla34\", \"block\": \"basic\"}\n}\n";
  diags.clear();
  EXPECT_FALSE(parseModelSpecFile(path, diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].str(), path + ":3:35: error: backbone.block: 'block' cannot be combined "
                                   "with 'preset': a backbone is either {\"preset\": NAME}, "
                                   "the DLA constructor fields (levels, channels, block, "
                                   "residual_root, cardinality) or explicit \"base\" and "
                                   "\"stages\"");
  std::remove(path.c_str());
}

//===----------------------------------------------------------------------===//
// Errors: types and ranges of fields
//===----------------------------------------------------------------------===//

TEST(ModelSpecErrors, DesignDocExample) {
  EXPECT_EQ(errors(R"({
  "input": {"shape": [1, 3, 512, 512]},
  "backbone": {"levels": [1, 1, 1, -2, 2, 1],
               "channels": [16, 32, 64, 128, 256, 512]}
})"),
            "model.json:3:36: error: backbone.levels[3]: expected an integer >= 1, got -2");
}

TEST(ModelSpecErrors, WrongScalarTypes) {
  EXPECT_EQ(errors(R"({"input": {"shape": [1.5, true, "3", null]}, "backbone": {"preset": "dla34"}})"),
            "model.json:1:22: error: input.shape[0]: expected an integer >= 1, got 1.5\n"
            "model.json:1:27: error: input.shape[1]: expected an integer >= 1, got true\n"
            "model.json:1:33: error: input.shape[2]: expected an integer >= 1, got \"3\"\n"
            "model.json:1:38: error: input.shape[3]: expected an integer >= 1, got null");
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 64, 64]}, "backbone": {"preset": 34}})"),
            "model.json:1:61: error: backbone.preset: expected a string, got 34");
  EXPECT_EQ(errors(ctdet(R"("levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 64, 128, 256, 512],
                            "residual_root": 1)")),
            "model.json:2:46: error: backbone.residual_root: expected true or false, got 1");
  EXPECT_EQ(errors(R"({"input": null, "backbone": [], "neck": 4})"),
            "model.json:1:11: error: input: expected an object, got null\n"
            "model.json:1:29: error: backbone: expected an object, got an array\n"
            "model.json:1:41: error: neck: expected an object, got 4");
}

TEST(ModelSpecErrors, HugeNumbers) {
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 99999999999999999999, 18446744073709551615]},
                       "backbone": {"preset": "dla34"}})"),
            "model.json:1:28: error: input.shape[2]: expected an integer <= 65536 (the limit "
            "on the input size), got 99999999999999999999\n"
            "model.json:1:50: error: input.shape[3]: expected an integer <= 65536 (the limit "
            "on the input size), got 18446744073709551615");
  EXPECT_EQ(errors(R"({"input": {"shape": [-99999999999999999999, 3, 64, 64]},
                       "backbone": {"preset": "dla34"}})"),
            "model.json:1:22: error: input.shape[0]: expected an integer >= 1, got "
            "-99999999999999999999");
  // nlohmann rejects numbers beyond the range of a double while parsing.
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 1e400, 64]}})"),
            "model.json:1:28: error: number overflow parsing '1e400'");
  EXPECT_EQ(errors(R"({"input": {"shape": [2000, 3, 64, 64]}, "backbone": {"preset": "dla34"}})"),
            "model.json:1:22: error: input.shape[0]: expected an integer <= 1024 (the limit "
            "on the batch size), got 2000");
  EXPECT_EQ(errors(ctdet(R"("levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 64, 128, 256, 100000])")),
            "model.json:1:118: error: backbone.channels[5]: expected an integer <= 65536 (the "
            "limit on channels), got 100000");
  EXPECT_EQ(errors(ctdet(R"("levels": [1, 1, 1, 2, 9, 1], "channels": [16, 32, 64, 128, 256, 512])")),
            "model.json:1:76: error: backbone.levels[4]: expected an integer <= 8 (the limit "
            "on tree levels), got 9");
}

TEST(ModelSpecErrors, TensorSizeLimit) {
  EXPECT_EQ(errors(R"({"input": {"shape": [1024, 3, 65536, 65536]}, "backbone": {"preset": "dla34"}})"),
            "model.json:1:21: error: input.shape: the input (1024x3x65536x65536) has "
            "13194139533312 elements; at most 2147483647 (2^31 - 1) are supported");
  // The input fits, the 16- and 32-channel maps of the stem do not.
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 16384, 16384]}, "backbone": {"preset": "dla34"}})"),
            "model.json:1:67: error: backbone.preset: the base layer output (1x16x16384x16384) "
            "has 4294967296 elements; at most 2147483647 (2^31 - 1) are supported\n"
            "model.json:1:67: error: backbone.preset: the level0 output (1x16x16384x16384) has "
            "4294967296 elements; at most 2147483647 (2^31 - 1) are supported\n"
            "model.json:1:67: error: backbone.preset: the level1 output (1x32x8192x8192) has "
            "2147483648 elements; at most 2147483647 (2^31 - 1) are supported");
}

TEST(ModelSpecErrors, ArraysOfTheWrongLength) {
  EXPECT_EQ(errors(R"({"input": {"shape": [3, 512, 512]}, "backbone": {"preset": "dla34"}})"),
            "model.json:1:21: error: input.shape: expected an array of 4 integers, got 3 "
            "elements");
  EXPECT_EQ(errors(ctdet(R"("levels": {"a": 1}, "channels": [16])")),
            "model.json:1:63: error: backbone.levels: expected an array of 6 integers, got an "
            "object\n"
            "model.json:1:85: error: backbone.channels: expected an array of 6 integers, got 1 "
            "element");
  EXPECT_EQ(errors(ctdet(R"("base": {"out": 16}, "stages": [{"type": "conv", "convs": 1, "out": 16}])")),
            "model.json:1:84: error: backbone.stages: expected an array of 6 stages (level0 to "
            "level5), got 1 stage");
}

TEST(ModelSpecErrors, UnknownKeysSuggestTheClosest) {
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 512, 512]}, "backbone": {"preset": "dla34"},
  "nekc": {"down_ratio": 4}, "heads": {"ouputs": {"hm": 80}}})"),
            "model.json:2:3: error: nekc: unknown key 'nekc'; did you mean 'neck'?\n"
            "model.json:2:39: error: heads: missing required key 'outputs' (e.g. {\"hm\": 80, "
            "\"wh\": 2, \"reg\": 2})\n"
            "model.json:2:40: error: heads.ouputs: unknown key 'ouputs'; did you mean "
            "'outputs'?");
  // A misspelled form key is the only error, not also an "empty backbone".
  EXPECT_EQ(errors(ctdet(R"("levls": [1, 1, 1, 2, 2, 1])")),
            "model.json:1:53: error: backbone.levls: unknown key 'levls'; did you mean "
            "'levels'?");
  EXPECT_EQ(errors(doc({kInput, kDla34, R"("colour": "blue")"})),
            "model.json:1:73: error: colour: unknown key 'colour'; expected one of 'name', "
            "'input', 'precision', 'backbone', 'neck', 'heads'");
  EXPECT_EQ(errors(doc({kInput, kDla34, R"("a b\"c": 1)"})),
            "model.json:1:73: error: [\"a b\\\"c\"]: unknown key \"a b\\\"c\"; expected one "
            "of 'name', 'input', 'precision', 'backbone', 'neck', 'heads'");
}

TEST(ModelSpecErrors, EnumsSuggestTheClosest) {
  EXPECT_EQ(errors(doc({kInput, R"("backbone": {"preset": "dla35"})"})),
            "model.json:1:63: error: backbone.preset: expected one of \"dla34\", \"dla46_c\", "
            "\"dla46x_c\", \"dla60x_c\", \"dla60\", \"dla60x\", \"dla102\", \"dla102x\", "
            "\"dla102x2\", \"dla169\", got \"dla35\"; did you mean \"dla34\"?");
  EXPECT_EQ(errors(ctdet(R"("levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 64, 128, 256, 512],
                            "block": "Bottleneck")")),
            "model.json:2:38: error: backbone.block: expected one of \"basic\", "
            "\"bottleneck\", \"bottleneckx\", got \"Bottleneck\"; did you mean \"bottleneck\"?");
  EXPECT_EQ(errors(doc({kInput, kDla34, R"("precision": "f64", "name": "a b")"})),
            "model.json:1:86: error: precision: expected one of \"f32\", \"f16\", \"bf16\", "
            "got \"f64\"\n"
            "model.json:1:101: error: name: expected a name of 1 to 128 letters, digits, '_', "
            "'-' or '.', got \"a b\"");
}

TEST(ModelSpecErrors, MissingRequiredKeys) {
  EXPECT_EQ(errors("{}"), "model.json:1:1: error: missing required key 'input'\n"
                          "model.json:1:1: error: missing required key 'backbone'");
  EXPECT_EQ(errors(doc({kInput, R"("backbone": {})"})),
            "model.json:1:52: error: backbone: empty backbone: a backbone is either "
            "{\"preset\": NAME}, the DLA constructor fields (levels, channels, block, "
            "residual_root, cardinality) or explicit \"base\" and \"stages\"");
  EXPECT_EQ(errors(ctdet(R"("block": "basic")")),
            "model.json:1:52: error: backbone: missing required key 'levels'\n"
            "model.json:1:52: error: backbone: missing required key 'channels'");
  EXPECT_EQ(errors(ctdet(R"("stages": [])")),
            "model.json:1:52: error: backbone: missing required key 'base' (the stem conv: "
            "{\"out\": 16, \"kernel\": 7})\n"
            "model.json:1:63: error: backbone.stages: expected an array of 6 stages (level0 "
            "to level5), got 0 stages");
  EXPECT_EQ(errors(doc({R"("input": {})", kDla34})),
            "model.json:1:11: error: input: missing required key 'shape'");
}

//===----------------------------------------------------------------------===//
// Errors: the backbone
//===----------------------------------------------------------------------===//

/// An explicit-stages backbone whose stage `index` is replaced by `stage`.
std::string withStage(int index, const std::string &stage,
                      const std::string &base = R"({"out": 16})") {
  const char *stages[6] = {
      R"({"type": "conv", "convs": 1, "out": 16})",
      R"({"type": "conv", "convs": 1, "out": 32, "stride": 2})",
      R"({"type": "tree", "levels": 1, "out": 64, "stride": 2})",
      R"({"type": "tree", "levels": 2, "out": 128, "stride": 2, "level_root": true})",
      R"({"type": "tree", "levels": 2, "out": 256, "stride": 2, "level_root": true})",
      R"({"type": "tree", "levels": 1, "out": 512, "stride": 2, "level_root": true})"};
  std::string result = "\"base\": " + base + ",\n\"stages\": [\n";
  for (int i = 0; i < 6; ++i)
    result += std::string(i == index ? stage : stages[i]) + (i < 5 ? ",\n" : "]");
  return result;
}

TEST(ModelSpecErrors, ExplicitStagesAreEquivalentToThePreset) {
  ModelSpec stages = parseOk(ctdet(withStage(-1, "")));
  ModelSpec preset = parseOk(ctdet(R"("preset": "dla34")"));
  stages.preset = "dla34";
  EXPECT_EQ(stages.summary(), preset.summary());
}

TEST(ModelSpecErrors, StageFields) {
  EXPECT_EQ(errors(ctdet(withStage(2, R"({"levels": 1, "out": 64})"))),
            "model.json:5:1: error: backbone.stages[2]: missing required key 'type'");
  EXPECT_EQ(errors(ctdet(withStage(2, R"({"type": "tree", "in": 32, "levels": 1, "out": 64})"))),
            "model.json:5:18: error: backbone.stages[2].in: 'in' is derived from the previous "
            "stage's 'out' (or base.out for level0) and cannot be set");
  EXPECT_EQ(errors(ctdet(withStage(0, R"({"type": "conv", "levels": 1, "out": 16})"))),
            "model.json:3:1: error: backbone.stages[0]: missing required key 'convs'\n"
            "model.json:3:18: error: backbone.stages[0].levels: unknown key 'levels'; expected "
            "one of 'type', 'convs', 'out', 'stride', 'dilation'");
  EXPECT_EQ(errors(ctdet(withStage(2, R"({"type": "tree", "levels": 0, "out": 64, "stride": 0, "dilation": 33})"))),
            "model.json:5:28: error: backbone.stages[2].levels: expected an integer >= 1, got 0\n"
            "model.json:5:52: error: backbone.stages[2].stride: expected an integer >= 1, got 0\n"
            "model.json:5:67: error: backbone.stages[2].dilation: expected an integer <= 32 (the "
            "limit on dilations), got 33");
  EXPECT_EQ(errors(ctdet(withStage(3, R"({"type": "tree", "levels": 2, "out": 128, "stride": 2, "root_kernel_size": 3})"))),
            "model.json:6:76: error: backbone.stages[3].root_kernel_size: only root_kernel_size "
            "1 is supported: Root is a 1x1 convolution padded by (root_kernel_size - 1) / 2, so "
            "3 would change the spatial size");
  EXPECT_EQ(errors(ctdet(withStage(-1, "", R"({"out": 16, "kernel": 4})"))),
            "model.json:1:83: error: backbone.base.kernel: kernel size 4 must be odd: the "
            "convolution pads by kernel/2 to keep the spatial size");
}

TEST(ModelSpecErrors, Cardinality) {
  // BottleneckX's 3x3 conv has out*cardinality/32 channels in `cardinality`
  // groups: with out = 48, 48*32/32 = 48 is not a multiple of 32.
  EXPECT_EQ(errors(ctdet(R"("levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 48, 128, 256, 512],
                            "block": "bottleneckx")")),
            "model.json:1:104: error: backbone.channels[2]: level2: cardinality 32 must divide "
            "the BottleneckX bottleneck width out * cardinality / 32 = 48 * 32 / 32 = 48 (the "
            "3x3 conv has that many channels in cardinality groups)");
  // With out = 48 and cardinality 8 the width is 12: not 8 groups.
  EXPECT_EQ(errors(ctdet(withStage(4, R"({"type": "tree", "levels": 1, "out": 48, "stride": 2,
      "block": "bottleneckx", "cardinality": 8})"))),
            "model.json:8:46: error: backbone.stages[4].cardinality: level4: cardinality 8 must "
            "divide the BottleneckX bottleneck width out * cardinality / 32 = 48 * 8 / 32 = 12 "
            "(the 3x3 conv has that many channels in cardinality groups)");
  EXPECT_EQ(errors(ctdet(withStage(4, R"({"type": "tree", "levels": 1, "out": 256, "stride": 2, "cardinality": 0})"))),
            "model.json:7:71: error: backbone.stages[4].cardinality: expected an integer >= 1, "
            "got 0");
  EXPECT_EQ(errors(ctdet(withStage(4, R"({"type": "tree", "levels": 1, "out": 256, "stride": 2, "cardinality": 4})"))),
            "model.json:7:71: error: backbone.stages[4].cardinality: cardinality only applies "
            "to block \"bottleneckx\", but block is \"basic\"");
  EXPECT_EQ(errors(ctdet(withStage(2, R"({"type": "tree", "levels": 1, "out": 1, "stride": 2, "block": "bottleneck"})"))),
            "model.json:5:38: error: backbone.stages[2].out: level2: a bottleneck block needs "
            "out >= 2 (its 3x3 conv has out / 2 channels), got 1");
}

TEST(ModelSpecErrors, MutuallyExclusiveForms) {
  EXPECT_EQ(errors(ctdet(R"("stages": [], "preset": "dla34")")),
            "model.json:1:67: error: backbone.preset: 'preset' cannot be combined with "
            "'stages': a backbone is either {\"preset\": NAME}, the DLA constructor fields "
            "(levels, channels, block, residual_root, cardinality) or explicit \"base\" and "
            "\"stages\"");
  EXPECT_EQ(errors(doc({kInput, kDla34,
                        R"("heads": {"head_conv": 64, "classifier": {"num_classes": 10}})"})),
            "model.json:1:83: error: heads.head_conv: 'head_conv' cannot be combined with "
            "'classifier': heads are either CenterNet heads (head_conv, final_kernel, outputs) "
            "or {\"classifier\": {...}}");
}

//===----------------------------------------------------------------------===//
// Errors: input size, neck and heads
//===----------------------------------------------------------------------===//

TEST(ModelSpecErrors, InputNotDivisibleByTheTotalStride) {
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 100, 16]}, "backbone": {"preset": "dla34"}})"),
            "model.json:1:28: error: input.shape[2]: height 100 is not divisible by 32, the "
            "total stride of the backbone; use 96 or 128\n"
            "model.json:1:33: error: input.shape[3]: width 16 is not divisible by 32, the "
            "total stride of the backbone; use 32");
}

TEST(ModelSpecErrors, NeckFields) {
  auto withNeck = [](const std::string &neck) {
    return doc({kInput, kDla34, "\"neck\": " + neck, kHeads});
  };
  EXPECT_EQ(errors(withNeck(R"({"down_ratio": 3})")),
            "model.json:1:96: error: neck.down_ratio: expected 2, 4, 8 or 16, got 3");
  EXPECT_EQ(errors(withNeck(R"({"down_ratio": 32})")),
            "model.json:1:96: error: neck.down_ratio: expected 2, 4, 8 or 16, got 32");
  EXPECT_EQ(errors(withNeck(R"({"down_ratio": 4, "last_level": 2})")),
            "model.json:1:113: error: neck.last_level: expected an integer in [3, 5], got 2 "
            "(first_level = log2(down_ratio) = 2; the neck fuses levels 2 to last_level - 1)");
  EXPECT_EQ(errors(withNeck(R"({"down_ratio": 16, "last_level": 6})")),
            "model.json:1:114: error: neck.last_level: expected 5, got 6 (first_level = "
            "log2(down_ratio) = 4; the neck fuses levels 4 to last_level - 1)");
  EXPECT_EQ(errors(withNeck(R"({"out_channel": 32})")),
            "model.json:1:97: error: neck.out_channel: out_channel must be 0 or 64 (channels "
            "of level2): IDAUp adds its maps to that level and the heads read it, got 32");
  EXPECT_EQ(errors(withNeck(R"({"down_rate": 4})")),
            "model.json:1:82: error: neck.down_rate: unknown key 'down_rate'; did you mean "
            "'down_ratio'?");
}

TEST(ModelSpecErrors, NeckNeedsStride2AboveTheFirstLevel) {
  std::string model = doc({kInput, "\"backbone\": {" +
                                       withStage(4, R"({"type": "tree", "levels": 1, "out": 256, "dilation": 2})") +
                                       "}",
                           R"("neck": {"down_ratio": 4})", kHeads});
  EXPECT_EQ(errors(model),
            "model.json:7:1: error: backbone.stages[4].stride: level4 has stride 1, but the "
            "neck upsamples by 2 per level above first_level (2), so it must be 2");
}

TEST(ModelSpecErrors, HeadsAndNeckGoTogether) {
  EXPECT_EQ(errors(doc({kInput, kDla34, kHeads})),
            "model.json:1:82: error: heads: CenterNet heads read the output of the neck; add a "
            "\"neck\" (e.g. {\"down_ratio\": 4, \"last_level\": 5})");
  EXPECT_EQ(errors(doc({kInput, kDla34, kNeck})),
            "model.json:1:81: error: neck: a neck needs CenterNet heads to read its output; "
            "add \"heads\" (e.g. {\"head_conv\": 256, \"outputs\": {\"hm\": 80}})");
  EXPECT_EQ(errors(doc({kInput, kDla34, kNeck, R"("heads": {"classifier": {}})"})),
            "model.json:1:126: error: heads: a classifier reads level5 directly and cannot be "
            "combined with a \"neck\"; remove the neck or use CenterNet heads");
}

TEST(ModelSpecErrors, HeadFields) {
  auto withHeads = [](const std::string &heads) {
    return doc({kInput, kDla34, kNeck, "\"heads\": " + heads});
  };
  EXPECT_EQ(errors(withHeads(R"({"outputs": {"hm": 0, "base": 2, "2d": 2, "": 1}})")),
            "model.json:1:145: error: heads.outputs.hm: expected an integer >= 1, got 0\n"
            "model.json:1:148: error: heads.outputs.base: head name 'base' is reserved: its "
            "parameters would collide with the 'base.' state-dict keys\n"
            "model.json:1:159: error: heads.outputs[\"2d\"]: head name '2d' must be an "
            "identifier of at most 64 characters (letters, digits, '_'; not starting with a "
            "digit): it names the output and its parameters\n"
            "model.json:1:168: error: heads.outputs[\"\"]: head name \"\" must be an identifier "
            "of at most 64 characters (letters, digits, '_'; not starting with a digit): it "
            "names the output and its parameters");
  EXPECT_EQ(errors(withHeads(R"({"outputs": {}})")),
            "model.json:1:138: error: heads.outputs: expected 1 to 64 outputs, got 0");
  EXPECT_EQ(errors(withHeads(R"({"head_conv": -1, "final_kernel": 2, "outputs": {"hm": 1}})")),
            "model.json:1:140: error: heads.head_conv: expected an integer >= 0, got -1\n"
            "model.json:1:160: error: heads.final_kernel: kernel size 2 must be odd: the "
            "convolution pads by kernel/2 to keep the spatial size");
}

TEST(ModelSpecErrors, ClassifierPoolLargerThanLevel5) {
  EXPECT_EQ(errors(R"({"input": {"shape": [1, 3, 64, 96]}, "backbone": {"preset": "dla34"},
    "heads": {"classifier": {"num_classes": 10, "pool_size": 3}}})"),
            "model.json:2:62: error: heads.classifier.pool_size: pool_size 3 is larger than "
            "the 2x3 output of level5; use pool_size <= 2 or a larger input");
}

TEST(ModelSpecErrors, ManyErrorsAreCapped) {
  std::string model = "{";
  for (int i = 0; i < 1000; ++i)
    model += "\"k" + std::to_string(i) + "\": 0, ";
  model += "\"input\": {}}";
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(parseModelSpec(model, "model.json", diags));
  ASSERT_EQ(diags.size(), 21u);
  EXPECT_EQ(diags.back().message, "too many errors; stopping");
}

//===----------------------------------------------------------------------===//
// Robustness: no input crashes or hangs the parser
//===----------------------------------------------------------------------===//

const char *const kRobustnessSeed = R"({
  // every construct the format has
  "name": "robust", "input": {"shape": [2, 3, 256, 384]}, "precision": "f32",
  "backbone": {"base": {"out": 16, "kernel": 7}, "stages": [
    {"type": "conv", "convs": 2, "out": 16},
    {"type": "conv", "convs": 1, "out": 32, "stride": 2, "dilation": 1},
    {"type": "tree", "levels": 1, "block": "basic", "out": 64, "stride": 2},
    {"type": "tree", "levels": 3, "block": "bottleneck", "out": 128, "stride": 2,
     "level_root": true, "root_residual": true, "root_kernel_size": 1},
    {"type": "tree", "levels": 2, "block": "bottleneckx", "cardinality": 16, "out": 256,
     "stride": 2, "level_root": true, "dilation": 2},
    {"type": "tree", "levels": 1, "out": 512, "stride": 2, "level_root": true}]},
  /* neck */ "neck": {"down_ratio": 8, "last_level": 5, "out_channel": 0},
  "heads": {"head_conv": 64, "final_kernel": 3, "outputs": {"hm": 20, "wh": 2, "reg": 2}}
})";

TEST(ModelSpecRobustness, EveryPrefixFailsCleanly) {
  std::string text = kRobustnessSeed;
  parseOk(text);
  for (std::size_t length = 0; length < text.size(); ++length) {
    std::vector<Diagnostic> diags;
    EXPECT_FALSE(parseModelSpec(text.substr(0, length), "model.json", diags)) << length;
    ASSERT_FALSE(diags.empty()) << length;
    EXPECT_GE(diags[0].line, 1u);
  }
}

TEST(ModelSpecRobustness, RandomMutationsNeverCrash) {
  const std::string seed = kRobustnessSeed;
  const std::string alphabet = "{}[]\",:-0123456789.eE+ /*\\\nabtrufsnl\x01\xff";
  std::mt19937 random(1234);
  for (int round = 0; round < 3000; ++round) {
    std::string text = seed;
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = random() % text.size();
      char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
      case 0: text[at] = c; break;
      case 1: text.insert(text.begin() + at, c); break;
      default: text.erase(at, 1); break;
      }
    }
    std::vector<Diagnostic> diags;
    std::optional<ModelSpec> spec = parseModelSpec(text, "model.json", diags);
    // Either a model or at least one positioned error, never both.
    EXPECT_NE(spec.has_value(), !diags.empty());
    for (const Diagnostic &diag : diags) {
      EXPECT_GE(diag.line, 1u);
      EXPECT_GE(diag.column, 1u);
    }
  }
}

} // namespace
