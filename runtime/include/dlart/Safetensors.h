//===- Safetensors.h - safetensors reader and writer ----------------------===//
//
// Part of libdlart, the dlac runtime. Plain C++17 + POSIX: no LLVM, no CUDA.
//
// The safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON header, then the data section. The header maps tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// data section) plus an optional "__metadata__" object of strings.
//
// Error reporting: no exception escapes a public function. Functions that can
// fail return bool (or a null pointer) and fill `err` with one message that
// names the file and, where there is one, the tensor. The same convention will
// back the C API.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_SAFETENSORS_H
#define DLART_SAFETENSORS_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dlart {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

/// The safetensors spelling: "F32", "BF16", "BOOL", ...
const char *dtypeName(DType dtype);
/// Bytes per element (BOOL is one byte).
size_t dtypeSize(DType dtype);
/// Parses a safetensors dtype name; false if it is not one we support.
bool parseDType(const std::string &name, DType &dtype);
/// F32, F16, BF16 and F64: the dtypes readAsF32 accepts.
bool isFloatDType(DType dtype);

/// Exact widening of IEEE binary16 and bfloat16 bit patterns to float
/// (subnormals, infinities, signed zeros and NaN payloads are preserved).
float halfToFloat(uint16_t bits);
float bfloat16ToFloat(uint16_t bits);
/// Rounding of a float to the nearest binary16 / bfloat16 (ties to even), as
/// the kernels' stores and the GPU's cvt.rn do: values past the largest
/// finite one (65504 for binary16) become infinities, NaN stays a quiet NaN.
uint16_t floatToHalf(float f);
uint16_t floatToBFloat16(float f);
/// `f` rounded to tf32 (10 mantissa bits, f32's exponent), to nearest with
/// ties away from zero as PTX's cvt.rna.tf32.f32; NaN stays NaN, a value
/// past tf32's largest finite one rounds to infinity.
float roundToTF32(float f);

/// Formats a shape as "[16, 3, 7, 7]" (used in messages).
std::string formatShape(const std::vector<int64_t> &shape);

/// One tensor of an open file. `data` points into the read-only mapping and is
/// valid as long as the SafetensorsFile lives. It is not necessarily aligned
/// to the element size in files written by other tools (use memcpy or
/// readAsF32); files written by writeSafetensors keep every tensor aligned.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape; ///< Empty for a scalar.
  uint64_t numElements = 0;
  const uint8_t *data = nullptr;
  size_t byteSize = 0;
};

/// A memory-mapped, fully validated safetensors file.
class SafetensorsFile {
public:
  /// Maps `path` read-only and validates it. On failure returns null and sets
  /// `err` to a message starting with "<path>: ". Checks: the file is at
  /// least 8 bytes; the header length fits in the file and is below 100 MiB;
  /// the header is a JSON object without duplicate keys; every tensor has a
  /// known dtype, a shape of non-negative integers whose element count does
  /// not overflow, and data_offsets [begin, end] with begin <= end <= data
  /// size and end - begin == elements * dtype size; no two tensors overlap;
  /// "__metadata__", if present, is an object of strings. Gaps between
  /// tensors and trailing bytes are allowed (they are harmless).
  ///
  /// The mapping is MAP_PRIVATE: if another process truncates the file while
  /// it is open, reading the lost pages raises SIGBUS (inherent to mmap).
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &err);

  /// Validates `size` bytes of a safetensors file held in memory, exactly as
  /// open() validates a file; the bytes are copied, so `data` need not
  /// outlive the call. `name` takes the place of the path in messages.
  static std::unique_ptr<SafetensorsFile> openMemory(const std::string &name,
                                                     const void *data,
                                                     size_t size,
                                                     std::string &err);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  /// The path as given to open(); every message starts with it.
  const std::string &path() const { return path_; }

  /// Tensor names, sorted by byte-wise string comparison (not data order).
  std::vector<std::string> names() const;
  /// All tensors, in the same (sorted) order as names().
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// The tensor called `name`, or null if there is none.
  const TensorInfo *find(const std::string &name) const;
  /// The "__metadata__" object (empty if absent).
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

  /// Copies tensor `name` into `out` as float. F32 is copied, F16 and BF16
  /// are widened exactly, F64 is rounded to nearest (out-of-range values
  /// become +-inf). Integer and BOOL tensors are an error, as is a missing
  /// name.
  bool readAsF32(const std::string &name, std::vector<float> &out,
                 std::string &err) const;

