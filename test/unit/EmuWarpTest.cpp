//===- EmuWarpTest.cpp - cuda-emu's mma.sync and ldmatrix -----------------===//
//
// runtime/lib/EmuWarp.cpp against the PTX ISA and against plain GEMMs:
//  * the fragment layouts, entry by entry, as the PTX ISA's figures for
//    mma.m16n8k16 (f16, bf16) and mma.m16n8k8 (tf32) draw them for a few
//    lanes, and as covering every element of A, B and C exactly once;
//  * mma.sync against a plain triple loop in double, with values whose
//    products and sums are exact, so that the comparison is bit for bit;
//  * ldmatrix (x1, x2, x4, with and without .trans) against the ISA's
//    statement "lane 8 j + r gives row r of matrix j; the word (j, row, w)
//    goes to lane 4 row + w", and composed with mma.sync as a kernel uses
//    them: A row-major and B row-major (K x N) in shared memory, loaded by
//    ldmatrix and ldmatrix.trans, give the same D as the plain GEMM.
//
//===----------------------------------------------------------------------===//

#include "../../runtime/lib/EmuWarp.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

using namespace dlart::emu;

namespace {

constexpr MmaKind kKinds[] = {MmaKind::F16_M16N8K16, MmaKind::BF16_M16N8K16,
                              MmaKind::TF32_M16N8K8};

uint16_t halfBits(float v) {
  _Float16 h = static_cast<_Float16>(v);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}
/// bf16 bits of a value that bf16 holds exactly (the tests' values do).
uint16_t bfloat16Bits(float v) {
  uint32_t word;
  std::memcpy(&word, &v, 4);
  EXPECT_EQ(word & 0xffffu, 0u) << v << " is not a bf16 value";
  return static_cast<uint16_t>(word >> 16);
}
uint32_t floatBits(float v) {
  uint32_t word;
  std::memcpy(&word, &v, 4);
  return word;
}
uint16_t bits16(MmaKind kind, float v) {
  return kind == MmaKind::F16_M16N8K16 ? halfBits(v) : bfloat16Bits(v);
}

void expectAt(RowCol got, int row, int col, const char *what, int lane, int element) {
  EXPECT_EQ(got.row, row) << what << " lane " << lane << " element " << element;
  EXPECT_EQ(got.col, col) << what << " lane " << lane << " element " << element;
}

} // namespace

// The PTX ISA's figures, read for lanes 0, 5 (groupID 1, threadID_in_group
// 1) and 31.
TEST(EmuWarp, FragmentsOfM16N8K16MatchTheIsaFigures) {
  for (MmaKind kind : {MmaKind::F16_M16N8K16, MmaKind::BF16_M16N8K16}) {
    const int a0[8][2] = {{0, 0}, {0, 1}, {8, 0}, {8, 1}, {0, 8}, {0, 9}, {8, 8}, {8, 9}};
    const int a5[8][2] = {{1, 2}, {1, 3}, {9, 2}, {9, 3}, {1, 10}, {1, 11}, {9, 10}, {9, 11}};
    const int a31[8][2] = {{7, 6},  {7, 7},  {15, 6},  {15, 7},
                           {7, 14}, {7, 15}, {15, 14}, {15, 15}};
    for (int i = 0; i < 8; ++i) {
      expectAt(mmaFragmentA(kind, 0, i), a0[i][0], a0[i][1], "A", 0, i);
      expectAt(mmaFragmentA(kind, 5, i), a5[i][0], a5[i][1], "A", 5, i);
      expectAt(mmaFragmentA(kind, 31, i), a31[i][0], a31[i][1], "A", 31, i);
    }
    const int b0[4][2] = {{0, 0}, {1, 0}, {8, 0}, {9, 0}};
    const int b5[4][2] = {{2, 1}, {3, 1}, {10, 1}, {11, 1}};
    const int b31[4][2] = {{6, 7}, {7, 7}, {14, 7}, {15, 7}};
    for (int i = 0; i < 4; ++i) {
      expectAt(mmaFragmentB(kind, 0, i), b0[i][0], b0[i][1], "B", 0, i);
      expectAt(mmaFragmentB(kind, 5, i), b5[i][0], b5[i][1], "B", 5, i);
      expectAt(mmaFragmentB(kind, 31, i), b31[i][0], b31[i][1], "B", 31, i);
    }
  }
  const int c0[4][2] = {{0, 0}, {0, 1}, {8, 0}, {8, 1}};
  const int c5[4][2] = {{1, 2}, {1, 3}, {9, 2}, {9, 3}};
  const int c31[4][2] = {{7, 6}, {7, 7}, {15, 6}, {15, 7}};
  for (int i = 0; i < 4; ++i) {
    expectAt(mmaFragmentC(0, i), c0[i][0], c0[i][1], "C", 0, i);
    expectAt(mmaFragmentC(5, i), c5[i][0], c5[i][1], "C", 5, i);
    expectAt(mmaFragmentC(31, i), c31[i][0], c31[i][1], "C", 31, i);
  }
}

