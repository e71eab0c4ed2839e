//===- ContextTest.cpp - execution contexts: one model, several threads ---===//
//
// dlart_context_*: contexts of one loaded model run at the same time, each
// on its own inputs, outputs and arena, with outputs bit-identical to a
// single-threaded run; the model's weights cannot change under a running
// context; a model closed before its contexts lives until the last is
// destroyed. The toy bundle is RuntimeFixture.h's.
//
//===----------------------------------------------------------------------===//

#include "RuntimeFixture.h"

#include <atomic>
#include <chrono>
#include <dlfcn.h>
#include <thread>

namespace {

class ContextTest : public RuntimeTest {
protected:
  void TearDown() override {
    for (dlart_context *c : contexts)
      dlart_context_destroy(c);
    if (lib)
      ::dlclose(lib);
    RuntimeTest::TearDown();
  }

  // Opens the toy bundle (its forward steps replaced by `forward` when
  // given) on the host with `threads` threads and loads its weights.
  void load(int threads, const json &forward = nullptr) {
    json m = baseManifest();
    if (!forward.is_null())
      m["forward"] = forward;
    writeBundle(m);
    openOk();
    ASSERT_EQ(dlart_set_threads(model, threads), DLART_OK);
    ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK)
        << dlart_last_error();
    ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK)
        << dlart_last_error();
  }
  dlart_context *newContext() {
    dlart_context *c = nullptr;
    EXPECT_EQ(dlart_context_create(model, &c), DLART_OK) << dlart_last_error();
    if (c)
      contexts.push_back(c);
    return c;
  }
  // A global of the kernels.so the runtime loaded (RTLD_NOLOAD: the same
  // handle).
  template <typename T> volatile T *global(const char *name) {
    if (!lib)
      lib = ::dlopen((bundle + "/kernels.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
    return lib ? static_cast<volatile T *>(::dlsym(lib, name)) : nullptr;
  }

  // Input k of the runs below: different for every run.
  static std::vector<float> input(int k) {
    std::vector<float> x(32);
    for (int i = 0; i < 32; ++i)
      x[i] = std::sin(0.37f * float(i + 32 * k)) * float(1 + k % 7);
    return x;
  }

  std::vector<dlart_context *> contexts;
  void *lib = nullptr;
};

TEST_F(ContextTest, FourThreadsFiftyRunsEachBitIdenticalToOneThread) {
  constexpr int kThreads = 4, kRuns = 50;
  load(1);
  // The reference: every input through the model's own context, one thread.
  std::vector<std::vector<float>> want(kThreads * kRuns);
  for (int k = 0; k < kThreads * kRuns; ++k) {
    std::vector<float> x = input(k);
    want[k].assign(32, NAN);
    const float *in[] = {x.data()};
    float *out[] = {want[k].data()};
    ASSERT_EQ(dlart_forward(model, in, out), DLART_OK) << dlart_last_error();
  }
  std::vector<dlart_context *> ctx;
  for (int t = 0; t < kThreads; ++t) {
    ctx.push_back(newContext());
    ASSERT_NE(ctx.back(), nullptr);
    ASSERT_EQ(dlart_context_set_threads(ctx.back(), 2), DLART_OK);
  }
  EXPECT_STREQ(dlart_context_info(ctx[0]), "host, 2 threads, kernels.so");
  EXPECT_STREQ(dlart_device_info(model), "host, 1 thread, kernels.so");
  std::vector<std::vector<std::vector<float>>> got(kThreads);
  std::vector<int> failed(kThreads, 0);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        std::vector<float> x = input(t * kRuns + r), y(32, NAN);
        const float *in[] = {x.data()};
        float *out[] = {y.data()};
        if (dlart_context_forward(ctx[t], in, out) != DLART_OK) {
          ++failed[t];
          errors[t] = dlart_last_error();
        }
        got[t].push_back(std::move(y));
      }
    });
  // Meanwhile the model's own context runs too.
  for (int k = 0; k < kRuns; ++k) {
    std::vector<float> x = input(k), y(32, NAN);
    const float *in[] = {x.data()};
    float *out[] = {y.data()};
    ASSERT_EQ(dlart_forward(model, in, out), DLART_OK) << dlart_last_error();
    EXPECT_EQ(std::memcmp(y.data(), want[k].data(), 128), 0) << "model run " << k;
  }
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failed[t], 0) << "thread " << t << ": " << errors[t];
    ASSERT_EQ(got[t].size(), size_t(kRuns));
    for (int r = 0; r < kRuns; ++r)
      EXPECT_EQ(std::memcmp(got[t][r].data(), want[t * kRuns + r].data(), 128), 0)
          << "thread " << t << ", run " << r;
  }
}

