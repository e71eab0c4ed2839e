//===- StorageTypeTest.cpp - float -> f16 / bf16 / tf32 rounding ---------===//
//
// dlart rounds f32 parameters to a reduced-precision model's storage type
// when it loads them (runtime/lib/StorageType.cpp, docs/precision.md). The
// rounding is checked here against independent definitions: the compiler's
// own _Float16 conversion (IEEE round to nearest even), and for bfloat16 the
// defining property of round-to-nearest-even on the neighbouring values;
// for tf32 that of round-to-nearest with ties away from zero.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"

#include "../../runtime/lib/StorageType.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace dlart;

namespace {

float fromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Every 2^32 / 2^22 th bit pattern, offset so that exponents, mantissas with
// a tie (low bits 0x1000 / 0x8000), and both signs are all visited; plus the
// special values.
template <typename F> void forSampledFloats(F &&check) {
  for (uint64_t b = 0; b < (1ull << 32); b += 1021)
    check(fromBits(uint32_t(b)));
  for (uint32_t hi = 0; hi < (1u << 9); ++hi)
    for (uint32_t lo : {0x0000u, 0x0fffu, 0x1000u, 0x1001u, 0x3000u, 0x7fffu, 0x8000u,
                        0x8001u, 0x18000u, 0x7fffffu})
      check(fromBits((hi << 23) | lo));
}

} // namespace

#if defined(__FLT16_MAX__)
TEST(StorageType, HalfRoundsAsTheCompilersFloat16) {
  size_t checked = 0;
  forSampledFloats([&](float f) {
    _Float16 want = static_cast<_Float16>(f);
    uint16_t wantBits;
    std::memcpy(&wantBits, &want, 2);
    uint16_t got = floatToHalf(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(halfToFloat(got))) << f;
      return;
    }
    ASSERT_EQ(got, wantBits) << "float " << f;
    ++checked;
  });
  EXPECT_GT(checked, 4000000u);
}
#endif

TEST(StorageType, HalfLimits) {
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65519.99f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00); // the tie rounds to even: infinity
  EXPECT_EQ(floatToHalf(-1e6f), 0xfc00);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000); // its half: tie to even
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(std::nanf("")))));
}

TEST(StorageType, BFloat16IsTheNearestEvenNeighbour) {
  forSampledFloats([&](float f) {
    uint16_t r = floatToBFloat16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bfloat16ToFloat(r))) << f;
      return;
    }
    // The candidates are the two bfloat16 values around f: truncation and
    // the next one away from zero.
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    uint16_t down = uint16_t(bits >> 16), up = uint16_t(down + 1);
    double d = std::fabs(double(f) - bfloat16ToFloat(down));
    float upValue = bfloat16ToFloat(up);
    // Past the largest finite value, "up" is 2^128 with an unbounded
    // exponent (IEEE 754: such a result overflows to infinity).
    double u = std::isinf(upValue) && !std::isinf(f)
                   ? std::ldexp(1.0, 128) - std::fabs(double(f))
                   : std::fabs(double(f) - upValue);
    uint16_t want = d < u ? down : u < d ? up : (down & 1 ? up : down);
    if (std::isinf(f))
      want = down;
    ASSERT_EQ(r, want) << "float " << f;
  });
}

TEST(StorageType, OverflowIsNamed) {
  TensorDesc p;
  p.name = "hm.2.bias";
  p.shape = {2, 2};
  std::vector<uint16_t> out;
  std::string err;
  EXPECT_TRUE(toStorageType({1.0f, -2.5f, 65504.0f, 0.0f}, ElementType::F16, out, "w.st", p,
                            false, err));
  EXPECT_EQ(out[2], 0x7bff);
  EXPECT_FALSE(toStorageType({1.0f, 7e4f, -1e5f, 0.0f}, ElementType::F16, out, "w.st", p,
                             false, err));
  EXPECT_EQ(err, "w.st: tensor 'hm.2.bias' holds 70000 at element 1 (index [0, 1]), which "
                 "overflows the model's f16 storage (largest 65504); 2 of its 4 values do; "
                 "weights must be finite after conversion (dla-run --allow-nonfinite or "
                 "dlart_set_allow_nonfinite accepts them)");
  // bf16 has f32's range: only values within half an ulp of FLT_MAX round up.
  EXPECT_TRUE(toStorageType({7e4f, 3e38f}, ElementType::BF16, out, "w.st", p, false, err));
  EXPECT_TRUE(toStorageType({1.0f, 7e4f}, ElementType::F16, out, "w.st", p, true, err));
  EXPECT_EQ(out[1], 0x7c00);
}

