//===- RuntimeFixture.h - hand-made bundles for libdlart's unit tests -----===//
//
// The toy model of RuntimeTest.cpp and ContextTest.cpp: a manifest.json
// written by each test and a kernels.so built once per suite from the C
// source below (with `cc`; the suite is skipped where there is none). The
// kernels follow the host ABI of docs/bundle-format.md.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_TEST_UNIT_RUNTIMEFIXTURE_H
#define DLA_TEST_UNIT_RUNTIMEFIXTURE_H

#include "dlart/Safetensors.h"
#include "dlart/dlart.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The model: y = 2 * x + bias[c] - 1 on x of shape [1, 2, 4, 4]. init
// broadcasts bias into a prepared buffer; forward runs two steps through an
// activation buffer. `count_blocks` adds 1 to out[b] for each block b, to
// see that every block runs exactly once whatever the thread count.
const char *kKernelSource = R"C(
#include <stdint.h>
#include <time.h>
void init_expand_bias(void *const *args, int64_t b0, int64_t b1) {
  const float *bias = args[0];
  float *prep = args[1];
  for (int64_t b = b0; b < b1; ++b)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 16; ++k)
        prep[c * 16 + k] = bias[c];
}
void scale_add(void *const *args, int64_t b0, int64_t b1) {
  const float *x = args[0], *p = args[1];
  float *t = args[2];
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t i = b * 4; i < b * 4 + 4; ++i)
      t[i] = 2.0f * x[i] + p[i];
}
void minus_one(void *const *args, int64_t b0, int64_t b1) {
  const float *t = args[0];
  float *y = args[1];
  for (int64_t b = b0; b < b1; ++b)
    y[b] = t[b] - 1.0f;
}
// Host waves: blocks 0..7 fill the workspace (the argument after the
// buffers), blocks 8..15 sum all of it: right only if the first wave is done.
void two_waves(void *const *args, int64_t b0, int64_t b1) {
  float *out = args[1], *ws = args[2];
  for (int64_t b = b0; b < b1; ++b) {
    if (b < 8) {
      ws[b] = (float)(b + 1);
      continue;
    }
    float s = 0;
    for (int i = 0; i < 8; ++i)
      s += ws[i];
    out[b - 8] = s;
  }
}
// Blocks until the test sets `release`, after setting `entered`: holds one
// thread inside dlart_run while another calls the same model.
volatile int entered, release;
void wait_gate(void *const *args, int64_t b0, int64_t b1) {
  float *out = args[1];
  entered = 1;
  while (!release) {
  }
  for (int64_t b = b0; b < b1; ++b)
    out[b] = 1.0f;
}
void count_blocks(void *const *args, int64_t b0, int64_t b1) {
  float *out = args[1];
  for (int64_t b = b0; b < b1; ++b)
    out[b] += 1.0f;
}
// y = t - 1 as minus_one, but only once `meet_goal` calls are inside at the
// same time (or after about 10 s, counting `meet_timeouts`): shows that
// contexts of one model run at once, each on its own arena.
int meet_goal, meet_arrived, meet_timeouts;
void meet(void *const *args, int64_t b0, int64_t b1) {
  const float *t = args[0];
  float *y = args[1];
  __atomic_add_fetch(&meet_arrived, 1, __ATOMIC_SEQ_CST);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (__atomic_load_n(&meet_arrived, __ATOMIC_SEQ_CST) >= meet_goal)
      break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 10) {
      __atomic_add_fetch(&meet_timeouts, 1, __ATOMIC_SEQ_CST);
      break;
    }
  }
  for (int64_t b = b0; b < b1; ++b)
    y[b] = t[b] - 1.0f;
}
)C";

json step(const std::string &kernel, std::vector<int> grid,
          std::vector<int> args) {
  return {{"kernel", kernel}, {"grid", grid},       {"block", {32, 1, 1}},
          {"shared_bytes", 0}, {"args", args}, {"writes", 1}};
}

json baseManifest() {
  return {
      {"format", "dlab"},
      {"version", 1},
      {"model", "toy"},
      {"producer", "RuntimeTest"},
      {"host", {{"library", "kernels.so"}}},
      {"inputs",
       {{{"name", "x"}, {"shape", {1, 2, 4, 4}}, {"dtype", "f32"}, {"buffer", 0}}}},
      {"outputs",
       {{{"name", "y"}, {"shape", {1, 2, 4, 4}}, {"dtype", "f32"}, {"buffer", 1}}}},
      {"parameters",
       {{{"name", "bias"}, {"shape", {2}}, {"dtype", "f32"}, {"buffer", 2}}}},
      {"buffers",
       {{{"id", 0}, {"kind", "input"}, {"bytes", 128}},
        {{"id", 1}, {"kind", "output"}, {"bytes", 128}},
        {{"id", 2}, {"kind", "parameter"}, {"bytes", 8}},
        {{"id", 3}, {"kind", "prepared"}, {"bytes", 128}, {"offset", 0}},
        {{"id", 4}, {"kind", "activation"}, {"bytes", 128}, {"offset", 0}}}},
      {"memory",
       {{"arena_bytes", 256}, {"prepared_bytes", 128},
        {"activation_bytes_total", 128}}},
      {"init", {step("init_expand_bias", {1, 1, 1}, {2, 3})}},
      {"forward",
       {step("scale_add", {2, 2, 2}, {0, 3, 4}),
        step("minus_one", {32, 1, 1}, {4, 1})}},
  };
}

