//===- SafetensorsTest.cpp - tests of the safetensors reader/writer -------===//

#include "dlart/Safetensors.h"
#include "dlart/Sha256.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

using namespace dlart;

namespace {

uint32_t floatBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

class SafetensorsTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "dlart_st_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
    path = dir + "/weights.safetensors";
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // Writes raw bytes to `path`.
  void writeBytes(const std::string &bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // Writes a file with the given header text and `dataSize` zero bytes.
  void writeRaw(const std::string &header, size_t dataSize) {
    uint64_t n = header.size();
    std::string bytes(reinterpret_cast<const char *>(&n), 8);
    writeBytes(bytes + header + std::string(dataSize, '\0'));
  }

  // Opens `path`, expecting failure; returns the message.
  std::string openError() {
    std::string err;
    auto file = SafetensorsFile::open(path, err);
    EXPECT_EQ(file, nullptr);
    return err;
  }

  std::unique_ptr<SafetensorsFile> openOk() {
    std::string err;
    auto file = SafetensorsFile::open(path, err);
    EXPECT_NE(file, nullptr) << err;
    return file;
  }

  std::string dir, path;
};

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

TEST(DTypeTest, NamesAndSizes) {
  DType d;
  ASSERT_TRUE(parseDType("BF16", d));
  EXPECT_EQ(d, DType::BF16);
  EXPECT_STREQ(dtypeName(DType::BOOL), "BOOL");
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
  EXPECT_EQ(dtypeSize(DType::BOOL), 1u);
  EXPECT_FALSE(parseDType("F8_E4M3", d));
  EXPECT_TRUE(isFloatDType(DType::F16));
  EXPECT_FALSE(isFloatDType(DType::I64));
  EXPECT_EQ(formatShape({16, 3, 7, 7}), "[16, 3, 7, 7]");
  EXPECT_EQ(formatShape({}), "[]");
}

TEST(ConversionTest, Half) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x3555), 0x1.554p-2f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);     // Largest finite.
  EXPECT_EQ(halfToFloat(0x0400), 0x1p-14f);     // Smallest normal.
  EXPECT_EQ(halfToFloat(0x0001), 0x1p-24f);     // Smallest subnormal.
  EXPECT_EQ(halfToFloat(0x03ff), 0x1.ff8p-15f); // Largest subnormal.
  EXPECT_EQ(halfToFloat(0x8001), -0x1p-24f);
  EXPECT_EQ(floatBits(halfToFloat(0x0000)), 0x00000000u);
  EXPECT_EQ(floatBits(halfToFloat(0x8000)), 0x80000000u); // -0
  EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0xfc01)));
  EXPECT_EQ(floatBits(halfToFloat(0x7e01)), 0x7fc02000u); // Payload kept.
#ifdef __FLT16_MAX__
  // Every non-NaN bit pattern agrees with the compiler's conversion.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    _Float16 ref;
    uint16_t bits = static_cast<uint16_t>(h);
    std::memcpy(&ref, &bits, 2);
    float want = static_cast<float>(ref);
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(halfToFloat(bits))) << h;
    else
      EXPECT_EQ(floatBits(halfToFloat(bits)), floatBits(want)) << h;
  }
#endif
}

TEST(ConversionTest, BFloat16) {
  EXPECT_EQ(bfloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(0xc0a0), -5.0f);
  EXPECT_EQ(bfloat16ToFloat(0x0001), 0x1p-133f); // Smallest subnormal.
  EXPECT_EQ(bfloat16ToFloat(0x0080), 0x1p-126f); // Smallest normal.
  EXPECT_EQ(floatBits(bfloat16ToFloat(0x8000)), 0x80000000u);
  EXPECT_EQ(bfloat16ToFloat(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bfloat16ToFloat(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0x7fc0)));
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0xff81)));
}