private:
  SafetensorsFile() = default;
  /// Validates the file's `size` bytes at `bytes` (which stay alive as long
  /// as this object) and fills tensors_ and metadata_.
  bool parse(const uint8_t *bytes, size_t size, std::string &err);

  std::string path_;
  void *map_ = nullptr;
  size_t mapSize_ = 0;
  std::unique_ptr<uint8_t[]> owned_; // openMemory's copy of the bytes.
  std::vector<TensorInfo> tensors_; // Sorted by name.
  std::map<std::string, std::string> metadata_;
};

/// A tensor to write: `byteSize` bytes at `data`, which must equal the
/// element count of `shape` times the dtype size. Any DType can be written;
/// the bytes are copied as given (little-endian).
struct TensorData {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  size_t byteSize = 0;
};

/// Writes a safetensors file. The header keys are sorted (nlohmann's
/// std::map order) and padded with spaces to a multiple of 8 bytes so the
/// data section is 8-aligned. Tensor data is contiguous, ordered by dtype
/// size (largest first) then name, so every tensor is aligned to its element
/// size. "__metadata__" is written only if `metadata` is non-empty.
/// The file is written to "<path>.tmp.<pid>", synced, and renamed over
/// `path`, so readers never see a half-written file; on failure the
/// temporary file is removed and `err` names `path` and the failing step.
bool writeSafetensors(const std::string &path,
                      const std::vector<TensorData> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::string &err);

/// A parameter the model needs.
struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
};

/// Checks that every required parameter is in `file` with exactly the given
/// shape and a float dtype. On failure returns false and sets `err` to one
/// line per problem class (missing / wrong shape / non-float dtype), joined
/// with '\n', each listing the first 5 offenders in `required` order, e.g.
///   "weights.safetensors: 3 parameters missing: 'a', 'b', 'c'".
/// Tensors of the file that are not required are appended to `warnings`, one
/// message per tensor, whatever the result; keys ending in
/// "num_batches_tracked" (BatchNorm bookkeeping) are ignored silently.
bool checkParameters(const SafetensorsFile &file,
                     const std::vector<ParamSpec> &required, std::string &err,
                     std::vector<std::string> &warnings);

/// Scans `n` floats of tensor `tensor` (of `shape`) in one pass. If any is
/// NaN or an infinity, returns false and sets `err` to
///   "FILE: tensor 'NAME' holds NaN at element 5 (index [0, 0, 0, 5])"
/// naming the first one, followed by "; 3 of its 8 values are NaN or Inf"
/// when there are several. `file` starts the message (it may be empty).
bool checkFinite(const std::string &file, const std::string &tensor,
                 const std::vector<int64_t> &shape, const float *data,
                 size_t n, std::string &err);

/// BatchNorm running variances (state-dict keys ending in ".running_var")
/// must not be negative: folding takes sqrt(var + eps), which would be NaN
/// in every output of the channel. Returns false with
///   "FILE: tensor 'NAME' holds a negative variance, -0.5 at element 3
///   (index [3]): BatchNorm folding takes sqrt(running_var + eps)"
/// for such a tensor; true for any other name.
bool checkVariance(const std::string &file, const std::string &tensor,
                   const std::vector<int64_t> &shape, const float *data,
                   size_t n, std::string &err);

/// Counts the NaN and infinite values among `n` floats and the index of the
/// first one (0 if none): the cheap pass behind checkFinite.
size_t countNonFinite(const float *data, size_t n, size_t &first);

/// "[0, 3, 10, 7]": the multi-index of flat element `i` of `shape`.
std::string formatIndex(uint64_t i, const std::vector<int64_t> &shape);

/// Whether the two paths name one existing file (same device and inode;
/// false when either does not exist): an output path must never be a file
/// the same run reads.
bool sameFile(const std::string &a, const std::string &b);

} // namespace dlart

#endif // DLART_SAFETENSORS_H
