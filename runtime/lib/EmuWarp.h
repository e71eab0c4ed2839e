//===- EmuWarp.h - cuda-emu: the warp-wide matrix instructions --*- C++ -*-===//
//
// Part of libdlart. What cuda-emu computes once the 32 lanes of a warp have
// met at a warp-wide matrix instruction (EmuWarpOps.cpp has the meeting):
// `mma.sync` and `ldmatrix`, with the fragment layouts of the PTX ISA
// ("Matrix Fragments for mma.m16n8k16 with floating point type",
// "... for mma.m16n8k8" with .tf32, and "Warp-level matrix load
// instruction: ldmatrix"). The layouts are plain functions so that the
// kernel generators' index maps and the unit tests can be held against
// them. Nothing here knows about fibers.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_EMUWARP_H
#define DLART_EMUWARP_H

#include <cstdint>

namespace dlart::emu {

constexpr int kWarpSize = 32;

/// The mma.sync forms the CUDA kernels use: row-major A, column-major B,
/// f32 C and D.
enum class MmaKind : int32_t {
  F16_M16N8K16 = 0,  ///< mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
  BF16_M16N8K16 = 1, ///< mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
  TF32_M16N8K8 = 2,  ///< mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
};
constexpr int kMmaKinds = 3;

/// M, N, K and each lane's share: the 32-bit registers of A and B, the
/// elements one register holds (2 for f16/bf16, 1 for tf32), and the four
/// f32 elements of C and D.
struct MmaShape {
  int m, n, k;
  int aRegisters, bRegisters, elementsPerRegister;
};
MmaShape mmaShape(MmaKind kind);
/// "m16n8k16 f16" and so on, for messages; null for an unknown kind.
const char *mmaName(int32_t kind);

struct RowCol {
  int row, col;
};
/// The element of A (M x K, row-major) that lane `lane` holds as its
/// `element`-th (a0, a1, ... in the PTX ISA's numbering).
RowCol mmaFragmentA(MmaKind kind, int lane, int element);
/// The element of B (K x N) that lane `lane` holds as b`element`: row = k,
/// col = n.
RowCol mmaFragmentB(MmaKind kind, int lane, int element);
/// The element of C and D (16 x 8, f32) of lane `lane`'s c`element`
/// (element < 4), the same for every kind.
RowCol mmaFragmentC(int lane, int element);

/// One lane's registers at an mma.sync: A and B as 32-bit words (two
/// f16/bf16 halves, the lower-numbered element in the low half; or one
/// tf32 in an f32 word), C and D as f32.
struct MmaLane {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
  float d[4];
};
/// D = A * B + C for the warp's 32 lanes. The products of f16, bf16 and
/// tf32 values are exact in f64, their sum with C is formed in f64 and
/// rounded to f32 once (the tensor core's order and internal rounding are
/// not specified by the PTX ISA; docs/runtime.md says what that allows).
/// A tf32 operand is read as the tensor core reads it: its 13 low mantissa
/// bits are ignored.
void mmaSync(MmaKind kind, MmaLane lanes[kWarpSize]);

/// ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared.b16: `matrices` 8x8
/// matrices of 16-bit elements; lane 8 j + r gives the address of row r of
/// matrix j (`rows[8 j + r]`, 8 consecutive elements); lane l receives in
/// register j the elements (l / 4, 2 (l % 4)) and (l / 4, 2 (l % 4) + 1) of
/// matrix j, or with .trans (2 (l % 4), l / 4) and (2 (l % 4) + 1, l / 4),
/// the first in the low half.
void ldmatrix(int matrices, bool trans, const uint16_t *const rows[kWarpSize],
              uint32_t out[kWarpSize][4]);

/// The value of an f16 / bf16 / tf32 operand (bits as held in a register).
double halfToDouble(uint16_t bits);
double bfloat16ToDouble(uint16_t bits);
double tf32ToDouble(uint32_t bits);

} // namespace dlart::emu

#endif // DLART_EMUWARP_H
