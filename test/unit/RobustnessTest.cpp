//===- RobustnessTest.cpp - regression tests for hostile inputs -----------===//
//
// Inputs found by fuzzing (fuzz/, scripts/fuzz.sh) or written against the
// catalogue of bad inputs (docs/errors.md): each must fail with one clear
// message, never with a signal.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"
#include "dlart/dlart.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace dlart;

namespace {

std::string fileBytes(const std::string &header, size_t dataSize = 0) {
  uint64_t n = header.size();
  std::string bytes(reinterpret_cast<const char *>(&n), 8);
  return bytes + header + std::string(dataSize, '\0');
}

std::string openMemoryError(const std::string &bytes) {
  std::string err;
  auto file = SafetensorsFile::openMemory("mem.safetensors", bytes.data(),
                                          bytes.size(), err);
  EXPECT_EQ(file, nullptr);
  return err;
}

} // namespace

TEST(SafetensorsMemoryTest, SameChecksAsOpen) {
  float values[2] = {1.5f, -2.0f};
  std::string header =
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string bytes = fileBytes(header);
  bytes.append(reinterpret_cast<const char *>(values), sizeof values);
  std::string err;
  auto file = SafetensorsFile::openMemory("mem.safetensors", bytes.data(),
                                          bytes.size(), err);
  ASSERT_NE(file, nullptr) << err;
  bytes.assign(bytes.size(), '\0'); // The file holds its own copy.
  std::vector<float> out;
  ASSERT_TRUE(file->readAsF32("w", out, err)) << err;
  EXPECT_EQ(out, std::vector<float>({1.5f, -2.0f}));
  EXPECT_EQ(file->path(), "mem.safetensors");

  EXPECT_EQ(openMemoryError(""),
            "mem.safetensors: file is empty (expected an 8-byte header length)");
  EXPECT_EQ(openMemoryError("abc"), "mem.safetensors: file is 3 bytes, too "
                                    "short for the 8-byte header length");
  EXPECT_NE(openMemoryError(fileBytes(header, 4)).find("beyond the 4 bytes"),
            std::string::npos);
}

// A header of a million nested arrays overflowed the stack (SIGSEGV) in
// nlohmann's recursive dump(), which quoted the bad shape in the message.
TEST(SafetensorsMemoryTest, DeeplyNestedHeaderIsAnError) {
  const size_t depth = 1000000;
  std::string header = R"({"a":{"dtype":"F32","shape":)" +
                       std::string(depth, '[') + std::string(depth, ']') +
                       R"(,"data_offsets":[0,0]}})";
  EXPECT_EQ(openMemoryError(fileBytes(header)),
            "mem.safetensors: header nests deeper than 64 levels");
  // Nesting in __metadata__ or at the top level is caught the same way.
  EXPECT_EQ(openMemoryError(fileBytes(std::string(1000, '[') +
                                      std::string(1000, ']'))),
            "mem.safetensors: header nests deeper than 64 levels");
  EXPECT_EQ(openMemoryError(fileBytes(R"({"__metadata__":)" +
                                      std::string(100, '[') +
                                      std::string(100, ']') + "}")),
            "mem.safetensors: header nests deeper than 64 levels");
}

// Messages quote at most 200 bytes of an offending value.
TEST(SafetensorsMemoryTest, LongValuesAreShortenedInMessages) {
  std::string longShape = "[\"" + std::string(100000, 'x') + "\"]";
  std::string err = openMemoryError(fileBytes(
      R"({"a":{"dtype":"F32","shape":)" + longShape +
      R"(,"data_offsets":[0,0]}})"));
  EXPECT_EQ(err.rfind("mem.safetensors: tensor 'a': shape must be an array of "
                      "integers, got [\"xxx",
                      0),
            0u)
      << err;
  EXPECT_LT(err.size(), 300u);
  EXPECT_EQ(err.substr(err.size() - 3), "...");
}

namespace {

// Opens a bundle whose manifest.json is `text` (and which holds a host
// library, so that only the manifest can be wrong); returns the error.
std::string openBundleError(const std::string &text) {
  std::string tmpl = ::testing::TempDir() + "dlart_robust_XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  std::string dir = tmpl + "/m.dlab";
  std::filesystem::create_directory(dir);
  std::ofstream(dir + "/manifest.json", std::ios::binary) << text;
  std::ofstream(dir + "/kernels.so", std::ios::binary);
  dlart_model *model = nullptr;
  dlart_status status = dlart_open(dir.c_str(), &model);
  EXPECT_NE(status, DLART_OK);
  EXPECT_EQ(model, nullptr);
  std::string err = dlart_last_error();
  if (model)
    dlart_close(model);
  std::filesystem::remove_all(tmpl);
  // Messages start with the bundle directory, which is a temporary name.
  size_t at = err.find("m.dlab/");
  return at == std::string::npos ? err : err.substr(at);
}

} // namespace

// An uncaught nlohmann::out_of_range (406) escaped parseManifest: a number
// beyond double is reported like any other JSON error.
TEST(ManifestRobustnessTest, NumberOverflow) {
  EXPECT_EQ(openBundleError(R"({"format": "dlab", "version": 1e400})"),
            "m.dlab/manifest.json: malformed JSON: number overflow parsing "
            "'1e400'");
}

// A million nested arrays overflowed the stack in nlohmann's recursive dump()
// when the message quoted the bad value.
TEST(ManifestRobustnessTest, DeepNesting) {
  const size_t depth = 1000000;
  EXPECT_EQ(openBundleError(R"({"format": "dlab", "version": 1, "model": )" +
                            std::string(depth, '[') + std::string(depth, ']') +
                            "}"),
            "m.dlab/manifest.json: nesting deeper than 64 levels");
}
