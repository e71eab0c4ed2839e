/*===- dlart/HostFeatures.h - CPU features a host bundle records -*- C++ -*-===
 *
 * The x86 features a host bundle's kernels.so may depend on, by their LLVM
 * names (which are also the names GCC's and Clang's __builtin_cpu_supports
 * take). dlac records in manifest.json ("host": {"cpu", "features"}) those
 * of this list that the CPU it compiled for (--host-cpu) has; the runtime
 * refuses the bundle before loading kernels.so when the machine lacks any
 * of them, instead of dying on SIGILL. One list for both sides:
 * DLART_HOST_FEATURES(X) calls X("name") for each, so that the runtime can
 * pass every name as the string literal __builtin_cpu_supports needs.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DLART_HOSTFEATURES_H
#define DLART_HOSTFEATURES_H

#define DLART_HOST_FEATURES(X)                                                 \
  X("sse2") X("sse3") X("ssse3") X("sse4.1") X("sse4.2") X("popcnt") X("avx")  \
  X("avx2") X("fma") X("f16c") X("bmi") X("bmi2") X("lzcnt") X("movbe")        \
  X("aes") X("pclmul") X("avx512f") X("avx512vl") X("avx512bw")                \
  X("avx512dq") X("avx512cd") X("avx512vnni") X("avx512bf16")                  \
  X("avx512fp16") X("avx512vbmi") X("avx512vbmi2") X("avx512ifma")             \
  X("avx512vpopcntdq") X("avx512bitalg") X("gfni") X("vpclmulqdq")

namespace dlart {

#define DLART_FEATURE_NAME(name) name,
inline constexpr const char *kHostFeatures[] = {DLART_HOST_FEATURES(DLART_FEATURE_NAME)};
#undef DLART_FEATURE_NAME

} // namespace dlart

#endif