// A 64-byte ELF header of a cubin (EM_CUDA) with `shnum` section headers of
// 64 bytes announced at byte 64; with shnum > 0 the file is truncated.
std::string fakeCubin(uint16_t shnum) {
  std::string h(64, '\0');
  std::memcpy(h.data(), "\x7f" "ELF\x02\x01\x01", 7);
  uint16_t machine = 190, shentsize = 64;
  uint64_t shoff = shnum ? 64 : 0;
  std::memcpy(&h[18], &machine, 2);
  std::memcpy(&h[40], &shoff, 8);
  std::memcpy(&h[58], &shentsize, 2);
  std::memcpy(&h[60], &shnum, 2);
  return h;
}

class RuntimeTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "dlart_rt_lib_XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      return;
    libDir = tmpl;
    std::ofstream(libDir + "/k.c") << kKernelSource;
    const char *cc = std::getenv("CC");
    std::string cmd = std::string(cc && *cc ? cc : "cc") +
                      " -shared -fPIC -O1 -o '" + libDir + "/kernels.so' '" +
                      libDir + "/k.c' > '" + libDir + "/cc.log' 2>&1";
    haveKernels = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    if (!libDir.empty())
      fs::remove_all(libDir);
  }

  void SetUp() override {
    if (!haveKernels)
      GTEST_SKIP() << "no C compiler ('cc') to build the test kernels.so";
    std::string tmpl = ::testing::TempDir() + "dlart_rt_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
    bundle = dir + "/toy.dlab";
    fs::create_directory(bundle);
  }
  void TearDown() override {
    dlart_close(model);
    if (!dir.empty())
      fs::remove_all(dir);
  }

  void writeManifest(const json &m) {
    std::ofstream(bundle + "/manifest.json") << m.dump(2);
  }
  void writeFile(const std::string &name, const std::string &bytes) {
    std::ofstream out(bundle + "/" + name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  void writeBundle(const json &m) {
    writeManifest(m);
    fs::copy_file(libDir + "/kernels.so", bundle + "/kernels.so",
                  fs::copy_options::overwrite_existing);
  }
  // Writes `tensors` (all F32 unless stated) to dir/name.
  std::string writeWeights(const std::string &name,
                           const std::vector<dlart::TensorData> &tensors) {
    std::string path = dir + "/" + name, err;
    EXPECT_TRUE(dlart::writeSafetensors(path, tensors, {}, err)) << err;
    return path;
  }
  std::string biasWeights(float b0 = 0.5f, float b1 = -3.0f) {
    bias = {b0, b1};
    return writeWeights("w.safetensors",
                        {{"bias", dlart::DType::F32, {2}, bias.data(), 8}});
  }

  // dlart_open is expected to fail; returns the message.
  std::string openError() {
    EXPECT_EQ(dlart_open(bundle.c_str(), &model), DLART_ERROR_BUNDLE);
    EXPECT_EQ(model, nullptr);
    return dlart_last_error();
  }
  void openOk() {
    ASSERT_EQ(dlart_open(bundle.c_str(), &model), DLART_OK)
        << dlart_last_error();
  }
  // Opens the bundle and expects dlart_set_device to fail with `status`.
  std::string deviceError(dlart_device device, dlart_status status) {
    openOk();
    EXPECT_EQ(dlart_set_device(model, device), status);
    return dlart_last_error();
  }

  // Runs the toy model on x[i] = i / 8 - 2 with `threads` threads.
  std::vector<float> runToy(int threads) {
    std::vector<float> x(32), y(32, NAN);
    for (int i = 0; i < 32; ++i)
      x[i] = i / 8.0f - 2.0f;
    EXPECT_EQ(dlart_set_threads(model, threads), DLART_OK);
    const float *in[] = {x.data()};
    float *out[] = {y.data()};
    EXPECT_EQ(dlart_forward(model, in, out), DLART_OK) << dlart_last_error();
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(y[i], 2.0f * x[i] + bias[i / 16] - 1.0f) << "element " << i;
    return y;
  }

  inline static std::string libDir;
  inline static bool haveKernels = false;
  std::string dir, bundle;
  dlart_model *model = nullptr;
  std::vector<float> bias;
};

} // namespace

#endif // DLA_TEST_UNIT_RUNTIMEFIXTURE_H