TEST_F(ContextTest, ContextsRunAtTheSameTimeEachOnItsOwnArena) {
  // scale_add writes the activation buffer, then `meet` waits until both
  // contexts are inside it before it reads the buffer: a runtime that ran
  // one call at a time would never let them meet, one arena for both would
  // give one of them the other's values.
  load(1, json::array({step("scale_add", {2, 2, 2}, {0, 3, 4}), step("meet", {32, 1, 1}, {4, 1})}));
  volatile int *goal = global<int>("meet_goal"), *timeouts = global<int>("meet_timeouts");
  ASSERT_TRUE(goal && timeouts);
  *goal = 2;
  dlart_context *a = newContext(), *b = newContext();
  ASSERT_TRUE(a && b);
  std::vector<float> xa = input(1), xb = input(2), ya(32, NAN), yb(32, NAN);
  dlart_status sa = DLART_ERROR_INTERNAL, sb = DLART_ERROR_INTERNAL;
  std::thread ta([&] {
    const float *in[] = {xa.data()};
    float *out[] = {ya.data()};
    sa = dlart_context_forward(a, in, out);
  });
  std::thread tb([&] {
    const float *in[] = {xb.data()};
    float *out[] = {yb.data()};
    sb = dlart_context_forward(b, in, out);
  });
  ta.join();
  tb.join();
  EXPECT_EQ(sa, DLART_OK);
  EXPECT_EQ(sb, DLART_OK);
  EXPECT_EQ(*timeouts, 0) << "the two contexts never ran at the same time";
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(ya[i], 2.0f * xa[i] + bias[i / 16] - 1.0f) << "a, element " << i;
    EXPECT_EQ(yb[i], 2.0f * xb[i] + bias[i / 16] - 1.0f) << "b, element " << i;
  }
}

TEST_F(ContextTest, WeightsDoNotChangeUnderARunningContext) {
  load(1, json::array({step("wait_gate", {1, 1, 1}, {0, 1})}));
  volatile int *entered = global<int>("entered"), *release = global<int>("release");
  ASSERT_TRUE(entered && release);
  dlart_context *c = newContext();
  ASSERT_NE(c, nullptr);
  dlart_status first = DLART_ERROR_INTERNAL;
  std::thread holder([&] { first = dlart_context_run(c); });
  for (int i = 0; i < 10000 && !*entered; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(*entered) << "the context's run never reached its kernel";
  EXPECT_EQ(dlart_load_weights(model, nullptr), DLART_ERROR_STATE);
  EXPECT_EQ(std::string(dlart_last_error()),
            "dlart_load_weights: 1 execution context(s) of the model are running "
            "on other threads; the device and the weights change only while none "
            "runs");
  EXPECT_EQ(dlart_context_run(c), DLART_ERROR_STATE);
  EXPECT_EQ(std::string(dlart_last_error()),
            "dlart_context_run: the context is in use by another thread: a "
            "dlart_context runs one call at a time (create one per thread)");
  // The model's own context is not the busy one.
  EXPECT_EQ(dlart_set_inputs(model, nullptr), DLART_OK) << dlart_last_error();
  *release = 1;
  holder.join();
  EXPECT_EQ(first, DLART_OK);
  // Idle again: the weights may change, and the context sees the new ones.
  ASSERT_EQ(dlart_load_weights(model, biasWeights(4.0f, 8.0f).c_str()), DLART_OK)
      << dlart_last_error();
  EXPECT_EQ(dlart_context_forward(c, nullptr, nullptr), DLART_OK) << dlart_last_error();
}

TEST_F(ContextTest, ReloadedWeightsReachEveryContext) {
  load(2);
  dlart_context *c = newContext();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(dlart_load_weights(model, biasWeights(1.0f, 2.0f).c_str()), DLART_OK);
  float *x = dlart_context_input_buffer(c, 0);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % 64, 0u);
  for (int i = 0; i < 32; ++i)
    x[i] = float(i);
  ASSERT_EQ(dlart_context_set_inputs(c, nullptr), DLART_OK);
  ASSERT_EQ(dlart_context_run(c), DLART_OK);
  ASSERT_EQ(dlart_context_get_outputs(c, nullptr), DLART_OK);
  const float *y = dlart_context_output_buffer(c, 0);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(y[i], 2.0f * i + bias[i / 16] - 1.0f) << "element " << i;
  // The model's own buffers are not the context's.
  EXPECT_NE(dlart_input_buffer(model, 0), x);
  double ms[2] = {-1, -1};
  ASSERT_EQ(dlart_context_profile(c, ms), DLART_OK);
  EXPECT_GE(ms[0], 0.0);
  EXPECT_GE(ms[1], 0.0);
}

