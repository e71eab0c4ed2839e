//===- StorageType.cpp - Parameters in a reduced-precision storage type ---===//
//
// Part of libdlart, the dlac runtime. Plain C++17: no LLVM, no CUDA.
//
//===----------------------------------------------------------------------===//

#include "StorageType.h"

#include <cmath>
#include <cstring>

namespace dlart {

std::string formatIndex(uint64_t i, const std::vector<int64_t> &shape);

bool checkParameterDType(const std::string &file, const TensorInfo &t, ElementType dtype,
                         std::string &err) {
  bool fits = dtype == ElementType::F32 || !(t.dtype == DType::F16 || t.dtype == DType::BF16) ||
              (t.dtype == DType::F16) == (dtype == ElementType::F16);
  if (fits)
    return true;
  err = file + ": tensor '" + t.name + "' is " + dtypeName(t.dtype) + " but the model stores " +
        elementTypeName(dtype) + " parameters: converting " + dtypeName(t.dtype) + " to " +
        elementTypeName(dtype) + " would round it a second time; give an F32 checkpoint (or " +
        (dtype == ElementType::F16 ? "F16" : "BF16") + "), or compile with dlac --precision=" +
        (t.dtype == DType::F16 ? "f16" : "bf16");
  return false;
}

bool toStorageType(const std::vector<float> &values, ElementType dtype,
                   std::vector<uint16_t> &out, const std::string &file, const TensorDesc &p,
                   bool allowNonfinite, std::string &err) {
  out.resize(values.size());
  bool half = dtype == ElementType::F16;
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t h = half ? floatToHalf(values[i]) : floatToBFloat16(values[i]);
    out[i] = h;
    bool inf = half ? (h & 0x7fff) == 0x7c00 : (h & 0x7fff) == 0x7f80;
    if (inf && std::isfinite(values[i]) && bad++ == 0)
      first = i;
  }
  if (!bad || allowNonfinite)
    return true;
  char value[32];
  std::snprintf(value, sizeof value, "%g", double(values[first]));
  err = file + ": tensor '" + p.name + "' holds " + value + " at element " +
        std::to_string(first) + " (index " + formatIndex(first, p.shape) +
        "), which overflows the model's " + elementTypeName(dtype) + " storage (largest " +
        (half ? "65504" : "3.39e38") + ")" +
        (bad > 1 ? "; " + std::to_string(bad) + " of its " + std::to_string(values.size()) +
                       " values do"
                 : "") +
        "; weights must be finite after conversion (dla-run --allow-nonfinite or "
        "dlart_set_allow_nonfinite accepts them)";
  return false;
}

void widenToF32(const void *bytes, ElementType dtype, size_t n, float *out) {
  if (dtype == ElementType::F32) {
    std::memcpy(out, bytes, n * 4);
    return;
  }
  const auto *h = static_cast<const uint16_t *>(bytes);
  for (size_t i = 0; i < n; ++i)
    out[i] = dtype == ElementType::F16 ? halfToFloat(h[i]) : bfloat16ToFloat(h[i]);
}

} // namespace dlart
