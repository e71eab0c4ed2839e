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
  // f16 and bf16 values are tf32 values too (tf32 has f32's exponent and
  // more mantissa bits than either).
  bool fits = dtype == ElementType::F32 || dtype == ElementType::TF32 ||
              !(t.dtype == DType::F16 || t.dtype == DType::BF16) ||
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

namespace {
std::string overflowError(float v, size_t first, size_t bad, size_t n, ElementType dtype,
                          const std::string &file, const TensorDesc &p) {
  char value[32];
  std::snprintf(value, sizeof value, "%g", double(v));
  const char *largest = dtype == ElementType::F16    ? "65504"
                        : dtype == ElementType::BF16 ? "3.39e38"
                                                     : "3.4012e38";
  return file + ": tensor '" + p.name + "' holds " + value + " at element " +
         std::to_string(first) + " (index " + formatIndex(first, p.shape) +
         "), which overflows the model's " + elementTypeName(dtype) + " storage (largest " +
         largest + ")" +
         (bad > 1 ? "; " + std::to_string(bad) + " of its " + std::to_string(n) + " values do"
                  : "") +
         "; weights must be finite after conversion (dla-run --allow-nonfinite or "
         "dlart_set_allow_nonfinite accepts them)";
}
} // namespace

bool roundToTF32InPlace(std::vector<float> &values, const std::string &file,
                        const TensorDesc &p, bool allowNonfinite, std::string &err) {
  size_t bad = 0, first = 0;
  float firstValue = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    float r = roundToTF32(values[i]);
    if (std::isinf(r) && std::isfinite(values[i]) && bad++ == 0) {
      first = i;
      firstValue = values[i];
    }
    values[i] = r;
  }
  if (!bad || allowNonfinite)
    return true;
  err = overflowError(firstValue, first, bad, values.size(), ElementType::TF32, file, p);
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
  err = overflowError(values[first], first, bad, values.size(), dtype, file, p);
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