TEST(EmuWarp, FragmentsOfM16N8K8Tf32MatchTheIsaFigures) {
  MmaKind kind = MmaKind::TF32_M16N8K8;
  const int a0[4][2] = {{0, 0}, {8, 0}, {0, 4}, {8, 4}};
  const int a5[4][2] = {{1, 1}, {9, 1}, {1, 5}, {9, 5}};
  const int a31[4][2] = {{7, 3}, {15, 3}, {7, 7}, {15, 7}};
  for (int i = 0; i < 4; ++i) {
    expectAt(mmaFragmentA(kind, 0, i), a0[i][0], a0[i][1], "A", 0, i);
    expectAt(mmaFragmentA(kind, 5, i), a5[i][0], a5[i][1], "A", 5, i);
    expectAt(mmaFragmentA(kind, 31, i), a31[i][0], a31[i][1], "A", 31, i);
  }
  const int b0[2][2] = {{0, 0}, {4, 0}};
  const int b5[2][2] = {{1, 1}, {5, 1}};
  const int b31[2][2] = {{3, 7}, {7, 7}};
  for (int i = 0; i < 2; ++i) {
    expectAt(mmaFragmentB(kind, 0, i), b0[i][0], b0[i][1], "B", 0, i);
    expectAt(mmaFragmentB(kind, 5, i), b5[i][0], b5[i][1], "B", 5, i);
    expectAt(mmaFragmentB(kind, 31, i), b31[i][0], b31[i][1], "B", 31, i);
  }
}

TEST(EmuWarp, FragmentsCoverEveryElementOnce) {
  for (MmaKind kind : kKinds) {
    MmaShape s = mmaShape(kind);
    std::set<std::pair<int, int>> a, b, c;
    for (int lane = 0; lane < kWarpSize; ++lane) {
      for (int i = 0; i < s.aRegisters * s.elementsPerRegister; ++i) {
        RowCol rc = mmaFragmentA(kind, lane, i);
        ASSERT_TRUE(rc.row >= 0 && rc.row < s.m && rc.col >= 0 && rc.col < s.k);
        EXPECT_TRUE(a.insert({rc.row, rc.col}).second) << "A twice: " << rc.row << "," << rc.col;
      }
      for (int i = 0; i < s.bRegisters * s.elementsPerRegister; ++i) {
        RowCol rc = mmaFragmentB(kind, lane, i);
        ASSERT_TRUE(rc.row >= 0 && rc.row < s.k && rc.col >= 0 && rc.col < s.n);
        EXPECT_TRUE(b.insert({rc.row, rc.col}).second) << "B twice: " << rc.row << "," << rc.col;
      }
      for (int i = 0; i < 4; ++i) {
        RowCol rc = mmaFragmentC(lane, i);
        EXPECT_TRUE(c.insert({rc.row, rc.col}).second);
      }
    }
    EXPECT_EQ(a.size(), size_t(s.m * s.k));
    EXPECT_EQ(b.size(), size_t(s.k * s.n));
    EXPECT_EQ(c.size(), size_t(s.m * s.n));
  }
}

