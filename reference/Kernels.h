//===- reference/Kernels.h - Reference kernels of the dlac oracle ---------===//
//
// Plain, obviously-correct C++17 implementations of every primitive `dla` op.
// They are the oracle against which dlac's fused and generated kernels are
// checked (the reference executor walks the IR and calls these functions).
//
// Conventions:
//   * Layout is NCHW, element type f32, data stored row-major (last dim
//     fastest) in Tensor::data.
//   * Every function validates the shapes of its inputs and its attributes and
//     throws std::invalid_argument with a message naming the function and the
//     offending shapes/values. Nothing else is thrown (apart from
//     std::bad_alloc).
//   * Accumulation is in float, in the natural loop order (bias first, then
//     input channels, then kernel rows, then kernel columns). No fusion, tiling
//     or vectorisation: readability first.
//   * Semantics follow PyTorch (nn.Conv2d, nn.BatchNorm2d in eval mode,
//     nn.MaxPool2d / nn.AvgPool2d with ceil_mode=False, nn.ConvTranspose2d)
//     and torchvision.ops.deform_conv2d with a mask (DCNv2); see DESIGN.md,
//     "Network semantics that the seed does not spell out".
//
// No MLIR/LLVM dependency.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_REFERENCE_KERNELS_H
#define DLA_REFERENCE_KERNELS_H

#include <cstdint>
#include <string>
#include <vector>

namespace dla::ref {

/// A dense f32 tensor: shape plus row-major data (last dimension fastest).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  /// A zero-filled tensor of the given shape. Throws std::invalid_argument on
  /// a negative dimension.
  explicit Tensor(std::vector<int64_t> shape);
  /// A tensor of the given shape with the given data, e.g.
  /// Tensor({1, 1, 2, 2}, {1, 2, 3, 4}). Throws std::invalid_argument if
  /// data.size() != product of the shape (or on a negative dimension).
  Tensor(std::vector<int64_t> shape, std::vector<float> data);
  /// A tensor of the given shape with every element equal to `value`. (A
  /// named function rather than a constructor so that Tensor({2}, {5}) cannot
  /// silently mean "two fives".)
  static Tensor full(std::vector<int64_t> shape, float value);

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  /// Product of the dimensions (1 for rank 0).
  int64_t numel() const;
  /// Dimension `i` (negative counts from the end). Throws if out of range.
  int64_t dim(int64_t i) const;

  /// Element (n, c, h, w) of a rank-4 tensor. Unchecked (asserts in debug).
  float &at(int64_t n, int64_t c, int64_t h, int64_t w);
  float at(int64_t n, int64_t c, int64_t h, int64_t w) const;

  /// "[1, 3, 8, 8]".
  std::string shapeString() const;
};

/// A (height, width) pair of integer attributes: stride, padding, dilation,
/// kernel size, output padding. Converts implicitly from one integer (both).
struct Size2 {
  int64_t h = 0;
  int64_t w = 0;
  constexpr Size2() = default;
  constexpr Size2(int64_t v) : h(v), w(v) {}
  constexpr Size2(int64_t height, int64_t width) : h(height), w(width) {}
};

/// Largest |a - b| over all elements; throws if the shapes differ. NaN in
/// either operand gives NaN.
float maxAbsDiff(const Tensor &a, const Tensor &b);

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

/// nn.Conv2d. x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout] or
/// nullptr. Output [N, Cout, Ho, Wo] with
///   Ho = floor((H + 2*pad.h - dil.h*(kh-1) - 1) / stride.h) + 1 (same for W),
///   out[n, co, oh, ow] = bias[co] + sum_{ci in group(co), i, j}
///       w[co, ci - g*Cin/groups, i, j]
///       * x[n, ci, oh*s.h - p.h + i*d.h, ow*s.w - p.w + j*d.w]
/// with g = co / (Cout/groups) and x = 0 outside the image (zero padding).
/// Requires stride, dilation, groups >= 1; padding >= 0; Ho, Wo >= 1.
Tensor conv2d(const Tensor &x, const Tensor &w, const Tensor *bias,
              Size2 stride = 1, Size2 padding = 0, Size2 dilation = 1,
              int64_t groups = 1);

/// nn.ConvTranspose2d (dilation 1). x [N, Cin, H, W],
/// w [Cin, Cout/groups, kh, kw], bias [Cout] or nullptr. Output
/// [N, Cout, Ho, Wo], Ho = (H-1)*stride.h - 2*pad.h + kh + outputPadding.h.
/// Definition as a scatter: for every input (n, ci, ih, iw) in group g and
/// every (co_local, i, j):
///   out[n, g*Cout/groups + co_local, ih*s - p + i, iw*s - p + j]
///       += x[n, ci, ih, iw] * w[ci, co_local, i, j]
/// (positions outside the output are dropped), plus bias. Requires
/// 0 <= outputPadding < stride (PyTorch's rule for dilation 1).
Tensor convTranspose2d(const Tensor &x, const Tensor &w, const Tensor *bias,
                       Size2 stride = 1, Size2 padding = 0,
                       Size2 outputPadding = 0, int64_t groups = 1);

