//===- ManifestTest.cpp - the manifest schema's writer and reader ---------===//
//
// runtime/schema: a dlart::Manifest with every kind of field, rendered by the
// writer dlac uses and parsed back by the strict reader the runtime uses,
// must come back equal (and render to the same text); the text's layout is
// pinned on a small manifest; the writer refuses what JSON cannot hold.
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/Manifest.h"

#include "dlart/Sha256.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <tuple>

namespace dlart {

// Field-wise equality, for the round trip (the schema has no operator==).
bool operator==(const BufferDesc &a, const BufferDesc &b) {
  return std::tie(a.kind, a.bytes, a.offset, a.dtype) ==
         std::tie(b.kind, b.bytes, b.offset, b.dtype);
}
bool operator==(const TensorDesc &a, const TensorDesc &b) {
  return std::tie(a.name, a.shape, a.numElements, a.buffer, a.dtype, a.roundTo) ==
         std::tie(b.name, b.shape, b.numElements, b.buffer, b.dtype, b.roundTo);
}
bool operator==(const StepDesc &a, const StepDesc &b) {
  return std::tie(a.kernel, a.name, a.grid, a.block, a.sharedBytes, a.hostBlocks,
                  a.hostWorkspaceBytes, a.hostWaves, a.args, a.writes, a.macs) ==
         std::tie(b.kernel, b.name, b.grid, b.block, b.sharedBytes, b.hostBlocks,
                  b.hostWorkspaceBytes, b.hostWaves, b.args, b.writes, b.macs);
}
bool operator==(const Manifest::FileDigest &a, const Manifest::FileDigest &b) {
  return std::tie(a.bytes, a.sha256) == std::tie(b.bytes, b.sha256);
}
bool operator==(const Manifest &a, const Manifest &b) {
  auto fields = [](const Manifest &m) {
    return std::tie(m.dir, m.model, m.producer, m.hasHost, m.hostLibrary,
                    m.hostCpu, m.hostFeatures, m.hasCuda, m.cudaArchs,
                    m.cudaBinary, m.cudaPtx, m.cudaEmulator, m.inputs, m.outputs, m.parameters,
                    m.ignoredParameters, m.buffers, m.arenaBytes,
                    m.preparedBytes, m.activationBytesTotal, m.init, m.forward,
                    m.files);
  };
  return fields(a) == fields(b);
}

} // namespace dlart

using namespace dlart;

namespace {

class ManifestTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "dlart_manifest_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  void writeFile(const std::string &name, const std::string &bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out << bytes;
    ASSERT_TRUE(out.good()) << name;
  }
  // Writes bundle file `name` and records its digest in m.files.
  void addFile(Manifest &m, const std::string &name, const std::string &bytes) {
    writeFile(name, bytes);
    Manifest::FileDigest &d = m.files[name];
    std::string err;
    ASSERT_TRUE(sha256File(dir + "/" + name, d.sha256, d.bytes, err)) << err;
  }
  // Renders `m` into <dir>/manifest.json and parses it back.
  bool roundTrip(const Manifest &m, std::string &text, Manifest &parsed,
                 std::string &err) {
    if (!renderManifest(m, text, err))
      return false;
    writeFile("manifest.json", text);
    return parseManifest(dir, parsed, err);
  }

  std::string dir;
};

TensorDesc tensor(const std::string &name, std::vector<int64_t> shape,
                  uint32_t buffer) {
  uint64_t n = 1;
  for (int64_t d : shape)
    n *= static_cast<uint64_t>(d);
  return {name, std::move(shape), n, buffer};
}

StepDesc step(const std::string &kernel, std::array<uint32_t, 3> grid,
              std::vector<uint32_t> args, uint32_t writes = 1) {
  StepDesc s;
  s.kernel = kernel;
  s.grid = grid;
  s.block = {1, 1, 1};
  s.args = std::move(args);
  s.writes = writes;
  return s;
}

