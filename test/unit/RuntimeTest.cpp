//===- RuntimeTest.cpp - libdlart's C API on hand-made bundles ------------===//
//
// The compiler is not needed: each test writes a manifest.json and copies a
// kernels.so built once from the C source in RuntimeFixture.h (with `cc`;
// the suite is skipped where there is none).
//
//===----------------------------------------------------------------------===//

#include "RuntimeFixture.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <unistd.h>

namespace {

//===----------------------------------------------------------------------===//
// End to end on the host
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, HostEndToEndWithOneAndThreeThreads) {
  writeBundle(baseManifest());
  openOk();
  EXPECT_STREQ(dlart_model_name(model), "toy");
  ASSERT_EQ(dlart_num_inputs(model), 1u);
  ASSERT_EQ(dlart_num_outputs(model), 1u);
  dlart_tensor_info info;
  ASSERT_EQ(dlart_input_info(model, 0, &info), DLART_OK);
  EXPECT_STREQ(info.name, "x");
  ASSERT_EQ(info.rank, 4);
  EXPECT_EQ(std::vector<int64_t>(info.shape, info.shape + 4),
            (std::vector<int64_t>{1, 2, 4, 4}));
  EXPECT_EQ(info.num_elements, 32);
  EXPECT_EQ(info.bytes, 128u);
  ASSERT_EQ(dlart_output_info(model, 0, &info), DLART_OK);
  EXPECT_STREQ(info.name, "y");
  EXPECT_EQ(dlart_output_info(model, 1, &info), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(),
               "dlart_output_info: index 1 out of range (the model has 1)");

  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK)
      << dlart_last_error();
  ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK)
      << dlart_last_error();
  EXPECT_STREQ(dlart_warnings(model), "");
  std::vector<float> one = runToy(1), three = runToy(3), seven = runToy(7);
  EXPECT_EQ(one, three);
  EXPECT_EQ(one, seven);
  EXPECT_EQ(std::string(dlart_device_info(model)), "host, 7 threads, kernels.so");

  // Reloading weights reruns init.
  ASSERT_EQ(dlart_load_weights(model, biasWeights(1.0f, 2.0f).c_str()),
            DLART_OK);
  runToy(2);
}

TEST_F(RuntimeTest, OwnBuffersAndSplitCalls) {
  writeBundle(baseManifest());
  openOk();
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK);
  float *x = dlart_input_buffer(model, 0);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % 64, 0u);
  for (int i = 0; i < 32; ++i)
    x[i] = float(i);
  ASSERT_EQ(dlart_set_inputs(model, nullptr), DLART_OK);
  ASSERT_EQ(dlart_run(model), DLART_OK);
  ASSERT_EQ(dlart_get_outputs(model, nullptr), DLART_OK);
  const float *y = dlart_output_buffer(model, 0);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(y[i], 2.0f * i + bias[i / 16] - 1.0f);
  EXPECT_EQ(dlart_input_buffer(model, 1), nullptr);

  ASSERT_EQ(dlart_num_forward_steps(model), 2u);
  EXPECT_STREQ(dlart_forward_step_kernel(model, 1), "minus_one");
  // Without "name" a step is called after its kernel.
  EXPECT_STREQ(dlart_forward_step_name(model, 1), "minus_one");
  EXPECT_EQ(dlart_forward_step_name(model, 2), nullptr);
  double ms[2] = {-1, -1};
  ASSERT_EQ(dlart_profile(model, ms), DLART_OK);
  EXPECT_GE(ms[0], 0.0);
  EXPECT_GE(ms[1], 0.0);
}

TEST_F(RuntimeTest, EveryBlockRunsOnceWhateverTheThreadCount) {
  json m = baseManifest();
  m["outputs"][0]["shape"] = {10, 10, 10};
  m["buffers"][1]["bytes"] = 4000;
  m["forward"] = {step("count_blocks", {10, 10, 10}, {0, 1})};
  writeBundle(m);
  openOk();
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK);
  float expected = 0;
  for (int threads : {1, 3, 7, 16}) {
    ASSERT_EQ(dlart_set_threads(model, threads), DLART_OK);
    ASSERT_EQ(dlart_forward(model, nullptr, nullptr), DLART_OK);
    expected += 1; // The output buffer keeps its contents between runs.
    const float *y = dlart_output_buffer(model, 0);
    for (int b = 0; b < 1000; ++b)
      ASSERT_EQ(y[b], expected) << "block " << b << ", " << threads
                                << " threads";
  }
}

