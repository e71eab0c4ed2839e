//===- fuzz_safetensors.cpp - libFuzzer target for the safetensors reader -===//
//
// Arbitrary bytes -> SafetensorsFile::openMemory (the same validation as
// open(), on an exact-size heap copy so AddressSanitizer sees any read past
// the end), then readAsF32 of every float tensor and checkParameters against
// a requirement list made from the file itself plus one missing name.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string err;
  auto file = dlart::SafetensorsFile::openMemory("fuzz.safetensors", data,
                                                 size, err);
  if (!file) {
    if (err.rfind("fuzz.safetensors: ", 0) != 0)
      std::abort(); // Every message names the file.
    return 0;
  }
  std::vector<dlart::ParamSpec> required;
  for (const dlart::TensorInfo &t : file->tensors()) {
    if (file->find(t.name) != &t)
      std::abort();
    if (t.byteSize != t.numElements * dlart::dtypeSize(t.dtype))
      std::abort();
    // Touch every byte the reader claims (ASan checks the bounds).
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < t.byteSize; ++i)
      sink = sink ^ t.data[i];
    std::vector<float> values;
    bool ok = file->readAsF32(t.name, values, err);
    if (ok != dlart::isFloatDType(t.dtype))
      std::abort();
    if (ok && values.size() != t.numElements)
      std::abort();
    std::vector<int64_t> shape = t.shape;
    if (required.size() % 2 == 1 && !shape.empty())
      shape[0] += 1; // Every other tensor with a wrong shape.
    required.push_back({t.name, shape});
  }
  required.push_back({"not.in.the.file", {1}});
  std::vector<std::string> warnings;
  if (dlart::checkParameters(*file, required, err, warnings))
    std::abort(); // The missing name must be reported.
  (void)file->names();
  (void)file->metadata();
  return 0;
}