//===----------------------------------------------------------------------===//
// Round trip
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, RoundTrip) {
  std::vector<float> w = {1, -2, 3.5f, 0, 1e-30f, -1e30f};
  float scalar = 42;
  std::vector<uint16_t> half = {0x3c00, 0x0001, 0xfc00};
  std::vector<uint16_t> bf16 = {0x3f80, 0x8000};
  std::vector<double> f64 = {0.1, -1e300};
  std::vector<int64_t> ints = {7, -1};
  uint8_t flag = 1; // One BOOL puts the total data size at an odd number.
  std::vector<TensorData> tensors = {
      {"w", DType::F32, {2, 3}, w.data(), w.size() * 4},
      {"a.half", DType::F16, {3}, half.data(), 6},
      {"bf", DType::BF16, {1, 2}, bf16.data(), 4},
      {"d", DType::F64, {2}, f64.data(), 16},
      {"flag", DType::BOOL, {}, &flag, 1},
      {"ints", DType::I64, {2}, ints.data(), 16},
      {"s", DType::F32, {}, &scalar, 4},
      {"empty", DType::F32, {0, 4}, nullptr, 0},
  };
  std::string err;
  ASSERT_TRUE(writeSafetensors(path, tensors, {{"format", "pt"}}, err)) << err;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." +
                                       std::to_string(::getpid())));

  auto file = openOk();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->names(), (std::vector<std::string>{"a.half", "bf", "d",
                                                     "empty", "flag", "ints",
                                                     "s", "w"}));
  EXPECT_EQ(file->metadata(),
            (std::map<std::string, std::string>{{"format", "pt"}}));

  // Header padded to 8 bytes; data contiguous and each tensor aligned.
  uint64_t headerSize;
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char *>(&headerSize), 8);
  EXPECT_EQ(headerSize % 8, 0u);
  size_t total = 0;
  for (const TensorInfo &t : file->tensors()) {
    total += t.byteSize;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % dtypeSize(t.dtype), 0u)
        << t.name;
  }
  EXPECT_EQ(std::filesystem::file_size(path), 8 + headerSize + total);

  for (const TensorData &want : tensors) {
    const TensorInfo *t = file->find(want.name);
    ASSERT_NE(t, nullptr) << want.name;
    EXPECT_EQ(t->dtype, want.dtype) << want.name;
    EXPECT_EQ(t->shape, want.shape) << want.name;
    ASSERT_EQ(t->byteSize, want.byteSize) << want.name;
    if (want.byteSize) {
      EXPECT_EQ(std::memcmp(t->data, want.data, want.byteSize), 0) << want.name;
    }
  }
  EXPECT_EQ(file->find("missing"), nullptr);

  std::vector<float> out;
  ASSERT_TRUE(file->readAsF32("w", out, err)) << err;
  EXPECT_EQ(out, w);
  ASSERT_TRUE(file->readAsF32("s", out, err)) << err;
  EXPECT_EQ(out, std::vector<float>{42});
  ASSERT_TRUE(file->readAsF32("a.half", out, err)) << err;
  EXPECT_EQ(out, (std::vector<float>{1, 0x1p-24f,
                                     -std::numeric_limits<float>::infinity()}));
  ASSERT_TRUE(file->readAsF32("bf", out, err)) << err;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(floatBits(out[1]), 0x80000000u);
  ASSERT_TRUE(file->readAsF32("d", out, err)) << err;
  EXPECT_EQ(out, (std::vector<float>{0.1f,
                                     -std::numeric_limits<float>::infinity()}));
  ASSERT_TRUE(file->readAsF32("empty", out, err)) << err;
  EXPECT_TRUE(out.empty());

  EXPECT_FALSE(file->readAsF32("ints", out, err));
  EXPECT_EQ(err, path + ": tensor 'ints' has dtype I64, expected a float dtype");
  EXPECT_FALSE(file->readAsF32("nope", out, err));
  EXPECT_EQ(err, path + ": no tensor named 'nope'");
}

TEST_F(SafetensorsTest, OverwriteAndNoMetadata) {
  float one = 1, two = 2;
  std::string err;
  ASSERT_TRUE(writeSafetensors(path, {{"x", DType::F32, {1}, &one, 4}}, {}, err));
  ASSERT_TRUE(writeSafetensors(path, {{"y", DType::F32, {1}, &two, 4}}, {}, err));
  auto file = openOk();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->names(), std::vector<std::string>{"y"});
  EXPECT_TRUE(file->metadata().empty());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1); // No temporary file left behind.
}