TEST_F(RuntimeTest, ASecondThreadIsRefusedNotDeadlocked) {
  json m = baseManifest();
  m["forward"] = {step("wait_gate", {1, 1, 1}, {0, 1})};
  writeBundle(m);
  openOk();
  ASSERT_EQ(dlart_set_threads(model, 1), DLART_OK);
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK);
  // The library the runtime loaded (RTLD_NOLOAD: the same handle).
  void *lib = ::dlopen((bundle + "/kernels.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(lib, nullptr);
  auto *entered = static_cast<volatile int *>(::dlsym(lib, "entered"));
  auto *release = static_cast<volatile int *>(::dlsym(lib, "release"));
  ASSERT_TRUE(entered && release);
  dlart_status first = DLART_ERROR_INTERNAL;
  std::thread holder([&] { first = dlart_run(model); });
  for (int i = 0; i < 10000 && !*entered; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(*entered) << "the first dlart_run never reached its kernel";
  // While the holder is inside dlart_run: every call from here is refused.
  EXPECT_EQ(dlart_run(model), DLART_ERROR_STATE);
  EXPECT_EQ(std::string(dlart_last_error()),
            "dlart_run: the model is in use by another thread: a dlart_model runs "
            "one call at a time (create an execution context per thread, "
            "dlart_context_create, to run concurrently)");
  EXPECT_EQ(dlart_forward(model, nullptr, nullptr), DLART_ERROR_STATE);
  EXPECT_EQ(dlart_set_threads(model, 2), DLART_ERROR_STATE);
  EXPECT_EQ(dlart_set_inputs(model, nullptr), DLART_ERROR_STATE);
  *release = 1;
  holder.join();
  EXPECT_EQ(first, DLART_OK);
  // Idle again: the same thread (or any other) may call.
  EXPECT_EQ(dlart_forward(model, nullptr, nullptr), DLART_OK) << dlart_last_error();
  ::dlclose(lib);
}

TEST_F(RuntimeTest, HostBlocksWavesAndWorkspace) {
  json m = baseManifest();
  json s = step("two_waves", {1, 1, 1}, {0, 1});
  s["host_blocks"] = 16;
  s["host_waves"] = {8, 8};
  s["host_workspace_bytes"] = 32;
  m["forward"] = {s};
  writeBundle(m);
  openOk();
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK);
  for (int threads : {1, 3, 7}) {
    ASSERT_EQ(dlart_set_threads(model, threads), DLART_OK);
    for (int run = 0; run < 20; ++run) {
      ASSERT_EQ(dlart_forward(model, nullptr, nullptr), DLART_OK);
      const float *y = dlart_output_buffer(model, 0);
      for (int b = 0; b < 8; ++b)
        ASSERT_EQ(y[b], 36.0f) << "block " << b << ", " << threads << " threads";
    }
  }
}

TEST_F(RuntimeTest, BadHostFields) {
  struct Case {
    std::function<void(json &)> edit;
    std::string message;
  } cases[] = {
      {[](json &m) { m["forward"][0]["host_blocks"] = 0; },
       "forward[0].host_blocks: expected an integer in [1, 2147483647], got 0"},
      {[](json &m) { m["forward"][0]["host_waves"] = {3, 4}; },
       "forward[0].host_waves: the waves hold 7 blocks, but the step has 8"},
      {[](json &m) {
         m["forward"][0]["host_blocks"] = 5;
         m["forward"][0]["host_waves"] = json::array();
       },
       "forward[0].host_waves: expected 1 to 16 block counts, got []"},
      {[](json &m) { m["forward"][0]["host_workspace_bytes"] = -1; },
       "forward[0].host_workspace_bytes: expected an integer in [0, "
       "1099511627776], got -1"},
  };
  for (const Case &c : cases) {
    json m = baseManifest();
    c.edit(m);
    writeBundle(m);
    EXPECT_EQ(openError(), bundle + "/manifest.json: " + c.message);
  }
}

TEST_F(RuntimeTest, WeightsInTheBundleHalfPrecisionAndExtraTensors) {
  writeBundle(baseManifest());
  // F16 0.5 = 0x3800, -3.0 = 0xC200; the bundle's own weights.safetensors.
  uint16_t half[2] = {0x3800, 0xC200};
  int64_t tracked = 7;
  float extra = 1;
  std::string err;
  ASSERT_TRUE(dlart::writeSafetensors(
      bundle + "/weights.safetensors",
      {{"bias", dlart::DType::F16, {2}, half, 4},
       {"bn.num_batches_tracked", dlart::DType::I64, {}, &tracked, 8},
       {"unused", dlart::DType::F32, {1}, &extra, 4}},
      {}, err))
      << err;
  bias = {0.5f, -3.0f};
  openOk();
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  ASSERT_EQ(dlart_load_weights(model, nullptr), DLART_OK) << dlart_last_error();
  EXPECT_EQ(std::string(dlart_warnings(model)),
            bundle + "/weights.safetensors: unexpected tensor 'unused' is not "
                     "a model parameter (ignored)");
  runToy(2);
}

//===----------------------------------------------------------------------===//
// Call order and weights errors
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, CallsOutOfOrder) {
  writeBundle(baseManifest());
  openOk();
  EXPECT_EQ(dlart_load_weights(model, nullptr), DLART_ERROR_STATE);
  EXPECT_EQ(std::string(dlart_last_error()),
            bundle + ": no device chosen: call dlart_set_device first");
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  EXPECT_EQ(dlart_run(model), DLART_ERROR_STATE);
  EXPECT_EQ(std::string(dlart_last_error()),
            bundle + ": weights not loaded: call dlart_load_weights first (it "
                     "also runs init)");
  EXPECT_EQ(dlart_forward(model, nullptr, nullptr), DLART_ERROR_STATE);
  EXPECT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_ERROR_STATE);
  EXPECT_EQ(std::string(dlart_last_error()),
            bundle + ": the device is already chosen (host, " +
                std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
                " threads, kernels.so); open the bundle again for another "
                "device");
  EXPECT_EQ(dlart_set_threads(model, 0), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(),
               "dlart_set_threads: 0 threads: expected 1 to 4096");
  dlart_model *other = nullptr;
  EXPECT_EQ(dlart_open(nullptr, &other), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(other, nullptr);
  EXPECT_STREQ(dlart_last_error(), "dlart_open: no bundle directory given");
}

