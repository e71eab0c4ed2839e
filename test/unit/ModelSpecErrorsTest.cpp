//===- ModelSpecErrorsTest.cpp - Errors of the JSON model-description importer ===//
//
// Every kind of mistake in a model description gets a diagnostic with its
// file, line, column and JSON path (ModelSpecTest.cpp has the valid forms);
// no input crashes or hangs the parser.
//
//===----------------------------------------------------------------------===//

#include "test/unit/ModelSpecTestUtil.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

using namespace dla::frontend;
using namespace dla::frontend::testing;

namespace {

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
            "model.json:1:86: error: precision: expected one of \"f32\", \"tf32\", \"f16\", \"bf16\", "
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