namespace {

/// Random A (M x K), B (K x N), C (M x N) of small multiples of 1/4 (exact
/// in f16, bf16 and tf32; every product and sum exact in f32), the warp's
/// registers holding them, and D by a plain triple loop.
struct Problem {
  std::vector<float> a, b, c, d;
  MmaLane lanes[kWarpSize];
};
Problem makeProblem(MmaKind kind, unsigned seed) {
  MmaShape s = mmaShape(kind);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> small(-16, 16);
  Problem p;
  p.a.resize(s.m * s.k);
  p.b.resize(s.k * s.n);
  p.c.resize(s.m * s.n);
  for (float &v : p.a) v = small(rng) / 4.0f;
  for (float &v : p.b) v = small(rng) / 4.0f;
  for (float &v : p.c) v = small(rng) * 8.0f;
  p.d.assign(s.m * s.n, 0);
  for (int i = 0; i < s.m; ++i)
    for (int j = 0; j < s.n; ++j) {
      double sum = p.c[i * s.n + j];
      for (int k = 0; k < s.k; ++k)
        sum += double(p.a[i * s.k + k]) * p.b[k * s.n + j];
      p.d[i * s.n + j] = static_cast<float>(sum);
    }
  std::memset(p.lanes, 0, sizeof(p.lanes));
  for (int lane = 0; lane < kWarpSize; ++lane) {
    MmaLane &l = p.lanes[lane];
    for (int i = 0; i < s.aRegisters * s.elementsPerRegister; ++i) {
      RowCol rc = mmaFragmentA(kind, lane, i);
      float v = p.a[rc.row * s.k + rc.col];
      if (kind == MmaKind::TF32_M16N8K8)
        l.a[i] = floatBits(v);
      else
        l.a[i / 2] |= uint32_t(bits16(kind, v)) << (16 * (i % 2));
    }
    for (int i = 0; i < s.bRegisters * s.elementsPerRegister; ++i) {
      RowCol rc = mmaFragmentB(kind, lane, i);
      float v = p.b[rc.row * s.n + rc.col];
      if (kind == MmaKind::TF32_M16N8K8)
        l.b[i] = floatBits(v);
      else
        l.b[i / 2] |= uint32_t(bits16(kind, v)) << (16 * (i % 2));
    }
    for (int i = 0; i < 4; ++i) {
      RowCol rc = mmaFragmentC(lane, i);
      l.c[i] = p.c[rc.row * s.n + rc.col];
    }
  }
  return p;
}

} // namespace

TEST(EmuWarp, MmaSyncIsAPlainGemm) {
  for (MmaKind kind : kKinds)
    for (unsigned seed = 1; seed <= 20; ++seed) {
      Problem p = makeProblem(kind, seed);
      mmaSync(kind, p.lanes);
      for (int lane = 0; lane < kWarpSize; ++lane)
        for (int i = 0; i < 4; ++i) {
          RowCol rc = mmaFragmentC(lane, i);
          ASSERT_EQ(p.lanes[lane].d[i], p.d[rc.row * 8 + rc.col])
              << mmaName(int32_t(kind)) << " seed " << seed << " D(" << rc.row << ", "
              << rc.col << ")";
        }
    }
}

TEST(EmuWarp, MmaSyncRoundsTheSumOnce) {
  // The emulator's documented rule (EmuWarp.h): the sum is formed in f64 and
  // rounded once. 4096 * 4096 + 1 + 1 - 4096 * 4096 is 2; summed in f32 in
  // that order, both 1s would be lost to 2^24 and the result 0.
  MmaKind kind = MmaKind::F16_M16N8K16;
  MmaLane lanes[kWarpSize] = {};
  auto setA = [&](int row, int col, float v) {
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 8; ++i) {
        RowCol rc = mmaFragmentA(kind, lane, i);
        if (rc.row == row && rc.col == col)
          lanes[lane].a[i / 2] |= uint32_t(halfBits(v)) << (16 * (i % 2));
      }
  };
  auto setB = [&](int row, int col, float v) {
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < 4; ++i) {
        RowCol rc = mmaFragmentB(kind, lane, i);
        if (rc.row == row && rc.col == col)
          lanes[lane].b[i / 2] |= uint32_t(halfBits(v)) << (16 * (i % 2));
      }
  };
  setA(0, 0, 4096), setB(0, 0, 4096);
  setA(0, 1, 1), setB(1, 0, 1);
  setA(0, 2, 1), setB(2, 0, 1);
  setA(0, 3, -4096), setB(3, 0, 4096);
  mmaSync(kind, lanes);
  EXPECT_EQ(lanes[0].d[0], 2.0f); // lane 0's c0 is D(0, 0)
}

TEST(EmuWarp, Tf32OperandsIgnoreTheLowMantissaBits) {
  MmaKind kind = MmaKind::TF32_M16N8K8;
  MmaLane lanes[kWarpSize] = {};
  // A(0, 0) = 1 + 2^-20 (below tf32's 10 mantissa bits), B(0, 0) = 1.
  lanes[0].a[0] = floatBits(1.0f + 1.0f / (1 << 20));
  lanes[0].b[0] = floatBits(1.0f);
  mmaSync(kind, lanes);
  EXPECT_EQ(lanes[0].d[0], 1.0f);
  // 1 + 2^-10 is a tf32 value and is kept.
  lanes[0].a[0] = floatBits(1.0f + 1.0f / (1 << 10));
  mmaSync(kind, lanes);
  EXPECT_EQ(lanes[0].d[0], 1.0f + 1.0f / (1 << 10));
}

