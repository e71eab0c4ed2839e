//===- reference/KernelChecks.h - Argument checks of the reference kernels ===//
//
// Shared by Kernels.cpp and ConvKernels.cpp: the shape and argument checks
// every reference kernel makes before it computes (they throw
// std::invalid_argument naming the op and the argument). Internal.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_REFERENCE_KERNELCHECKS_H
#define DLA_REFERENCE_KERNELCHECKS_H

#include "reference/Kernels.h"

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dla::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace detail {

inline std::string shapeToString(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

inline int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

[[noreturn]] inline void fail(const std::string &op, const std::string &message) {
  throw std::invalid_argument("dla::ref::" + op + ": " + message);
}

inline void requireRank(const std::string &op, const char *what, const Tensor &t,
                 int64_t rank) {
  if (t.rank() != rank)
    fail(op, std::string(what) + " must have rank " + std::to_string(rank) +
                 ", got shape " + t.shapeString());
}

inline void requireMinRank(const std::string &op, const char *what, const Tensor &t,
                    int64_t rank) {
  if (t.rank() < rank)
    fail(op, std::string(what) + " must have rank >= " + std::to_string(rank) +
                 ", got shape " + t.shapeString());
}

/// Checks that `t` is the 1-D tensor [size].
inline void requireVector(const std::string &op, const char *what, const Tensor &t,
                   int64_t size) {
  if (t.rank() != 1 || t.shape[0] != size)
    fail(op, std::string(what) + " must have shape [" + std::to_string(size) +
                 "], got " + t.shapeString());
}

inline void requireAtLeast(const std::string &op, const char *what, Size2 v,
                    int64_t min) {
  if (v.h < min || v.w < min)
    fail(op, std::string(what) + " must be >= " + std::to_string(min) +
                 ", got (" + std::to_string(v.h) + ", " + std::to_string(v.w) +
                 ")");
}

/// Output extent of a convolution / pooling window sweep (floor mode).
inline int64_t convOutSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                    int64_t dil) {
  int64_t span = in + 2 * pad - dil * (kernel - 1) - 1;
  if (span < 0)
    return 0; // the caller reports it; avoids C++'s rounding toward zero
  return span / stride + 1;
}

/// Common checks of conv2d and deformConv2d; returns {Ho, Wo}.
inline std::pair<int64_t, int64_t> checkConvLike(const std::string &op,
                                          const Tensor &x, const Tensor &w,
                                          const Tensor *bias, Size2 stride,
                                          Size2 padding, Size2 dilation,
                                          int64_t groups) {
  requireRank(op, "input", x, 4);
  requireRank(op, "weight", w, 4);
  requireAtLeast(op, "stride", stride, 1);
  requireAtLeast(op, "padding", padding, 0);
  requireAtLeast(op, "dilation", dilation, 1);
  if (groups < 1)
    fail(op, "groups must be >= 1, got " + std::to_string(groups));
  const int64_t cin = x.shape[1], cout = w.shape[0];
  if (cin % groups != 0)
    fail(op, "input channels (" + std::to_string(cin) +
                 ") not divisible by groups (" + std::to_string(groups) + ")");
  if (cout % groups != 0)
    fail(op, "output channels (" + std::to_string(cout) +
                 ") not divisible by groups (" + std::to_string(groups) + ")");
  if (w.shape[1] != cin / groups)
    fail(op, "weight " + w.shapeString() + " expects " +
                 std::to_string(w.shape[1] * groups) +
                 " input channels, input is " + x.shapeString() +
                 " with groups = " + std::to_string(groups));
  if (w.shape[2] < 1 || w.shape[3] < 1)
    fail(op, "kernel must be at least 1x1, weight is " + w.shapeString());
  if (bias)
    requireVector(op, "bias", *bias, cout);
  int64_t ho =
      convOutSize(x.shape[2], w.shape[2], stride.h, padding.h, dilation.h);
  int64_t wo =
      convOutSize(x.shape[3], w.shape[3], stride.w, padding.w, dilation.w);
  if (ho < 1 || wo < 1)
    fail(op, "input " + x.shapeString() + " too small for weight " +
                 w.shapeString() + " with padding (" +
                 std::to_string(padding.h) + ", " + std::to_string(padding.w) +
                 ") and dilation (" + std::to_string(dilation.h) + ", " +
                 std::to_string(dilation.w) + ")");
  return {ho, wo};
}

/// Common checks of the pooling ops; returns {Ho, Wo}.
inline std::pair<int64_t, int64_t> checkPool(const std::string &op, const Tensor &x,
                                      Size2 kernel, Size2 stride,
                                      Size2 padding) {
  requireRank(op, "input", x, 4);
  requireAtLeast(op, "kernel", kernel, 1);
  requireAtLeast(op, "stride", stride, 1);
  requireAtLeast(op, "padding", padding, 0);
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
    fail(op,
         "padding (" + std::to_string(padding.h) + ", " +
             std::to_string(padding.w) + ") must be at most half the kernel (" +
             std::to_string(kernel.h) + ", " + std::to_string(kernel.w) + ")");
  int64_t ho = convOutSize(x.shape[2], kernel.h, stride.h, padding.h, 1);
  int64_t wo = convOutSize(x.shape[3], kernel.w, stride.w, padding.w, 1);
  if (ho < 1 || wo < 1)
    fail(op, "input " + x.shapeString() + " too small for kernel (" +
                 std::to_string(kernel.h) + ", " + std::to_string(kernel.w) +
                 ")");
  return {ho, wo};
}

} // namespace detail

} // namespace dla::ref

#endif // DLA_REFERENCE_KERNELCHECKS_H
