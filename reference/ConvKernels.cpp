//===- reference/ConvKernels.cpp - Convolutions of the dlac oracle --------===//
//
// conv2d, conv_transpose2d and deform_conv2d (torchvision's bilinear rule),
// written for clarity (Kernels.h has their semantics).
//
//===----------------------------------------------------------------------===//

#include "reference/Kernels.h"
#include "reference/KernelChecks.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace dla::ref {

using namespace detail;

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

Tensor conv2d(const Tensor &x, const Tensor &w, const Tensor *bias,
              Size2 stride, Size2 padding, Size2 dilation, int64_t groups) {
  auto [ho, wo] =
      checkConvLike("conv2d", x, w, bias, stride, padding, dilation, groups);
  const int64_t n = x.shape[0], cin = x.shape[1], hin = x.shape[2],
                win = x.shape[3];
  const int64_t cout = w.shape[0], kh = w.shape[2], kw = w.shape[3];
  const int64_t cinPerGroup = cin / groups, coutPerGroup = cout / groups;

  Tensor out({n, cout, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t co = 0; co < cout; ++co) {
      const int64_t g = co / coutPerGroup;
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          double acc = bias ? bias->data[static_cast<size_t>(co)] : 0.0;
          for (int64_t cl = 0; cl < cinPerGroup; ++cl) {
            const int64_t ci = g * cinPerGroup + cl;
            for (int64_t i = 0; i < kh; ++i) {
              const int64_t ih = oh * stride.h - padding.h + i * dilation.h;
              if (ih < 0 || ih >= hin)
                continue;
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t iw = ow * stride.w - padding.w + j * dilation.w;
                if (iw < 0 || iw >= win)
                  continue;
                acc += double(w.at(co, cl, i, j)) * x.at(b, ci, ih, iw);
              }
            }
          }
          out.at(b, co, oh, ow) = static_cast<float>(acc);
        }
    }
  return out;
}

Tensor convTranspose2d(const Tensor &x, const Tensor &w, const Tensor *bias,
                       Size2 stride, Size2 padding, Size2 outputPadding,
                       int64_t groups) {
  const std::string op = "convTranspose2d";
  requireRank(op, "input", x, 4);
  requireRank(op, "weight", w, 4);
  requireAtLeast(op, "stride", stride, 1);
  requireAtLeast(op, "padding", padding, 0);
  requireAtLeast(op, "output_padding", outputPadding, 0);
  if (outputPadding.h >= stride.h || outputPadding.w >= stride.w)
    fail(op, "output_padding (" + std::to_string(outputPadding.h) + ", " +
                 std::to_string(outputPadding.w) +
                 ") must be smaller than the stride (" +
                 std::to_string(stride.h) + ", " + std::to_string(stride.w) +
                 ")");
  if (groups < 1)
    fail(op, "groups must be >= 1, got " + std::to_string(groups));
  const int64_t n = x.shape[0], cin = x.shape[1], hin = x.shape[2],
                win = x.shape[3];
  if (w.shape[0] != cin)
    fail(op, "weight " + w.shapeString() + " expects " +
                 std::to_string(w.shape[0]) + " input channels, input is " +
                 x.shapeString());
  if (cin % groups != 0)
    fail(op, "input channels (" + std::to_string(cin) +
                 ") not divisible by groups (" + std::to_string(groups) + ")");
  const int64_t kh = w.shape[2], kw = w.shape[3];
  if (kh < 1 || kw < 1 || w.shape[1] < 1)
    fail(op, "weight " + w.shapeString() + " must have non-empty dims 1..3");
  const int64_t coutPerGroup = w.shape[1], cout = coutPerGroup * groups;
  const int64_t cinPerGroup = cin / groups;
  if (bias)
    requireVector(op, "bias", *bias, cout);
  const int64_t ho =
      (hin - 1) * stride.h - 2 * padding.h + kh + outputPadding.h;
  const int64_t wo =
      (win - 1) * stride.w - 2 * padding.w + kw + outputPadding.w;
  if (hin < 1 || win < 1 || ho < 1 || wo < 1)
    fail(op, "output size would be (" + std::to_string(ho) + ", " +
                 std::to_string(wo) + ") for input " + x.shapeString() +
                 " and weight " + w.shapeString());

  // Gather form of the scatter in Kernels.h: output row oh receives input row
  // ih through kernel row i exactly when oh = ih*stride - pad + i.
  Tensor out({n, cout, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t co = 0; co < cout; ++co) {
      const int64_t g = co / coutPerGroup, cl = co % coutPerGroup;
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          double acc = bias ? bias->data[static_cast<size_t>(co)] : 0.0;
          for (int64_t k = 0; k < cinPerGroup; ++k) {
            const int64_t ci = g * cinPerGroup + k;
            for (int64_t i = 0; i < kh; ++i) {
              const int64_t th = oh + padding.h - i; // = ih * stride.h
              if (th < 0 || th % stride.h != 0 || th / stride.h >= hin)
                continue;
              const int64_t ih = th / stride.h;
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t tw = ow + padding.w - j; // = iw * stride.w
                if (tw < 0 || tw % stride.w != 0 || tw / stride.w >= win)
                  continue;
                const int64_t iw = tw / stride.w;
                acc += double(x.at(b, ci, ih, iw)) * w.at(ci, cl, i, j);
              }
            }
          }
          out.at(b, co, oh, ow) = static_cast<float>(acc);
        }
    }
  return out;
}

