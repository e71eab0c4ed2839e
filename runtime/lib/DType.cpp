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

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) // NaN: quiet, with the top payload bits.
    return uint16_t(sign | 0x7e00 | ((absx >> 13) & 0x3ff));
  if (absx >= 0x477ff000u) // >= 65520 rounds past 65504: infinity.
    return uint16_t(sign | 0x7c00);
  if (absx < 0x38800000u) { // Below 2^-14: a binary16 subnormal (or zero).
    if (absx < 0x33000000u) // Below 2^-25: rounds to zero.
      return sign;
    uint32_t mant = (absx & 0x7fffff) | 0x800000;
    int shift = 126 - int(absx >> 23); // 14 - 1 + 113 - exponent
    uint32_t value = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (value & 1)))
      ++value;
    return uint16_t(sign | value);
  }
  // Normal: rebias the exponent, round the 13 dropped bits to nearest even
  // (a carry into the exponent is the correct result).
  uint32_t value = (absx - 0x38000000u) >> 13;
  uint32_t rest = absx & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (value & 1)))
    ++value;
  return uint16_t(sign | value);
}

uint16_t floatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) // NaN: quiet.
    return uint16_t((x >> 16) | 0x40);
  // Round to nearest even on the dropped 16 bits; overflow gives infinity.
  x += 0x7fffu + ((x >> 16) & 1);
  return uint16_t(x >> 16);
}

float roundToTF32(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) // NaN
    return f;
  x = (x + 0x1000u) & 0xffffe000u;
  std::memcpy(&f, &x, sizeof x);
  return f;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

} // namespace dlart