namespace {

/// Four 8x8 matrices of distinct 16-bit values, each row at its own place
/// in a buffer with gaps (rows need not be contiguous, only 16 bytes each).
struct Matrices {
  std::vector<uint16_t> memory = std::vector<uint16_t>(4 * 8 * 16);
  const uint16_t *rows[kWarpSize];
  uint16_t at(int j, int r, int c) const { return uint16_t(1000 * j + 10 * r + c); }
  Matrices() {
    for (int j = 0; j < 4; ++j)
      for (int r = 0; r < 8; ++r) {
        // Row r of matrix j in slot (4 r + 3 - j) of 16 elements: scattered.
        uint16_t *row = memory.data() + 16 * ((r * 4 + (3 - j)) % 32);
        for (int c = 0; c < 8; ++c)
          row[c] = at(j, r, c);
        rows[8 * j + r] = row;
      }
  }
};

} // namespace

TEST(EmuWarp, LdmatrixDistributesRowsAsTheIsaSays) {
  Matrices m;
  for (int matrices : {1, 2, 4})
    for (bool trans : {false, true}) {
      uint32_t out[kWarpSize][4] = {};
      ldmatrix(matrices, trans, m.rows, out);
      for (int j = 0; j < matrices; ++j)
        for (int row = 0; row < 8; ++row)
          for (int w = 0; w < 4; ++w) {
            // Word w of row `row` of matrix j (elements 2w, 2w + 1) goes to
            // lane 4 row + w; .trans takes the matrix transposed.
            int lane = 4 * row + w;
            uint16_t lo = trans ? m.at(j, 2 * w, row) : m.at(j, row, 2 * w);
            uint16_t hi = trans ? m.at(j, 2 * w + 1, row) : m.at(j, row, 2 * w + 1);
            EXPECT_EQ(out[lane][j], uint32_t(lo) | (uint32_t(hi) << 16))
                << "x" << matrices << (trans ? ".trans" : "") << " matrix " << j << " lane "
                << lane;
          }
    }
}

TEST(EmuWarp, LdmatrixFeedsMmaSyncLikeAKernel) {
  for (MmaKind kind : {MmaKind::F16_M16N8K16, MmaKind::BF16_M16N8K16})
    for (unsigned seed = 1; seed <= 5; ++seed) {
      Problem p = makeProblem(kind, seed);
      // A row-major [16][16] and B row-major [16][8] (K x N) in "shared
      // memory".
      std::vector<uint16_t> a(16 * 16), b(16 * 8);
      for (int i = 0; i < 16 * 16; ++i)
        a[i] = bits16(kind, p.a[i]);
      for (int i = 0; i < 16 * 8; ++i)
        b[i] = bits16(kind, p.b[i]);
      // ldmatrix.x4: lane l gives row l % 16 at column 8 (l / 16) of A.
      const uint16_t *rowsA[kWarpSize], *rowsB[kWarpSize];
      for (int l = 0; l < kWarpSize; ++l) {
        rowsA[l] = a.data() + 16 * (l % 16) + 8 * (l / 16);
        rowsB[l] = b.data() + 8 * (l % 16); // x2.trans: lanes 0-15 give rows k
      }
      uint32_t fa[kWarpSize][4], fb[kWarpSize][4];
      ldmatrix(4, false, rowsA, fa);
      ldmatrix(2, true, rowsB, fb);
      MmaLane lanes[kWarpSize];
      for (int l = 0; l < kWarpSize; ++l) {
        std::memcpy(lanes[l].a, fa[l], 16);
        std::memcpy(lanes[l].b, fb[l], 8);
        std::memcpy(lanes[l].c, p.lanes[l].c, 16);
      }
      mmaSync(kind, lanes);
      for (int lane = 0; lane < kWarpSize; ++lane)
        for (int i = 0; i < 4; ++i) {
          RowCol rc = mmaFragmentC(lane, i);
          ASSERT_EQ(lanes[lane].d[i], p.d[rc.row * 8 + rc.col])
              << mmaName(int32_t(kind)) << " seed " << seed;
        }
    }
}

TEST(EmuWarp, HalfAndBfloat16Decoding) {
  EXPECT_EQ(halfToDouble(0x3c00), 1.0);
  EXPECT_EQ(halfToDouble(0xc000), -2.0);
  EXPECT_EQ(halfToDouble(0x0001), std::ldexp(1.0, -24)); // smallest subnormal
  EXPECT_EQ(halfToDouble(0x7bff), 65504.0);
  EXPECT_TRUE(std::isinf(halfToDouble(0x7c00)));
  EXPECT_TRUE(std::isnan(halfToDouble(0x7e00)));
  EXPECT_EQ(bfloat16ToDouble(0x3f80), 1.0);
  EXPECT_EQ(bfloat16ToDouble(0xc040), -3.0);
  EXPECT_TRUE(std::isnan(tf32ToDouble(0x7f800001))); // payload only in ignored bits
}