/// torchvision.ops.deform_conv2d (DCNv2 when mask != nullptr; mask == nullptr
/// means mask 1, i.e. DCNv1).
///   x      [N, Cin, H, W]
///   offset [N, 2*dg*kh*kw, Ho, Wo]   (Ho, Wo as for conv2d)
///   mask   [N, dg*kh*kw, Ho, Wo] or nullptr
///   w      [Cout, Cin/groups, kh, kw], bias [Cout] or nullptr
/// With K = kh*kw, kernel point k = i*kw + j, deformable group
/// g = ci / (Cin/dg):
///   dy = offset[n, 2*(g*K+k), oh, ow], dx = offset[n, 2*(g*K+k)+1, oh, ow]
///   y = oh*s.h - p.h + i*d.h + dy,  x' = ow*s.w - p.w + j*d.w + dx
///   v = bilinear(x[n, ci], y, x') * mask[n, g*K+k, oh, ow]
/// bilinear follows torchvision's bilinear_interpolate: 0 if y <= -1,
/// y >= H, x' <= -1 or x' >= W; otherwise the four floor/floor+1 corners,
/// each corner outside the image contributes 0, weights (1-ly)(1-lx),
/// (1-ly)lx, ly(1-lx), ly*lx. Then
///   out[n, co, oh, ow] = bias[co] + sum_{ci in group(co), i, j}
///                        w[co, ci_local, i, j] * v.
/// Cin must be divisible by both groups and deformableGroups.
Tensor deformConv2d(const Tensor &x, const Tensor &offset, const Tensor *mask,
                    const Tensor &w, const Tensor *bias, Size2 stride = 1,
                    Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1,
                    int64_t deformableGroups = 1);

/// torchvision's bilinear_interpolate on one H x W plane (row-major), exposed
/// for tests and for checking fused sampling code.
float bilinearSample(const float *plane, int64_t height, int64_t width, float y,
                     float x);

//===----------------------------------------------------------------------===//
// Normalisation and element-wise ops
//===----------------------------------------------------------------------===//

/// Inference batch norm over dimension 1 (rank >= 2, C = x.shape[1]; gamma,
/// beta, mean, var all [C]):
///   y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c].
Tensor batchNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta,
                 const Tensor &mean, const Tensor &var, float eps = 1e-5f);

/// max(x, 0) element-wise, any shape (NaN stays NaN).
Tensor relu(const Tensor &x);
/// 1 / (1 + exp(-x)) element-wise, any shape, computed without overflow
/// (exactly 0 / 1 far in the tails, never NaN for finite x).
Tensor sigmoid(const Tensor &x);
/// a + b element-wise; the shapes must be equal (no broadcasting).
Tensor add(const Tensor &a, const Tensor &b);

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

/// Concatenation along dimension 1. All inputs have the same rank (>= 2) and
/// equal dimensions except dimension 1; at least one input.
Tensor concat(const std::vector<Tensor> &inputs);
/// Channels [offset, offset + size) of x (dimension 1, rank >= 2).
/// Requires offset >= 0, size >= 0 and offset + size <= x.shape[1].
Tensor sliceChannels(const Tensor &x, int64_t offset, int64_t size);
/// [N, d1, d2, ...] -> [N, d1*d2*...] (rank >= 1; rank 1 gives [N, 1]).
Tensor flatten(const Tensor &x);

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// nn.MaxPool2d(kernel, stride, padding), dilation 1, ceil_mode=False.
/// x [N, C, H, W]; padding counts as -inf; Ho = floor((H + 2p - k)/s) + 1.
/// Requires kernel, stride >= 1 and 0 <= padding <= kernel/2 (PyTorch's rule).
/// A NaN in a window gives NaN, as in PyTorch.
Tensor maxPool2d(const Tensor &x, Size2 kernel, Size2 stride,
                 Size2 padding = 0);

/// nn.AvgPool2d(kernel, stride, padding), ceil_mode=False,
/// count_include_pad=True: the divisor is the window size clipped to the
/// padded input (always kh*kw in floor mode). Same requirements as maxPool2d.
Tensor avgPool2d(const Tensor &x, Size2 kernel, Size2 stride,
                 Size2 padding = 0);

} // namespace dla::ref

#endif // DLA_REFERENCE_KERNELS_H