TEST_F(ContextTest, ModelClosedBeforeItsContexts) {
  load(2);
  dlart_context *c = newContext();
  ASSERT_NE(c, nullptr);
  dlart_close(model);
  model = nullptr; // The fixture's TearDown must not close it again.
  std::vector<float> x = input(3), y(32, NAN);
  const float *in[] = {x.data()};
  float *out[] = {y.data()};
  ASSERT_EQ(dlart_context_forward(c, in, out), DLART_OK) << dlart_last_error();
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(y[i], 2.0f * x[i] + bias[i / 16] - 1.0f) << "element " << i;
}

TEST_F(ContextTest, Errors) {
  writeBundle(baseManifest());
  openOk();
  dlart_context *c = reinterpret_cast<dlart_context *>(1);
  EXPECT_EQ(dlart_context_create(model, &c), DLART_ERROR_STATE);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(dlart_last_error()).find(
                ": no device chosen: call dlart_set_device before dlart_context_create"),
            std::string::npos)
      << dlart_last_error();
  EXPECT_EQ(dlart_context_create(nullptr, &c), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(), "dlart_context_create: model is null");
  EXPECT_EQ(dlart_context_create(model, nullptr), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlart_context_forward(nullptr, nullptr, nullptr),
            DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(), "dlart_context_forward: context is null");
  EXPECT_EQ(dlart_context_run(nullptr), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlart_context_input_buffer(nullptr, 0), nullptr);
  EXPECT_STREQ(dlart_context_info(nullptr), "");
  dlart_context_destroy(nullptr);

  ASSERT_EQ(dlart_set_device(model, DLART_DEVICE_HOST), DLART_OK);
  c = newContext();
  ASSERT_NE(c, nullptr);
  // Before the weights.
  EXPECT_EQ(dlart_context_forward(c, nullptr, nullptr), DLART_ERROR_STATE);
  EXPECT_NE(std::string(dlart_last_error()).find(": weights not loaded: call "
                                                 "dlart_load_weights first"),
            std::string::npos)
      << dlart_last_error();
  EXPECT_EQ(dlart_context_set_threads(c, 0), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(),
               "dlart_context_set_threads: 0 threads: expected 1 to 4096");
  EXPECT_EQ(dlart_context_output_buffer(c, 1), nullptr);
  EXPECT_STREQ(dlart_last_error(),
               "dlart_context_output_buffer: index 1 out of range (the model has 1)");
  const float *nullInput[] = {nullptr};
  ASSERT_EQ(dlart_load_weights(model, biasWeights().c_str()), DLART_OK);
  EXPECT_EQ(dlart_context_set_inputs(c, nullInput), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(), "dlart_context_set_inputs: input 0 'x' is null");
  EXPECT_EQ(dlart_context_profile(c, nullptr), DLART_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlart_last_error(), "dlart_context_profile: step_ms is null");
}

} // namespace
