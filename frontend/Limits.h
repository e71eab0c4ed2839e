//===- Limits.h - Bounds on what a model may ask for ------------*- C++ -*-===//
//
// Header-only: the JSON frontend checks them with file:line:column, and the
// dla dialect's verifiers check the same bounds on IR that comes from
// anywhere else (dla-opt), so that dla-expand can never be asked to build a
// network the frontend would refuse.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_FRONTEND_LIMITS_H
#define DLA_FRONTEND_LIMITS_H

#include <cstddef>
#include <cstdint>

namespace dla::frontend {

//===----------------------------------------------------------------------===//
// Limits. They keep hostile or mistaken input from exhausting memory or
// overflowing index arithmetic; docs/model-format.md lists them for users.
//===----------------------------------------------------------------------===//

namespace limits {
inline constexpr std::size_t kMaxFileBytes = 1u << 20; // 1 MiB
inline constexpr int kMaxNestingDepth = 64;
inline constexpr int64_t kMaxChannels = 65536;
inline constexpr int64_t kMaxTreeLevels = 8;
inline constexpr int64_t kMaxConvsPerStage = 64;
inline constexpr int64_t kMaxBatch = 1024;
inline constexpr int64_t kMaxSpatial = 65536;  // input height and width
inline constexpr int64_t kMaxStride = 8;       // per stage
inline constexpr int64_t kMaxDilation = 32;
inline constexpr int64_t kMaxKernel = 15;      // base and head kernels
inline constexpr std::size_t kMaxHeads = 64;
inline constexpr std::size_t kMaxNameLength = 128;
/// Every activation tensor (input, each level, neck and head maps) must have
/// fewer than 2^31 elements so that kernels can index it with 32-bit integers.
inline constexpr int64_t kMaxTensorElements = (int64_t(1) << 31) - 1;
} // namespace limits

} // namespace dla::frontend

#endif
