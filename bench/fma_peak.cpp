//===- fma_peak.cpp - Measured single-precision FMA peak of the host -------===//
//
// Measures the single-precision FMA throughput in GFLOP/s (1 FMA = 2 FLOP)
// on 1..N threads. Each thread runs a loop of many independent accumulator
// chains (more chains than FMA latency x FMA ports), so the loop is bound by
// FMA throughput, not latency. Two variants: AVX2+FMA (256-bit, the baseline
// this file is compiled for) and AVX-512F (512-bit, compiled through a
// target attribute and run only when __builtin_cpu_supports("avx512f")).
//
//   fma_peak [--threads N] [--seconds S] [--isa avx2|avx512|best]
//
// Output, one line per (isa, thread count), then the best per thread count:
//   fma_peak avx2 threads 1: 63.1 GFLOP/s
//   peak threads 1: 63.1 GFLOP/s (avx2)
// bench/host_vs_torch parses the "peak threads T:" lines.
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// Independent chains: more than FMA latency x FMA ports (4 x 2 on current
// x86 cores) with margin, and with the two constants within the register
// file: 12 + 2 of the 16 ymm registers, 24 + 2 of the 32 zmm registers (more
// would spill to the stack and measure loads and stores instead).
constexpr int kChains256 = 12;
constexpr int kChains512 = 24;

// Returns FLOPs done. The multiplier is slightly below 1 and the addend is
// small, so the values stay finite and normal for any iteration count.
__attribute__((noinline)) double runAvx2(long iters) {
  constexpr int kChains = kChains256;
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm256_set1_ps(1.0f + 0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return 2.0 * 8 * kChains * double(iters);
}

__attribute__((noinline, target("avx512f"))) double runAvx512(long iters) {
  constexpr int kChains = kChains512;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_ps(1.0f + 0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f);
  const __m512 b = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return 2.0 * 16 * kChains * double(iters);
}

using Kernel = double (*)(long);

/// GFLOP/s of `threads` threads each running `kernel` for about `seconds`,
/// best of 3 trials (a trial's rate is total FLOPs / slowest thread's time).
double measure(Kernel kernel, int threads, double seconds) {
  // Calibrate the iteration count on one thread.
  long iters = 1 << 16;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    kernel(iters);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0.02) {
      iters = std::max(1L, long(iters * (seconds / 3) / s));
      break;
    }
    iters *= 2;
  }
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<double> secs(threads), flops(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load(std::memory_order_acquire)) {
        }
        auto t0 = std::chrono::steady_clock::now();
        flops[t] = kernel(iters);
        secs[t] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      });
    while (ready.load() < threads) {
    }
    go.store(true, std::memory_order_release);
    for (auto &th : pool)
      th.join();
    double total = 0;
    for (double f : flops)
      total += f;
    double slowest = *std::max_element(secs.begin(), secs.end());
    best = std::max(best, total / slowest / 1e9);
  }
  return best;
}

int usage() {
  std::fprintf(stderr, "usage: fma_peak [--threads N] [--seconds S] [--isa avx2|avx512|best]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  int maxThreads = int(std::thread::hardware_concurrency());
  if (maxThreads < 1)
    maxThreads = 1;
  double seconds = 0.3;
  std::string isa = "best";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      return usage();
    if (a == "--threads")
      maxThreads = std::atoi(argv[++i]);
    else if (a == "--seconds")
      seconds = std::atof(argv[++i]);
    else if (a == "--isa")
      isa = argv[++i];
    else
      return usage();
  }
  if (maxThreads < 1 || seconds <= 0 || (isa != "avx2" && isa != "avx512" && isa != "best"))
    return usage();

  __builtin_cpu_init();
  bool hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool hasAvx512 = __builtin_cpu_supports("avx512f");
  if (!hasAvx2) {
    std::fprintf(stderr, "fma_peak: this CPU has no AVX2+FMA\n");
    return 1;
  }
  if (isa == "avx512" && !hasAvx512) {
    std::fprintf(stderr, "fma_peak: this CPU has no AVX-512F\n");
    return 1;
  }
  struct Variant {
    const char *name;
    Kernel kernel;
  };
  std::vector<Variant> variants;
  if (isa != "avx512")
    variants.push_back({"avx2", runAvx2});
  if (isa != "avx2" && hasAvx512)
    variants.push_back({"avx512", runAvx512});

  std::printf("fma_peak: %d hardware threads, avx512f %s, %d (avx2) / %d (avx512) chains, "
              "%.2f s per measurement\n",
              int(std::thread::hardware_concurrency()), hasAvx512 ? "yes" : "no", kChains256,
              kChains512, seconds);
  for (int t = 1; t <= maxThreads; ++t) {
    double best = 0;
    const char *bestName = "";
    for (const Variant &v : variants) {
      double g = measure(v.kernel, t, seconds);
      std::printf("fma_peak %s threads %d: %.1f GFLOP/s\n", v.name, t, g);
      if (g > best) {
        best = g;
        bestName = v.name;
      }
    }
    std::printf("peak threads %d: %.1f GFLOP/s (%s)\n", t, best, bestName);
  }
  return 0;
}
