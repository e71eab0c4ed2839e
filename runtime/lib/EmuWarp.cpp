//===- EmuWarp.cpp - cuda-emu: the warp-wide matrix instructions ----------===//
//
// Part of libdlart. The fragment layouts below are the PTX ISA's tables,
// written as its formulas are: groupID = laneid >> 2, threadID_in_group =
// laneid % 4.
//
//===----------------------------------------------------------------------===//

#include "EmuWarp.h"

#include <cmath>
#include <cstring>

namespace dlart::emu {

MmaShape mmaShape(MmaKind kind) {
  if (kind == MmaKind::TF32_M16N8K8)
    return {16, 8, 8, 4, 2, 1};
  return {16, 8, 16, 4, 2, 2};
}

const char *mmaName(int32_t kind) {
  switch (kind) {
  case int32_t(MmaKind::F16_M16N8K16): return "m16n8k16 f16";
  case int32_t(MmaKind::BF16_M16N8K16): return "m16n8k16 bf16";
  case int32_t(MmaKind::TF32_M16N8K8): return "m16n8k8 tf32";
  default: return nullptr;
  }
}

RowCol mmaFragmentA(MmaKind kind, int lane, int i) {
  int group = lane >> 2, inGroup = lane % 4;
  if (kind == MmaKind::TF32_M16N8K8) {
    // row = groupID for a0, a2, groupID + 8 for a1, a3;
    // col = threadID_in_group for a0, a1, + 4 for a2, a3.
    int row = (i == 0 || i == 2) ? group : group + 8;
    int col = i < 2 ? inGroup : inGroup + 4;
    return {row, col};
  }
  // row = groupID for ai with 0 <= i < 2 or 4 <= i < 6, else groupID + 8;
  // col = threadID_in_group * 2 + (i & 1), + 8 for i >= 4.
  int row = (i < 2 || (i >= 4 && i < 6)) ? group : group + 8;
  int col = inGroup * 2 + (i & 1) + (i >= 4 ? 8 : 0);
  return {row, col};
}

RowCol mmaFragmentB(MmaKind kind, int lane, int i) {
  int group = lane >> 2, inGroup = lane % 4;
  if (kind == MmaKind::TF32_M16N8K8)
    // row = threadID_in_group for b0, + 4 for b1; col = groupID.
    return {i == 0 ? inGroup : inGroup + 4, group};
  // row = threadID_in_group * 2 + (i & 1), + 8 for i >= 2; col = groupID.
  return {inGroup * 2 + (i & 1) + (i >= 2 ? 8 : 0), group};
}

RowCol mmaFragmentC(int lane, int i) {
  int group = lane >> 2, inGroup = lane % 4;
  // row = groupID for c0, c1, groupID + 8 for c2, c3;
  // col = threadID_in_group * 2 + (i & 1).
  return {i < 2 ? group : group + 8, inGroup * 2 + (i & 1)};
}

double halfToDouble(uint16_t bits) {
  int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  double v;
  if (exponent == 0x1f)
    v = mantissa ? std::nan("") : INFINITY;
  else if (exponent == 0)
    v = std::ldexp(static_cast<double>(mantissa), -24); // subnormal
  else
    v = std::ldexp(static_cast<double>(mantissa | 0x400), exponent - 25);
  return sign ? -v : v;
}

double bfloat16ToDouble(uint16_t bits) {
  uint32_t word = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &word, 4);
  return f;
}

double tf32ToDouble(uint32_t bits) {
  uint32_t word = bits & 0xffffe000u;
  // A NaN whose payload lies in the ignored bits stays a NaN.
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu))
    return std::nan("");
  float f;
  std::memcpy(&f, &word, 4);
  return f;
}

namespace {
/// The value of element `i` of an A or B operand held in register `word`.
double operandValue(MmaKind kind, uint32_t word, int i) {
  if (kind == MmaKind::TF32_M16N8K8)
    return tf32ToDouble(word);
  auto half = static_cast<uint16_t>(i % 2 ? word >> 16 : word);
  return kind == MmaKind::F16_M16N8K16 ? halfToDouble(half) : bfloat16ToDouble(half);
}
} // namespace

void mmaSync(MmaKind kind, MmaLane lanes[kWarpSize]) {
  MmaShape s = mmaShape(kind);
  double a[16][16], b[16][8], c[16][8];
  for (int lane = 0; lane < kWarpSize; ++lane) {
    const MmaLane &l = lanes[lane];
    int aElements = s.aRegisters * s.elementsPerRegister;
    for (int i = 0; i < aElements; ++i) {
      RowCol rc = mmaFragmentA(kind, lane, i);
      a[rc.row][rc.col] = operandValue(kind, l.a[i / s.elementsPerRegister], i);
    }
    int bElements = s.bRegisters * s.elementsPerRegister;
    for (int i = 0; i < bElements; ++i) {
      RowCol rc = mmaFragmentB(kind, lane, i);
      b[rc.row][rc.col] = operandValue(kind, l.b[i / s.elementsPerRegister], i);
    }
    for (int i = 0; i < 4; ++i) {
      RowCol rc = mmaFragmentC(lane, i);
      c[rc.row][rc.col] = l.c[i];
    }
  }
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < 4; ++i) {
      RowCol rc = mmaFragmentC(lane, i);
      double sum = c[rc.row][rc.col];
      for (int k = 0; k < s.k; ++k)
        sum += a[rc.row][k] * b[k][rc.col];
      lanes[lane].d[i] = static_cast<float>(sum);
    }
}

void ldmatrix(int matrices, bool trans, const uint16_t *const rows[kWarpSize],
              uint32_t out[kWarpSize][4]) {
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int j = 0; j < matrices; ++j) {
      int r = lane / 4, c = 2 * (lane % 4);
      uint16_t lo, hi;
      if (trans) {
        // Column r of the matrix as stored: rows c and c + 1.
        lo = rows[8 * j + c][r];
        hi = rows[8 * j + c + 1][r];
      } else {
        lo = rows[8 * j + r][c];
        hi = rows[8 * j + r][c + 1];
      }
      out[lane][j] = uint32_t(lo) | (uint32_t(hi) << 16);
    }
}

} // namespace dlart::emu