TEST_F(SafetensorsTest, WriteErrors) {
  float v[2] = {1, 2};
  std::string err;
  std::string bad = dir + "/no/such/dir/out.safetensors";
  EXPECT_FALSE(writeSafetensors(bad, {{"x", DType::F32, {2}, v, 8}}, {}, err));
  EXPECT_EQ(err, bad + ": cannot create temporary file '" + bad + ".tmp." +
                     std::to_string(::getpid()) +
                     "': No such file or directory");

  EXPECT_FALSE(writeSafetensors(path, {{"x", DType::F32, {3}, v, 8}}, {}, err));
  EXPECT_EQ(err, path + ": tensor 'x': shape [3] needs 12 bytes of F32 but 8 "
                        "were given");
  EXPECT_FALSE(writeSafetensors(
      path, {{"x", DType::F32, {2}, v, 8}, {"x", DType::F32, {2}, v, 8}}, {},
      err));
  EXPECT_EQ(err, path + ": tensor 'x': given more than once");
  EXPECT_FALSE(
      writeSafetensors(path, {{"x", DType::F32, {-2}, v, 8}}, {}, err));
  EXPECT_EQ(err, path + ": tensor 'x': shape [-2] has a negative dimension");
  EXPECT_FALSE(std::filesystem::exists(path));
}

//===----------------------------------------------------------------------===//
// Corrupt files: one test per class, with the exact message.
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, MissingFile) {
  EXPECT_EQ(openError(), path + ": cannot open: No such file or directory");
}

TEST_F(SafetensorsTest, EmptyFile) {
  writeBytes("");
  EXPECT_EQ(openError(),
            path + ": file is empty (expected an 8-byte header length)");
}

TEST_F(SafetensorsTest, ShorterThanEightBytes) {
  writeBytes("abcde");
  EXPECT_EQ(openError(),
            path + ": file is 5 bytes, too short for the 8-byte header length");
}

TEST_F(SafetensorsTest, HeaderLongerThanFile) {
  uint64_t n = 999999;
  writeBytes(std::string(reinterpret_cast<const char *>(&n), 8) +
             std::string(112, ' '));
  EXPECT_EQ(openError(), path + ": header length 999999 exceeds the 112 bytes "
                                "after the length field (file size 120)");
}

TEST_F(SafetensorsTest, HeaderAboveLimit) {
  // A sparse file, so the test costs no disk space.
  uint64_t n = (100u << 20) + 8;
  writeBytes(std::string(reinterpret_cast<const char *>(&n), 8));
  std::filesystem::resize_file(path, 8 + n);
  EXPECT_EQ(openError(), path + ": header length 104857608 exceeds the limit "
                                "of 104857600 bytes");
}

TEST_F(SafetensorsTest, EmptyHeader) {
  writeRaw("", 0);
  EXPECT_EQ(openError(), path + ": header is empty (expected a JSON object)");
}

TEST_F(SafetensorsTest, HeaderNotJson) {
  writeRaw("{x", 0);
  EXPECT_EQ(openError(),
            path + ": header is not valid JSON: syntax error at byte 2 of the "
                   "header");
}

TEST_F(SafetensorsTest, HeaderNotObject) {
  writeRaw("[1, 2]  ", 0);
  EXPECT_EQ(openError(), path + ": header is not a JSON object (got array)");
}

TEST_F(SafetensorsTest, DuplicateKey) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
           8);
  EXPECT_EQ(openError(), path + ": header has duplicate key 'a'");
}

TEST_F(SafetensorsTest, UnknownDType) {
  writeRaw(R"({"base.level0.0.weight":{"dtype":"F8","shape":[4],)"
           R"("data_offsets":[0,4]}})",
           4);
  EXPECT_EQ(openError(),
            path + ": tensor 'base.level0.0.weight': unknown dtype 'F8'");
}

TEST_F(SafetensorsTest, EntryNotObject) {
  writeRaw(R"({"a":[1]})", 0);
  EXPECT_EQ(openError(), path + ": tensor 'a': expected an object with dtype, "
                                "shape and data_offsets, got array");
}

TEST_F(SafetensorsTest, MissingField) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[1]}})", 4);
  EXPECT_EQ(openError(), path + ": tensor 'a': missing field 'data_offsets'");
}

TEST_F(SafetensorsTest, UnexpectedField) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})",
           4);
  EXPECT_EQ(openError(), path + ": tensor 'a': unexpected field 'x'");
}