TEST_F(RuntimeTest, WeightsErrors) {
  writeBundle(baseManifest());
  openOk();
  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  EXPECT_EQ(dlart_load_weights(model, nullptr), DLART_ERROR_WEIGHTS);
  EXPECT_EQ(std::string(dlart_last_error()),
            bundle + ": no weights given and the bundle has no "
                     "weights.safetensors");
  float three[3] = {1, 2, 3};
  std::string wrong = writeWeights(
      "wrong.safetensors", {{"bias", dlart::DType::F32, {3}, three, 12}});
  EXPECT_EQ(dlart_load_weights(model, wrong.c_str()), DLART_ERROR_WEIGHTS);
  EXPECT_EQ(std::string(dlart_last_error()),
            wrong + ": 1 parameter with the wrong shape: 'bias' is [3] in the "
                    "file, expected [2]");
  std::string other = writeWeights(
      "other.safetensors", {{"other", dlart::DType::F32, {3}, three, 12}});
  EXPECT_EQ(dlart_load_weights(model, other.c_str()), DLART_ERROR_WEIGHTS);
  EXPECT_EQ(std::string(dlart_last_error()),
            other + ": 1 parameter missing: 'bias'");
  EXPECT_EQ(dlart_run(model), DLART_ERROR_STATE); // Failed loads don't count.
}

//===----------------------------------------------------------------------===//
// Bad bundles: exact messages
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, MissingBundleAndManifest) {
  fs::remove(bundle);
  EXPECT_EQ(openError(), bundle + ": not a bundle directory (No such file or "
                                  "directory); a bundle is the directory "
                                  "written by 'dlac -o NAME.dlab'");
  fs::create_directory(bundle);
  EXPECT_EQ(openError(),
            bundle + "/manifest.json: cannot open: No such file or directory");
}

TEST_F(RuntimeTest, MalformedJson) {
  writeFile("manifest.json", "{\n  \"format\": \"dlab\",\n  \"version\": 1,,\n}");
  std::string err = openError();
  std::string prefix = bundle + "/manifest.json:3:16: malformed JSON: ";
  EXPECT_EQ(err.substr(0, prefix.size()), prefix) << err;
  writeFile("manifest.json",
            "{\"format\": \"dlab\", \"version\": 1, \"version\": 2}");
  EXPECT_EQ(openError(), bundle + "/manifest.json: duplicate key 'version'");
  writeFile("manifest.json", "[1, 2]");
  EXPECT_EQ(openError(),
            bundle + "/manifest.json: expected a JSON object, got [1,2]");
}

