/*===- dlart/HostFeatures.h - CPU features a host bundle records -*- C++ -*-===
 *
 * The x86 features a host bundle's kernels.so may depend on, by their LLVM
 * names (which are also the names GCC's and Clang's __builtin_cpu_supports
 * take). dlac records in manifest.json ("host": {"cpu", "features"}) those
 * of this list that the CPU it compiled for (--host-cpu) has; the runtime
 * refuses the bundle before loading kernels.so when the machine lacks any
 * of them, instead of dying on SIGILL. One list for both sides.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DLART_HOSTFEATURES_H
#define DLART_HOSTFEATURES_H

namespace dlart {

inline constexpr const char *kHostFeatures[] = {
    "sse2",     "sse3",       "ssse3",      "sse4.1",     "sse4.2",
    "popcnt",   "avx",        "avx2",       "fma",        "f16c",
    "bmi",      "bmi2",       "lzcnt",      "movbe",      "aes",
    "pclmul",   "avx512f",    "avx512vl",   "avx512bw",   "avx512dq",
    "avx512cd", "avx512vnni", "avx512bf16", "avx512fp16", "avx512vbmi",
    "avx512vbmi2", "avx512ifma", "avx512vpopcntdq", "avx512bitalg",
    "gfni",     "vpclmulqdq"};

} // namespace dlart

#endif
