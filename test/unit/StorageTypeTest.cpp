//===- StorageTypeTest.cpp - float -> f16 / bf16 rounding of the runtime --===//
//
// dlart rounds f32 parameters to a reduced-precision model's storage type
// when it loads them (runtime/lib/StorageType.cpp, docs/precision.md). The
// rounding is checked here against independent definitions: the compiler's
// own _Float16 conversion (IEEE round to nearest even), and for bfloat16 the
// defining property of round-to-nearest-even on the neighbouring values.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"

#include "../../runtime/lib/StorageType.h"

#include <gtest/gtest.h>

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