TEST_F(ManifestTest, EveryFieldRoundTrips) {
  Manifest m;
  m.dir = dir;
  m.model = "every_field";
  m.producer = "ManifestTest";
  m.hasHost = true;
  m.hostLibrary = "kernels.so";
  m.hostCpu = "x86-64-v3";
  m.hostFeatures = {"sse2", "avx", "avx2", "fma"};
  m.hasCuda = true;
  m.cudaArchs = {"sm_80", "sm_90a"};
  m.cudaBinary = "kernels.fatbin";
  m.cudaPtx = "kernels.ptx";
  m.cudaEmulator = "kernels-emu.so";
  addFile(m, "kernels.so", "host kernels");
  addFile(m, "kernels-emu.so", "emulated gpu kernels");
  addFile(m, "kernels.fatbin", "gpu kernels");
  addFile(m, "kernels.ptx", "ptx");
  addFile(m, "weights.safetensors", "weights");
  // Buffers of every kind; ids are the positions.
  // The reduced-precision fields too: an f16 parameter, f32 ones holding
  // bf16 and tf32 values (round_to), f16 prepared and activation buffers.
  m.buffers = {{BufferKind::Input, 32},
               {BufferKind::Output, 32},
               {BufferKind::Output, 16},
               {BufferKind::Parameter, 4, 0, ElementType::F16},
               {BufferKind::Parameter, 8},
               {BufferKind::Prepared, 8, 0},
               {BufferKind::Prepared, 8, 256, ElementType::F16},
               {BufferKind::Activation, 32, 0},
               {BufferKind::Activation, 32, 256, ElementType::BF16},
               {BufferKind::Parameter, 4}};
  m.inputs = {tensor("image", {1, 2, 2, 2}, 0)};
  m.outputs = {tensor("hm", {1, 2, 2, 2}, 1), tensor("wh", {1, 1, 2, 2}, 2)};
  m.parameters = {tensor("conv.weight", {2}, 3), tensor("conv.bias", {2}, 4),
                  tensor("conv.scale", {1}, 9)};
  m.parameters[0].dtype = ElementType::F16;
  m.parameters[1].roundTo = ElementType::BF16;
  m.parameters[2].roundTo = ElementType::TF32;
  m.ignoredParameters = {"base.level3.project.0.weight",
                         "base.level3.project.1.bias"};
  m.arenaBytes = 288;
  m.preparedBytes = 264;
  m.activationBytesTotal = 64;
  m.init = {step("init_fold", {1, 1, 1}, {3, 4, 5}),
            step("init_copy", {2, 1, 1}, {4, 6})};
  m.init[0].block = {32, 1, 1};
  StepDesc conv = step("conv", {2, 1, 1}, {0, 5, 7});
  conv.macs = 123456789;
  conv.block = {64, 1, 1};
  conv.sharedBytes = 1024;
  conv.hostBlocks = 4;
  conv.hostWorkspaceBytes = 512;
  conv.hostWaves = {1, 3};
  m.forward = {conv, step("relu", {8, 1, 1}, {7, 6, 8}),
               step("heads", {1, 1, 1}, {8, 8, 1, 2}, 2)};
  // A step running a kernel built for another step of its shape has its
  // own name ("name", written after "kernel").
  m.forward[1].name = "relu_2";

  std::string text, err;
  Manifest parsed;
  ASSERT_TRUE(roundTrip(m, text, parsed, err)) << err << "\n" << text;
  EXPECT_TRUE(parsed == m) << text;
  std::string again;
  ASSERT_TRUE(renderManifest(parsed, again, err)) << err;
  EXPECT_EQ(again, text);
  // One line per step, with the optional host fields in their place.
  EXPECT_NE(text.find("\n    {\"kernel\": \"conv\", \"grid\": [2, 1, 1], "
                      "\"block\": [64, 1, 1], \"shared_bytes\": 1024, "
                      "\"host_blocks\": 4, \"host_workspace_bytes\": 512, "
                      "\"host_waves\": [1, 3], \"args\": [0, 5, 7], "
                      "\"writes\": 1, \"macs\": 123456789},\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("{\"kernel\": \"relu\", \"name\": \"relu_2\", \"grid\": [8, 1, 1]"),
            std::string::npos)
      << text;
}

// The whole text of a small manifest: the layout dlac's bundles (and the lit
// tests that check their lines) rely on. Absent optional fields stay absent.
TEST_F(ManifestTest, LayoutOfAMinimalManifest) {
  writeFile("kernels.so", "");
  Manifest m;
  m.dir = dir;
  m.model = "tiny";
  m.hasHost = true;
  m.hostLibrary = "kernels.so";
  m.hostCpu = "generic"; // host.features follows host.cpu, even when empty
  m.buffers = {{BufferKind::Input, 16}, {BufferKind::Output, 16}};
  m.inputs = {tensor("x", {4}, 0)};
  m.outputs = {tensor("y", {4}, 1)};
  m.forward = {step("copy", {4, 1, 1}, {0, 1})};

  std::string text, err;
  Manifest parsed;
  ASSERT_TRUE(roundTrip(m, text, parsed, err)) << err << "\n" << text;
  EXPECT_EQ(text, R"({
  "format": "dlab",
  "version": 1,
  "model": "tiny",
  "host": {"library": "kernels.so", "cpu": "generic", "features": []},
  "inputs": [
    {"name": "x", "shape": [4], "dtype": "f32", "buffer": 0}
  ],
  "outputs": [
    {"name": "y", "shape": [4], "dtype": "f32", "buffer": 1}
  ],
  "parameters": [],
  "buffers": [
    {"id": 0, "kind": "input", "bytes": 16},
    {"id": 1, "kind": "output", "bytes": 16}
  ],
  "memory": {"arena_bytes": 0, "prepared_bytes": 0, "activation_bytes_total": 0},
  "init": [],
  "forward": [
    {"kernel": "copy", "grid": [4, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [0, 1], "writes": 1}
  ]
}
)");
  EXPECT_TRUE(parsed == m) << text;
}

// JSON holds UTF-8 only: the writer names the field instead of writing a
// manifest no reader can parse.
TEST_F(ManifestTest, WriterRefusesAStringThatIsNotUtf8) {
  Manifest m;
  m.hasHost = true;
  m.hostLibrary = "kernels.so";
  m.buffers = {{BufferKind::Input, 4}, {BufferKind::Output, 4},
               {BufferKind::Parameter, 4}};
  m.inputs = {tensor("x", {1}, 0)};
  m.outputs = {tensor("y", {1}, 1)};
  m.parameters = {tensor("w\xff", {1}, 2)};
  m.forward = {step("f", {1, 1, 1}, {0, 2, 1})};
  std::string text = "untouched", err;
  EXPECT_FALSE(renderManifest(m, text, err));
  EXPECT_EQ(err, "manifest.json: parameters[0].name: not valid UTF-8, which "
                 "JSON cannot hold");
  EXPECT_EQ(text, "untouched");
}

// What the writer does not check, the reader does: a step that reads a
// buffer nothing wrote renders, and is refused when read back.
TEST_F(ManifestTest, ReaderChecksWhatTheWriterWrites) {
  writeFile("kernels.so", "");
  Manifest m;
  m.hasHost = true;
  m.hostLibrary = "kernels.so";
  m.buffers = {{BufferKind::Input, 4}, {BufferKind::Output, 4},
               {BufferKind::Activation, 4, 0}};
  m.arenaBytes = 4;
  m.inputs = {tensor("x", {1}, 0)};
  m.outputs = {tensor("y", {1}, 1)};
  m.forward = {step("f", {1, 1, 1}, {2, 1})};
  std::string text, err;
  Manifest parsed;
  EXPECT_FALSE(roundTrip(m, text, parsed, err));
  EXPECT_EQ(err, dir + "/manifest.json: forward[0].args[0]: buffer 2 "
                       "(activation) is read before any step writes it, or "
                       "after a later write to memory it shares (steps out "
                       "of order?)");
}

} // namespace