TEST_F(RuntimeTest, WrongFormatAndVersion) {
  json m = baseManifest();
  m["format"] = "onnx";
  writeBundle(m);
  EXPECT_EQ(openError(), bundle + "/manifest.json: format: expected \"dlab\", "
                                  "got \"onnx\" (not a dlac bundle manifest)");
  m = baseManifest();
  m["version"] = 2;
  writeBundle(m);
  EXPECT_EQ(openError(),
            bundle + "/manifest.json: version: bundle format version 2 is not "
                     "supported: this runtime reads version 1");
  m["version"] = "1";
  writeBundle(m);
  EXPECT_EQ(openError(), bundle + "/manifest.json: version: expected an "
                                  "integer in [0, 18446744073709551615], got "
                                  "\"1\"");
}

TEST_F(RuntimeTest, BadBuffers) {
  struct Case {
    std::function<void(json &)> edit;
    std::string message;
  } cases[] = {
      {[](json &m) { m["buffers"][4]["id"] = 9; },
       "buffers[4].id: 9 is out of range: the manifest has 5 buffers, so ids "
       "are 0..4"},
      {[](json &m) { m["buffers"][4]["id"] = 1; },
       "buffers[4].id: buffer id 1 is used twice"},
      {[](json &m) { m["buffers"][4]["offset"] = 200; },
       "buffers[4].offset: 200 + 128 bytes exceed memory.arena_bytes (256)"},
      {[](json &m) { m["buffers"][3]["offset"] = 4; },
       "buffers[3].offset: 4 + 128 bytes exceed memory.prepared_bytes (128)"},
      {[](json &m) { m["buffers"][4].erase("offset"); },
       "buffers[4]: missing field 'offset' (required for activation buffers)"},
      {[](json &m) { m["buffers"][0]["offset"] = 0; },
       "buffers[0].offset: only prepared and activation buffers have an "
       "offset"},
      {[](json &m) { m["buffers"][2]["bytes"] = "8"; },
       "buffers[2].bytes: expected an integer in [0, 18446744073709551615], "
       "got \"8\""},
      {[](json &m) { m["buffers"][2]["bytes"] = 12; },
       "parameters[0].buffer: buffer 2 has 12 bytes but shape [2] of f32 "
       "needs 8"},
      {[](json &m) { m["buffers"][2]["kind"] = "weights"; },
       "buffers[2].kind: expected one of \"input\", \"output\", "
       "\"parameter\", \"prepared\", \"activation\", got \"weights\""},
      {[](json &m) { m["buffers"][2]["size"] = 8; },
       "buffers[2]: unexpected field 'size'"},
      {[](json &m) { m["inputs"][0]["buffer"] = 2; },
       "inputs[0].buffer: buffer 2 is a parameter buffer, expected input"},
      {[](json &m) { m["parameters"] = json::array(); },
       "buffers: parameter buffer 2 is not bound by any parameter entry"},
      {[](json &m) { m["forward"][1]["args"] = {4, 5}; },
       "forward[1].args[1]: buffer 5 does not exist (the manifest has 5 "
       "buffers)"},
      {[](json &m) { m["forward"][0]["kernel"] = ""; },
       "forward[0].kernel: expected a non-empty string, got \"\""},
      {[](json &m) { m["init"][0]["grid"] = {1, 0, 1}; },
       "init[0].grid[1]: expected an integer in [1, 2147483647], got 0"},
      {[](json &m) { m["forward"] = json::array(); },
       "forward: expected at least one step"},
      {[](json &m) { m.erase("memory"); }, "missing field 'memory'"},
      {[](json &m) { m["outputs"][0]["dtype"] = "f16"; },
       "outputs[0].dtype: model outputs are f32, got \"f16\""},
      {[](json &m) { m["inputs"][0]["dtype"] = "f64"; },
       "inputs[0].dtype: expected \"f32\", \"f16\", \"bf16\" or \"tf32\", got \"f64\""},
      // tf32 values are kept in f32 words: never a dtype.
      {[](json &m) { m["parameters"][0]["dtype"] = "tf32"; },
       "parameters[0].dtype: tf32 values are stored as \"f32\" (with \"round_to\": \"tf32\" on "
       "a parameter), got \"tf32\""},
      {[](json &m) { m["buffers"][4]["dtype"] = "tf32"; },
       "buffers[4].dtype: tf32 values are stored as \"f32\", got \"tf32\""},
      // A parameter in a storage type lives in a buffer of that type.
      {[](json &m) { m["parameters"][0]["dtype"] = "f16"; },
       "parameters[0].buffer: buffer 2 holds f32, the tensor is f16"},
      {[](json &m) {
         m["parameters"][0]["dtype"] = "bf16";
         m["buffers"][2]["dtype"] = "bf16";
       },
       "parameters[0].buffer: buffer 2 has 8 bytes but shape [2] of bf16 needs 4"},
      {[](json &m) { m["inputs"][0]["round_to"] = "f16"; },
       "inputs[0].round_to: only parameters are rounded when loaded"},
      {[](json &m) { m["parameters"][0]["round_to"] = "f32"; },
       "parameters[0].round_to: an f32 parameter is rounded to f16, bf16 or tf32, got \"f32\" for "
       "dtype \"f32\""},
      {[](json &m) { m["buffers"][4]["dtype"] = "i8"; },
       "buffers[4].dtype: expected \"f32\", \"f16\", \"bf16\" or \"tf32\", got \"i8\""},
      {[](json &m) {
         m["buffers"][4]["dtype"] = "f16";
         m["buffers"][4]["bytes"] = 127;
       },
       "buffers[4].bytes: 127 is not a whole number of f16 elements"},
      {[](json &m) { m["host"]["library"] = "../kernels.so"; },
       "host.library: expected a file name inside the bundle, got "
       "\"../kernels.so\""},
      {[](json &m) { m.erase("host"); },
       "neither 'host' nor 'cuda' is present: the bundle has no kernels"},
      {[](json &m) { m["host"]["features"] = {"avx2", "avx1024"}; },
       "host.features[1]: unknown CPU feature 'avx1024': this runtime cannot "
       "check it (a newer dlac?)"},
      {[](json &m) { m["host"]["features"] = "avx2"; },
       "host.features: expected an array, got \"avx2\""},
      // The steps as a dataflow (checked before anything runs).
      {[](json &m) { std::swap(m["forward"][0], m["forward"][1]); },
       "forward[0].args[0]: buffer 4 (activation) is read before any step "
       "writes it, or after a later write to memory it shares (steps out of "
       "order?)"},
      {[](json &m) { m["forward"][0]["args"] = {0, 3, 3}; },
       "forward[0].args[2]: buffer 3 (prepared) is written by a forward step; "
       "forward steps write only activation and output buffers"},
      {[](json &m) { m["forward"][0] = step("init_expand_bias", {1, 1, 1}, {2, 3}); },
       "forward[0].args[1]: buffer 3 (prepared) is written by a forward step; "
       "forward steps write only activation and output buffers"},
      {[](json &m) { m["init"][0]["args"] = {3, 2}; },
       "init[0].args[0]: buffer 3 (prepared) is read before any step writes "
       "it, or after a later write to memory it shares (steps out of order?)"},
      {[](json &m) { m["forward"][0]["args"] = {0}; },
       "forward[0].args[0]: buffer 0 (input) is written by a forward step; "
       "forward steps write only activation and output buffers"},
      {[](json &m) { m["forward"][1]["args"] = {4, 4}; },
       "outputs: output 'y' (buffer 1) is written by no forward step"},
      {[](json &m) { m["forward"][1]["grid"] = {2147483647, 1, 1}; },
       "forward[1]: has 2147483647 blocks for the 32 values it writes: at most "
       "one block per value"},
      {[](json &m) { m["forward"][0].erase("writes"); },
       "forward[0]: missing field 'writes'"},
      {[](json &m) { m["forward"][0]["writes"] = 4; },
       "forward[0].writes: expected an integer in [1, 3], got 4"},
      {[](json &m) { m["host"]["cpu"] = 4; },
       "host.cpu: expected a non-empty string, got 4"},
  };
  for (const Case &c : cases) {
    json m = baseManifest();
    c.edit(m);
    writeBundle(m);
    EXPECT_EQ(openError(), bundle + "/manifest.json: " + c.message);
  }
}