float bilinearSample(const float *plane, int64_t height, int64_t width, float y,
                     float x) {
  // torchvision/csrc/ops/cpu/deform_conv2d_kernel.cpp, bilinear_interpolate;
  // a NaN position (undefined there) gives a NaN sample, never a plausible 0.
  if (std::isnan(y) || std::isnan(x))
    return NAN;
  if (y <= -1.0f || y >= static_cast<float>(height) || x <= -1.0f ||
      x >= static_cast<float>(width))
    return 0.0f;
  const int64_t yLow = static_cast<int64_t>(std::floor(y));
  const int64_t xLow = static_cast<int64_t>(std::floor(x));
  const int64_t yHigh = yLow + 1, xHigh = xLow + 1;
  const float ly = y - static_cast<float>(yLow);
  const float lx = x - static_cast<float>(xLow);
  const float hy = 1.0f - ly, hx = 1.0f - lx;

  auto pixel = [&](int64_t r, int64_t c) -> float {
    if (r < 0 || r > height - 1 || c < 0 || c > width - 1)
      return 0.0f;
    return plane[r * width + c];
  };
  const float v1 = pixel(yLow, xLow), v2 = pixel(yLow, xHigh);
  const float v3 = pixel(yHigh, xLow), v4 = pixel(yHigh, xHigh);
  const float w1 = hy * hx, w2 = hy * lx, w3 = ly * hx, w4 = ly * lx;
  return w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4;
}

Tensor deformConv2d(const Tensor &x, const Tensor &offset, const Tensor *mask,
                    const Tensor &w, const Tensor *bias, Size2 stride,
                    Size2 padding, Size2 dilation, int64_t groups,
                    int64_t deformableGroups) {
  const std::string op = "deformConv2d";
  auto [ho, wo] =
      checkConvLike(op, x, w, bias, stride, padding, dilation, groups);
  const int64_t n = x.shape[0], cin = x.shape[1], hin = x.shape[2],
                win = x.shape[3];
  const int64_t cout = w.shape[0], kh = w.shape[2], kw = w.shape[3];
  const int64_t kernelPoints = kh * kw;
  const int64_t dg = deformableGroups;
  if (dg < 1)
    fail(op, "deformable groups must be >= 1, got " + std::to_string(dg));
  if (cin % dg != 0)
    fail(op, "input channels (" + std::to_string(cin) +
                 ") not divisible by deformable groups (" + std::to_string(dg) +
                 ")");
  const std::vector<int64_t> offsetShape{n, 2 * dg * kernelPoints, ho, wo};
  if (offset.shape != offsetShape)
    fail(op, "offset must have shape " + shapeToString(offsetShape) +
                 " (N, 2*dg*kh*kw, Ho, Wo), got " + offset.shapeString());
  const std::vector<int64_t> maskShape{n, dg * kernelPoints, ho, wo};
  if (mask && mask->shape != maskShape)
    fail(op, "mask must have shape " + shapeToString(maskShape) +
                 " (N, dg*kh*kw, Ho, Wo), got " + mask->shapeString());

  const int64_t cinPerGroup = cin / groups, coutPerGroup = cout / groups;
  const int64_t cinPerDeformGroup = cin / dg;
  const size_t planeSize = static_cast<size_t>(hin * win);

  Tensor out({n, cout, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t co = 0; co < cout; ++co) {
      const int64_t g = co / coutPerGroup;
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          double acc = bias ? bias->data[static_cast<size_t>(co)] : 0.0;
          for (int64_t cl = 0; cl < cinPerGroup; ++cl) {
            const int64_t ci = g * cinPerGroup + cl;
            const int64_t dgi = ci / cinPerDeformGroup;
            const float *plane =
                x.data.data() + static_cast<size_t>(b * cin + ci) * planeSize;
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t k = i * kw + j;
                const float dy =
                    offset.at(b, 2 * (dgi * kernelPoints + k), oh, ow);
                const float dx =
                    offset.at(b, 2 * (dgi * kernelPoints + k) + 1, oh, ow);
                const float m =
                    mask ? mask->at(b, dgi * kernelPoints + k, oh, ow) : 1.0f;
                // As torchvision: integer base position, then the offset.
                const float y = static_cast<float>(oh * stride.h - padding.h +
                                                   i * dilation.h) +
                                dy;
                const float xs = static_cast<float>(ow * stride.w - padding.w +
                                                    j * dilation.w) +
                                 dx;
                const float v = m * bilinearSample(plane, hin, win, y, xs);
                acc += double(w.at(co, cl, i, j)) * v;
              }
          }
          out.at(b, co, oh, ow) = static_cast<float>(acc);
        }
    }
  return out;
}

} // namespace dla::ref
