//===- fuzz_kernel_files.cpp - libFuzzer target for a bundle's kernel files ===//
//
// Arbitrary bytes as a bundle's kernels.so and kernels.cubin/.fatbin ->
// the runtime's checks that run before dlopen or the CUDA driver sees the
// file (dlart::checkHostLibrary: every ELF segment present, so a truncated
// library cannot raise SIGBUS in dlopen; dlart::checkCudaBinary: a complete
// cubin or fatbin). They must return true, or false with a message naming
// the file, and never crash, hang or read past the bytes.
//
//===----------------------------------------------------------------------===//

#include "runtime/lib/Backend.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *tmp = std::getenv("TMPDIR");
  static const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") +
                                  "/fuzz_kernel_files." +
                                  std::to_string(::getpid()) + ".so";
  FILE *out = std::fopen(path.c_str(), "wb");
  if (!out)
    std::abort();
  if (size && std::fwrite(data, 1, size, out) != size)
    std::abort();
  std::fclose(out);

  std::string err;
  if (!dlart::checkHostLibrary(path, err) && err.rfind(path, 0) != 0)
    std::abort(); // Every message names the file.
  std::vector<char> bytes(data, data + size);
  err.clear();
  if (!dlart::checkCudaBinary(path, bytes, err) && err.rfind(path, 0) != 0)
    std::abort();
  return 0;
}