TEST_F(SafetensorsTest, ShapeByteLengthMismatch) {
  writeRaw(R"({"base.level0.0.weight":{"dtype":"F32","shape":[16,3,7,7],)"
           R"("data_offsets":[0,100]}})",
           100);
  EXPECT_EQ(openError(), path + ": tensor 'base.level0.0.weight': shape "
                                "[16, 3, 7, 7] needs 9408 bytes of F32 but "
                                "data_offsets span 100");
}

TEST_F(SafetensorsTest, NegativeDim) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,0]}})", 0);
  EXPECT_EQ(openError(),
            path + ": tensor 'a': shape [2, -3] has a negative dimension");
}

TEST_F(SafetensorsTest, NonIntegerShape) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,0]}})", 0);
  EXPECT_EQ(openError(),
            path + ": tensor 'a': shape must be an array of integers, got "
                   "[2.5]");
}

TEST_F(SafetensorsTest, ElementCountOverflow) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
           R"("data_offsets":[0,0]}})",
           0);
  EXPECT_EQ(openError(), path + ": tensor 'a': shape [4294967296, 4294967296] "
                                "has too many elements");
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  writeRaw(R"({"base.level0.0.weight":{"dtype":"F32","shape":[25],)"
           R"("data_offsets":[0,100]}})",
           64);
  EXPECT_EQ(openError(), path + ": tensor 'base.level0.0.weight': "
                                "data_offsets [0, 100] end beyond the 64 "
                                "bytes of data");
}

TEST_F(SafetensorsTest, OffsetsReversed) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8);
  EXPECT_EQ(openError(),
            path + ": tensor 'a': data_offsets [8, 4] begin after end");
}

TEST_F(SafetensorsTest, OffsetsMalformed) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 8);
  EXPECT_EQ(openError(), path + ": tensor 'a': data_offsets must be [begin, "
                                "end] with non-negative integers, got [-4,0]");
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           12);
  EXPECT_EQ(openError(), path + ": tensors 'a' and 'b' overlap");
}

TEST_F(SafetensorsTest, ContainedTensorOverlaps) {
  // 'b' lies inside 'a' and 'c' follows 'b': the check must remember 'a'.
  writeRaw(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
           16);
  EXPECT_EQ(openError(), path + ": tensors 'a' and 'b' overlap");
}

TEST_F(SafetensorsTest, GapsAndEmptyTensorsAllowed) {
  writeRaw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
           R"("b":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)"
           R"("__metadata__":{"format":"pt"}}   )",
           16);
  auto file = openOk();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, MetadataNotStrings) {
  writeRaw(R"({"__metadata__":{"epoch":3}})", 0);
  EXPECT_EQ(openError(), path + ": __metadata__ must be an object of strings, "
                                "but 'epoch' is number");
}

//===----------------------------------------------------------------------===//
// checkParameters
//===----------------------------------------------------------------------===//

class CheckParametersTest : public SafetensorsTest {
protected:
  // Writes F32 tensors "conv.weight" [4, 3, 3, 3], "conv.bias" [4], the I64
  // "bn.num_batches_tracked" [] and "step" (I64 []) and opens the file.
  std::unique_ptr<SafetensorsFile> openSample() {
    std::vector<float> w(4 * 3 * 3 * 3), b(4);
    int64_t n = 0;
    std::string err;
    EXPECT_TRUE(writeSafetensors(
        path,
        {{"conv.weight", DType::F32, {4, 3, 3, 3}, w.data(), w.size() * 4},
         {"conv.bias", DType::F32, {4}, b.data(), 16},
         {"bn.num_batches_tracked", DType::I64, {}, &n, 8},
         {"step", DType::I64, {}, &n, 8}},
        {}, err))
        << err;
    return openOk();
  }
};

TEST_F(CheckParametersTest, Missing) {
  auto file = openSample();
  ASSERT_NE(file, nullptr);
  std::string err;
  std::vector<std::string> warnings;
  EXPECT_FALSE(checkParameters(*file,
                               {{"conv.weight", {4, 3, 3, 3}},
                                {"a", {1}},
                                {"conv.bias", {4}},
                                {"b", {1}},
                                {"c", {1}}},
                               err, warnings));
  EXPECT_EQ(err, path + ": 3 parameters missing: 'a', 'b', 'c'");
}

