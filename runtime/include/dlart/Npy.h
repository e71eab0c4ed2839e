//===- Npy.h - NumPy .npy reader and writer -------------------------------===//
//
// Part of libdlart, the dlac runtime. Plain C++17 + POSIX: no LLVM, no CUDA.
//
// The .npy format (numpy.lib.format): the magic "\x93NUMPY", a major and a
// minor version byte, the header length (2 bytes little-endian in version
// 1.0, 4 bytes in 2.0 and 3.0), then the header: a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }
// padded with spaces and ended by '\n', then the data in C order. A file is
// untrusted input: the header is parsed strictly (the three keys once each,
// nothing else), the data must be exactly as long as the shape says, and
// every failure is one message naming the file (no exception escapes).
//
//===----------------------------------------------------------------------===//

#ifndef DLART_NPY_H
#define DLART_NPY_H

#include "dlart/Safetensors.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dlart {

/// One array of a .npy file.
struct NpyArray {
  std::string descr;          ///< As written: "<f4", "<f8", "<f2", ...
  DType dtype = DType::F32;   ///< F32, F64 or F16 (the dtypes read as f32).
  std::vector<int64_t> shape; ///< () for a scalar.
  std::vector<uint8_t> data;  ///< Little-endian, C order.
};

/// Parses the `size` bytes at `bytes` as a .npy file; `name` starts every
/// message. Accepts little-endian float32, float64 and float16 ('<f4',
/// '<f8', '<f2'; '=' and '|' byte orders of a little-endian machine too) in
/// C order.
bool parseNpy(const std::string &name, const uint8_t *bytes, size_t size,
              NpyArray &out, std::string &err);

/// Reads and parses the file at `path` (the header is checked against the
/// file's size before the data is read).
bool readNpy(const std::string &path, NpyArray &out, std::string &err);

/// The array's values as f32 (float64 rounded to nearest, float16 widened).
void npyToF32(const NpyArray &a, std::vector<float> &out);

/// Writes `data` (float32, C order) of `shape` as a version 1.0 .npy file,
/// through a temporary file renamed over `path`.
bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const float *data, std::string &err);

} // namespace dlart

#endif // DLART_NPY_H
