//===- DType.cpp - safetensors dtypes and shapes --------------------------===//
//
// Part of libdlart, the dlac runtime. Plain C++17 + POSIX: no LLVM, no CUDA.
//
// The dtypes of the safetensors format (names and element sizes), the exact
// widening of half and bfloat16 to float, and shapes as messages print them.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"

#include <cstring>

namespace dlart {

namespace {

struct DTypeEntry {
  DType dtype;
  const char *name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeEntry &entryFor(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e;
  return kDTypes[0]; // Unreachable for valid enum values.
}

} // namespace

//===----------------------------------------------------------------------===//
// DType helpers
//===----------------------------------------------------------------------===//

const char *dtypeName(DType dtype) { return entryFor(dtype).name; }

size_t dtypeSize(DType dtype) { return entryFor(dtype).size; }

bool parseDType(const std::string &name, DType &dtype) {
  for (const DTypeEntry &e : kDTypes) {
    if (name == e.name) {
      dtype = e.dtype;
      return true;
    }
  }
  return false;
}

bool isFloatDType(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::F64;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    // Inf or NaN: keep the payload (and thus the quiet bit) in the top bits.
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign; // Signed zero.
  } else {
    // Subnormal half (mant * 2^-24) is a normal float: shift the leading one
    // into the implicit bit position, lowering the exponent each step.
    int32_t e = 127 - 15 + 1;
    while (!(mant & 0x400)) {
      mant <<= 1;
      --e;
    }
    bits = sign | (uint32_t(e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float bfloat16ToFloat(uint16_t h) {
  // bfloat16 is the top half of a float.
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

} // namespace dlart
