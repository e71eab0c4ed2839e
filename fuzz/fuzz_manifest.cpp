//===- fuzz_manifest.cpp - libFuzzer target for the bundle manifest -------===//
//
// Arbitrary bytes as <bundle>/manifest.json -> dlart::parseManifest (the
// runtime's strict reader, runtime/schema/ManifestReader.cpp). The bundle
// directory is made once, under $TMPDIR, with the files manifests name
// (kernels.so, kernels.cubin, kernels.ptx, kernels.fatbin); only
// manifest.json is rewritten per input. parseManifest must return true, or
// false with a message naming the bundle, and never throw.
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/Manifest.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {
std::string makeBundle() {
  const char *tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") +
                    "/fuzz_manifest." + std::to_string(::getpid()) + ".dlab";
  std::string cmd = "mkdir -p '" + dir + "'";
  if (std::system(cmd.c_str()) != 0)
    std::abort();
  for (const char *f : {"kernels.so", "kernels.cubin", "kernels.ptx",
                        "kernels.fatbin"}) {
    FILE *out = std::fopen((dir + "/" + f).c_str(), "wb");
    if (!out)
      std::abort();
    std::fclose(out);
  }
  return dir;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string dir = makeBundle();
  FILE *out = std::fopen((dir + "/manifest.json").c_str(), "wb");
  if (!out)
    std::abort();
  if (size && std::fwrite(data, 1, size, out) != size)
    std::abort();
  std::fclose(out);

  dlart::Manifest manifest;
  std::string err;
  if (!dlart::parseManifest(dir, manifest, err) &&
      err.rfind(dir + "/", 0) != 0)
    std::abort(); // Every message names the file concerned.
  return 0;
}