TEST_F(RuntimeTest, MissingKernelsLibraryOrSymbol) {
  writeManifest(baseManifest()); // No kernels.so.
  EXPECT_EQ(openError(), bundle + "/kernels.so: missing (named by "
                                  "manifest.json host.library)");
  json m = baseManifest();
  m["forward"][1]["kernel"] = "softmax";
  writeBundle(m);
  EXPECT_EQ(deviceError(DLART_DEVICE_HOST, DLART_ERROR_BUNDLE),
            bundle + "/kernels.so: kernel 'softmax' (forward[1]) is not "
                     "defined in the library");
  dlart_close(model);
  model = nullptr;
  writeFile("kernels.so", "not an ELF file");
  std::string err = deviceError(DLART_DEVICE_HOST, DLART_ERROR_BUNDLE);
  std::string prefix = bundle + "/kernels.so: cannot load the kernel library: ";
  EXPECT_EQ(err.substr(0, prefix.size()), prefix) << err;
}

TEST_F(RuntimeTest, CudaBundleErrorsThatNeedNoDriver) {
  // Not compiled for cuda.
  writeBundle(baseManifest());
  EXPECT_EQ(deviceError(DLART_DEVICE_CUDA, DLART_ERROR_BUNDLE),
            bundle + ": the bundle was not compiled for cuda (manifest.json "
                     "has no 'cuda' section); compile it with --target cuda "
                     "or use --device host");
  dlart_close(model);
  model = nullptr;

  // Missing cubin.
  json m = baseManifest();
  m["cuda"] = {{"archs", {"sm_90"}}, {"binary", "kernels.cubin"},
               {"ptx", "kernels.ptx"}};
  writeBundle(m);
  writeFile("kernels.ptx", "// PTX\n");
  EXPECT_EQ(openError(), bundle + "/kernels.cubin: missing (named by "
                                  "manifest.json cuda.binary)");

  // Truncated cubin and fatbin, and something else entirely.
  writeFile("kernels.cubin", fakeCubin(3));
  EXPECT_EQ(deviceError(DLART_DEVICE_CUDA, DLART_ERROR_BUNDLE),
            bundle + "/kernels.cubin: truncated: its ELF headers end at byte "
                     "256 but the file has 64 bytes");
  dlart_close(model);
  model = nullptr;
  writeFile("kernels.cubin", fakeCubin(0).substr(0, 40));
  EXPECT_EQ(deviceError(DLART_DEVICE_CUDA, DLART_ERROR_BUNDLE),
            bundle + "/kernels.cubin: truncated: 40 bytes is shorter than an "
                     "ELF header (64 bytes)");
  dlart_close(model);
  model = nullptr;
  std::string fatbin(16, '\0');
  uint32_t magic = 0xBA55ED50u;
  uint16_t headerSize = 16;
  uint64_t fatSize = 1000;
  std::memcpy(&fatbin[0], &magic, 4);
  std::memcpy(&fatbin[6], &headerSize, 2);
  std::memcpy(&fatbin[8], &fatSize, 8);
  writeFile("kernels.cubin", fatbin);
  EXPECT_EQ(deviceError(DLART_DEVICE_CUDA, DLART_ERROR_BUNDLE),
            bundle + "/kernels.cubin: truncated: the fatbin header announces "
                     "1016 bytes but the file has 16");
  dlart_close(model);
  model = nullptr;
  writeFile("kernels.cubin", "garbage");
  EXPECT_EQ(deviceError(DLART_DEVICE_CUDA, DLART_ERROR_BUNDLE),
            bundle + "/kernels.cubin: not a CUDA binary (expected a cubin, "
                     "i.e. an ELF file, or a fatbin)");
  dlart_close(model);
  model = nullptr;

  m["cuda"]["archs"] = {"90"};
  writeBundle(m);
  EXPECT_EQ(openError(), bundle + "/manifest.json: cuda.archs[0]: expected an "
                                  "architecture like \"sm_90\", got \"90\"");
}

TEST_F(RuntimeTest, CudaWithoutDriver) {
  if (void *h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    ::dlclose(h);
    GTEST_SKIP() << "this machine has a CUDA driver";
  }
  json m = baseManifest();
  m["cuda"] = {{"archs", {"sm_90"}}, {"binary", "kernels.cubin"}};
  writeBundle(m);
  writeFile("kernels.cubin", fakeCubin(0)); // Complete, as far as we check.
  EXPECT_EQ(deviceError(DLART_DEVICE_CUDA, DLART_ERROR_DEVICE),
            "no CUDA driver: libcuda.so.1 not found (this machine has no "
            "NVIDIA driver); use --device host");
  // The host still works for the same bundle.
  dlart_close(model);
  model = nullptr;
  openOk();
  EXPECT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
}

} // namespace
