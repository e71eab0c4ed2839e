//===- StorageType.h - Parameters in a reduced-precision storage type -----===//
//
// Part of libdlart, the dlac runtime. Plain C++17: no LLVM, no CUDA.
//
// A reduced-precision bundle (docs/precision.md) stores some parameters in
// f16 or bf16 (or rounds them to tf32): the loader checks that the checkpoint's dtype fits, rounds
// once (to nearest even) and refuses values the storage type cannot hold.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_LIB_STORAGETYPE_H
#define DLART_LIB_STORAGETYPE_H

#include "dlart/Safetensors.h"
#include "runtime/schema/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlart {

/// Whether checkpoint tensor `t` may fill a parameter stored as `dtype`:
/// F32 and F64 checkpoints fit every model, F16 and BF16 ones a model of
/// that storage type or an f32 one (widening is exact); F16 into a bf16
/// model (or the reverse) would round twice and is refused, naming both.
bool checkParameterDType(const std::string &file, const TensorInfo &t, ElementType dtype,
                         std::string &err);

/// `values` rounded to `dtype` (F16 or BF16) into `out`. A finite value that
/// overflows the storage type (past 65504 in f16) is an error naming the
/// tensor and its first such element, unless `allowNonfinite`.
bool toStorageType(const std::vector<float> &values, ElementType dtype,
                   std::vector<uint16_t> &out, const std::string &file, const TensorDesc &p,
                   bool allowNonfinite, std::string &err);

/// `values` rounded to tf32 in place (they stay f32 words). A finite value
/// that rounds to infinity (past tf32's largest, 3.4012e38) is an error like
/// toStorageType's, unless `allowNonfinite`.
bool roundToTF32InPlace(std::vector<float> &values, const std::string &file,
                        const TensorDesc &p, bool allowNonfinite, std::string &err);

/// `n` elements of `dtype` at `bytes` widened exactly to float.
void widenToF32(const void *bytes, ElementType dtype, size_t n, float *out);

} // namespace dlart

#endif // DLART_LIB_STORAGETYPE_H