TEST(StorageType, TF32IsTheNearestNeighbourTiesAway) {
  forSampledFloats([&](float f) {
    float r = roundToTF32(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(r)) << f;
      return;
    }
    if (std::isinf(f)) {
      ASSERT_EQ(r, f);
      return;
    }
    // The candidates: f truncated to 10 mantissa bits, and the next tf32
    // value away from zero (2^128 in magnitude past the largest finite
    // one: IEEE 754 overflows such a result to infinity).
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    float down = fromBits(bits & 0xffffe000u);
    // tf32's spacing at `down`: 2^(e - 10), subnormals (and 0) that of 2^-126.
    int e = down == 0.0f ? -126 : std::max(std::ilogb(down), -126);
    double up = std::fabs(double(down)) + std::ldexp(1.0, e - 10);
    double a = std::fabs(double(f)) - std::fabs(double(down));
    double b = up - std::fabs(double(f));
    double want = a < b ? std::fabs(double(down)) : up;
    if (want >= std::ldexp(1.0, 128))
      want = HUGE_VAL;
    ASSERT_EQ(std::fabs(double(r)), want) << "float " << f;
    ASSERT_EQ(std::signbit(r), std::signbit(f)) << "float " << f;
  });
  EXPECT_EQ(roundToTF32(1.0f + std::ldexp(1.0f, -11)), 1.0f + std::ldexp(1.0f, -10));
  EXPECT_EQ(roundToTF32(-1.0f - std::ldexp(1.0f, -11)), -1.0f - std::ldexp(1.0f, -10));
  EXPECT_EQ(roundToTF32(1.0f + std::ldexp(1.0f, -12)), 1.0f);
}

TEST(StorageType, TF32OverflowIsNamedAndHalvesFit) {
  TensorDesc p;
  p.name = "hm.2.bias";
  p.shape = {3};
  std::string err;
  std::vector<float> v = {1.0f + std::ldexp(1.0f, -11), 3.4e38f, -2.0f};
  EXPECT_TRUE(roundToTF32InPlace(v, "w.st", p, false, err));
  EXPECT_EQ(v[0], 1.0f + std::ldexp(1.0f, -10));
  v = {0.0f, 3.4028e38f, -3.4025e38f};
  EXPECT_FALSE(roundToTF32InPlace(v, "w.st", p, false, err));
  EXPECT_EQ(err, "w.st: tensor 'hm.2.bias' holds 3.4028e+38 at element 1 (index [1]), which "
                 "overflows the model's tf32 storage (largest 3.4012e38); 2 of its 3 values "
                 "do; weights must be finite after conversion (dla-run --allow-nonfinite or "
                 "dlart_set_allow_nonfinite accepts them)");
  v = {3.4028e38f};
  EXPECT_TRUE(roundToTF32InPlace(v, "w.st", p, true, err));
  EXPECT_TRUE(std::isinf(v[0]));
  // f16 and bf16 values are tf32 values: those checkpoints fit a tf32 model.
  TensorInfo half;
  half.name = "w";
  half.dtype = DType::F16;
  EXPECT_TRUE(checkParameterDType("w.st", half, ElementType::TF32, err));
  half.dtype = DType::BF16;
  EXPECT_TRUE(checkParameterDType("w.st", half, ElementType::TF32, err));
}