TEST_F(CheckParametersTest, ManyMissingListsFirstFive) {
  auto file = openSample();
  ASSERT_NE(file, nullptr);
  std::string err;
  std::vector<std::string> warnings;
  std::vector<ParamSpec> required;
  for (const char *name : {"p1", "p2", "p3", "p4", "p5", "p6", "p7"})
    required.push_back({name, {1}});
  EXPECT_FALSE(checkParameters(*file, required, err, warnings));
  EXPECT_EQ(err, path + ": 7 parameters missing: 'p1', 'p2', 'p3', 'p4', "
                        "'p5', and 2 more");
}

TEST_F(CheckParametersTest, WrongShape) {
  auto file = openSample();
  ASSERT_NE(file, nullptr);
  std::string err;
  std::vector<std::string> warnings;
  EXPECT_FALSE(checkParameters(
      *file, {{"conv.weight", {4, 3, 7, 7}}, {"conv.bias", {4}}}, err,
      warnings));
  EXPECT_EQ(err, path + ": 1 parameter with the wrong shape: 'conv.weight' is "
                        "[4, 3, 3, 3] in the file, expected [4, 3, 7, 7]");
}

TEST_F(CheckParametersTest, WrongDType) {
  auto file = openSample();
  ASSERT_NE(file, nullptr);
  std::string err;
  std::vector<std::string> warnings;
  EXPECT_FALSE(checkParameters(*file,
                               {{"conv.weight", {4, 3, 3, 3}},
                                {"conv.bias", {4}},
                                {"step", {}},
                                {"bn.num_batches_tracked", {}}},
                               err, warnings));
  EXPECT_EQ(err, path + ": 2 parameters with a non-float dtype: "
                        "'step' is I64, 'bn.num_batches_tracked' is I64");
}

TEST_F(CheckParametersTest, SeveralProblemsOneLineEach) {
  auto file = openSample();
  ASSERT_NE(file, nullptr);
  std::string err;
  std::vector<std::string> warnings;
  EXPECT_FALSE(checkParameters(
      *file, {{"x", {1}}, {"conv.bias", {5}}, {"step", {}}}, err, warnings));
  EXPECT_EQ(err, path + ": 1 parameter missing: 'x'\n" + path +
                     ": 1 parameter with the wrong shape: 'conv.bias' is [4] "
                     "in the file, expected [5]\n" +
                     path + ": 1 parameter with a non-float dtype: 'step' is "
                            "I64");
  EXPECT_EQ(warnings,
            std::vector<std::string>{
                path + ": unexpected tensor 'conv.weight' is not a model "
                       "parameter (ignored)"});
}

TEST_F(CheckParametersTest, UnexpectedKeyWarning) {
  auto file = openSample();
  ASSERT_NE(file, nullptr);
  std::string err;
  std::vector<std::string> warnings;
  EXPECT_TRUE(checkParameters(
      *file, {{"conv.weight", {4, 3, 3, 3}}, {"conv.bias", {4}}}, err,
      warnings))
      << err;
  EXPECT_EQ(warnings,
            std::vector<std::string>{path + ": unexpected tensor 'step' is "
                                            "not a model parameter (ignored)"});
}

TEST_F(CheckParametersTest, NumBatchesTrackedIgnored) {
  float w = 0;
  int64_t n = 0;
  std::string err;
  ASSERT_TRUE(writeSafetensors(
      path,
      {{"bn.weight", DType::F32, {1}, &w, 4},
       {"bn.num_batches_tracked", DType::I64, {}, &n, 8},
       {"num_batches_tracked", DType::I64, {}, &n, 8}},
      {}, err));
  auto file = openOk();
  ASSERT_NE(file, nullptr);
  std::vector<std::string> warnings;
  EXPECT_TRUE(checkParameters(*file, {{"bn.weight", {1}}}, err, warnings))
      << err;
  EXPECT_TRUE(warnings.empty());
}

} // namespace

// The FIPS 180-4 / NIST example digests, and block-boundary lengths against
// an incremental update of the same bytes.
TEST(Sha256, KnownDigests) {
  auto digest = [](const std::string &s) {
    dlart::Sha256 sha;
    sha.update(s.data(), s.size());
    return sha.hex();
  };
  EXPECT_EQ(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(digest(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  for (size_t n : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u}) {
    std::string s(n, 'x');
    dlart::Sha256 sha;
    for (char c : s)
      sha.update(&c, 1);
    EXPECT_EQ(sha.hex(), digest(s)) << n << " bytes";
  }
}
