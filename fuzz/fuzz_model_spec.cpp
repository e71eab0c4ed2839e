//===- fuzz_model_spec.cpp - libFuzzer target for the JSON importer --------===//
//
// Arbitrary bytes -> parseModelSpec. Whatever the input, the parser must
// return (never crash, hang or throw), and either succeed without
// diagnostics or fail with at least one; a spec it accepts must describe
// itself (summary(), outputs()) without tripping a sanitizer.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<dla::frontend::Diagnostic> diags;
  auto spec = dla::frontend::parseModelSpec(text, "fuzz.json", diags);
  if (!spec) {
    if (diags.empty())
      std::abort(); // A failure must say why.
    for (const auto &d : diags)
      (void)d.str();
    return 0;
  }
  if (!diags.empty())
    std::abort(); // Success with errors.
  (void)spec->summary();
  for (const auto &out : spec->outputs())
    for (int64_t d : out.shape)
      if (d <= 0)
        std::abort(); // A valid model has no empty outputs.
  return 0;
}
