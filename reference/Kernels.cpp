//===- reference/Kernels.cpp - Reference kernels of the dlac oracle -------===//
//
// See Kernels.h for the semantics of every function. The code here is meant
// to be read: one loop nest per op, no tricks. Tensors hold floats; sums of
// products (convs, the deformable conv, average pooling) accumulate in double
// and round once on store, so that the oracle's own error against the
// float64 truth stays below that of any float32 implementation it checks
// (docs/testing.md).
//
//===----------------------------------------------------------------------===//

#include "reference/Kernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace dla::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

[[noreturn]] void fail(const std::string &op, const std::string &message) {
  throw std::invalid_argument("dla::ref::" + op + ": " + message);
}

void requireRank(const std::string &op, const char *what, const Tensor &t,
                 int64_t rank) {
  if (t.rank() != rank)
    fail(op, std::string(what) + " must have rank " + std::to_string(rank) +
                 ", got shape " + t.shapeString());
}

void requireMinRank(const std::string &op, const char *what, const Tensor &t,
                    int64_t rank) {
  if (t.rank() < rank)
    fail(op, std::string(what) + " must have rank >= " + std::to_string(rank) +
                 ", got shape " + t.shapeString());
}

/// Checks that `t` is the 1-D tensor [size].
void requireVector(const std::string &op, const char *what, const Tensor &t,
                   int64_t size) {
  if (t.rank() != 1 || t.shape[0] != size)
    fail(op, std::string(what) + " must have shape [" + std::to_string(size) +
                 "], got " + t.shapeString());
}

void requireAtLeast(const std::string &op, const char *what, Size2 v,
                    int64_t min) {
  if (v.h < min || v.w < min)
    fail(op, std::string(what) + " must be >= " + std::to_string(min) +
                 ", got (" + std::to_string(v.h) + ", " + std::to_string(v.w) +
                 ")");
}

/// Output extent of a convolution / pooling window sweep (floor mode).
int64_t convOutSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                    int64_t dil) {
  int64_t span = in + 2 * pad - dil * (kernel - 1) - 1;
  if (span < 0)
    return 0; // the caller reports it; avoids C++'s rounding toward zero
  return span / stride + 1;
}

/// Common checks of conv2d and deformConv2d; returns {Ho, Wo}.
std::pair<int64_t, int64_t> checkConvLike(const std::string &op,
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
std::pair<int64_t, int64_t> checkPool(const std::string &op, const Tensor &x,
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

} // namespace

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

Tensor::Tensor(std::vector<int64_t> shapeIn) : shape(std::move(shapeIn)) {
  for (int64_t d : shape)
    if (d < 0)
      fail("Tensor", "negative dimension in shape " + shapeToString(shape));
  data.assign(static_cast<size_t>(product(shape)), 0.0f);
}

Tensor Tensor::full(std::vector<int64_t> shape, float value) {
  Tensor t(std::move(shape));
  for (float &v : t.data)
    v = value;
  return t;
}

Tensor::Tensor(std::vector<int64_t> shapeIn, std::vector<float> dataIn)
    : shape(std::move(shapeIn)), data(std::move(dataIn)) {
  for (int64_t d : shape)
    if (d < 0)
      fail("Tensor", "negative dimension in shape " + shapeToString(shape));
  if (static_cast<int64_t>(data.size()) != product(shape))
    fail("Tensor", "shape " + shapeToString(shape) + " needs " +
                       std::to_string(product(shape)) + " elements, got " +
                       std::to_string(data.size()));
}

int64_t Tensor::numel() const { return product(shape); }

int64_t Tensor::dim(int64_t i) const {
  int64_t r = rank();
  if (i < -r || i >= r)
    fail("Tensor::dim", "dimension " + std::to_string(i) +
                            " out of range for shape " + shapeString());
  return shape[static_cast<size_t>(i < 0 ? i + r : i)];
}

namespace {
size_t index4(const std::vector<int64_t> &shape, int64_t n, int64_t c,
              int64_t h, int64_t w) {
  assert(shape.size() == 4 && "at(n, c, h, w) needs a rank-4 tensor");
  assert(n >= 0 && n < shape[0] && c >= 0 && c < shape[1] && h >= 0 &&
         h < shape[2] && w >= 0 && w < shape[3] && "index out of range");
  return static_cast<size_t>(((n * shape[1] + c) * shape[2] + h) * shape[3] +
                             w);
}
} // namespace

float &Tensor::at(int64_t n, int64_t c, int64_t h, int64_t w) {
  return data[index4(shape, n, c, h, w)];
}

float Tensor::at(int64_t n, int64_t c, int64_t h, int64_t w) const {
  return data[index4(shape, n, c, h, w)];
}

std::string Tensor::shapeString() const { return shapeToString(shape); }

float maxAbsDiff(const Tensor &a, const Tensor &b) {
  if (a.shape != b.shape)
    fail("maxAbsDiff",
         "shapes differ: " + a.shapeString() + " vs " + b.shapeString());
  float m = 0.0f;
  for (size_t i = 0; i < a.data.size(); ++i) {
    float d = std::fabs(a.data[i] - b.data[i]);
    if (std::isnan(d))
      return std::numeric_limits<float>::quiet_NaN();
    if (d > m)
      m = d;
  }
  return m;
}

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

//===----------------------------------------------------------------------===//
// Normalisation and element-wise ops
//===----------------------------------------------------------------------===//

Tensor batchNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta,
                 const Tensor &mean, const Tensor &var, float eps) {
  const std::string op = "batchNorm";
  requireMinRank(op, "input", x, 2);
  const int64_t c = x.shape[1];
  requireVector(op, "weight (gamma)", gamma, c);
  requireVector(op, "bias (beta)", beta, c);
  requireVector(op, "running_mean", mean, c);
  requireVector(op, "running_var", var, c);
  if (!(eps >= 0.0f))
    fail(op, "eps must be >= 0");
  const int64_t n = x.shape[0];
  int64_t inner = 1; // elements per (n, c): H*W for NCHW
  for (size_t d = 2; d < x.shape.size(); ++d)
    inner *= x.shape[d];

  Tensor out(x.shape);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const size_t cc = static_cast<size_t>(ch);
      const float stdDev = std::sqrt(var.data[cc] + eps);
      for (int64_t e = 0; e < inner; ++e) {
        const size_t idx = static_cast<size_t>((b * c + ch) * inner + e);
        out.data[idx] =
            (x.data[idx] - mean.data[cc]) / stdDev * gamma.data[cc] +
            beta.data[cc];
      }
    }
  return out;
}

Tensor relu(const Tensor &x) {
  Tensor out = x;
  for (float &v : out.data)
    if (v < 0.0f)
      v = 0.0f;
  return out;
}

Tensor sigmoid(const Tensor &x) {
  Tensor out = x;
  for (float &v : out.data) {
    if (v >= 0.0f) {
      v = 1.0f / (1.0f + std::exp(-v));
    } else if (v < 0.0f) {
      const float e = std::exp(v); // in (0, 1): no overflow
      v = e / (1.0f + e);
    } // NaN stays NaN
  }
  return out;
}

Tensor add(const Tensor &a, const Tensor &b) {
  if (a.shape != b.shape)
    fail("add", "shapes differ: " + a.shapeString() + " vs " + b.shapeString());
  Tensor out = a;
  for (size_t i = 0; i < out.data.size(); ++i)
    out.data[i] += b.data[i];
  return out;
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

Tensor concat(const std::vector<Tensor> &inputs) {
  const std::string op = "concat";
  if (inputs.empty())
    fail(op, "needs at least one input");
  const Tensor &first = inputs.front();
  requireMinRank(op, "input 0", first, 2);
  int64_t channels = 0;
  for (size_t t = 0; t < inputs.size(); ++t) {
    const Tensor &in = inputs[t];
    bool compatible = in.rank() == first.rank();
    for (size_t d = 0; compatible && d < in.shape.size(); ++d)
      if (d != 1 && in.shape[d] != first.shape[d])
        compatible = false;
    if (!compatible)
      fail(op, "input " + std::to_string(t) + " has shape " + in.shapeString() +
                   ", incompatible with input 0 " + first.shapeString() +
                   " (only dimension 1 may differ)");
    channels += in.shape[1];
  }
  const int64_t n = first.shape[0];
  int64_t inner = 1;
  for (size_t d = 2; d < first.shape.size(); ++d)
    inner *= first.shape[d];

  std::vector<int64_t> shape = first.shape;
  shape[1] = channels;
  Tensor out(shape);
  for (int64_t b = 0; b < n; ++b) {
    int64_t cBase = 0;
    for (const Tensor &in : inputs) {
      const int64_t c = in.shape[1];
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t e = 0; e < inner; ++e)
          out.data[static_cast<size_t>((b * channels + cBase + ch) * inner +
                                       e)] =
              in.data[static_cast<size_t>((b * c + ch) * inner + e)];
      cBase += c;
    }
  }
  return out;
}

Tensor sliceChannels(const Tensor &x, int64_t offset, int64_t size) {
  const std::string op = "sliceChannels";
  requireMinRank(op, "input", x, 2);
  const int64_t c = x.shape[1];
  if (offset < 0 || size < 0 || offset + size > c)
    fail(op, "channels [" + std::to_string(offset) + ", " +
                 std::to_string(offset + size) + ") out of range for input " +
                 x.shapeString());
  const int64_t n = x.shape[0];
  int64_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d)
    inner *= x.shape[d];
  std::vector<int64_t> shape = x.shape;
  shape[1] = size;
  Tensor out(shape);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < size; ++ch)
      for (int64_t e = 0; e < inner; ++e)
        out.data[static_cast<size_t>((b * size + ch) * inner + e)] =
            x.data[static_cast<size_t>((b * c + offset + ch) * inner + e)];
  return out;
}

Tensor flatten(const Tensor &x) {
  requireMinRank("flatten", "input", x, 1);
  const int64_t n = x.shape[0];
  int64_t rest = 1;
  for (size_t d = 1; d < x.shape.size(); ++d)
    rest *= x.shape[d];
  return Tensor({n, rest}, x.data);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

Tensor maxPool2d(const Tensor &x, Size2 kernel, Size2 stride, Size2 padding) {
  auto [ho, wo] = checkPool("maxPool2d", x, kernel, stride, padding);
  const int64_t n = x.shape[0], c = x.shape[1], hin = x.shape[2],
                win = x.shape[3];
  Tensor out({n, c, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < kernel.h; ++i) {
            const int64_t ih = oh * stride.h - padding.h + i;
            if (ih < 0 || ih >= hin)
              continue; // padding is -inf
            for (int64_t j = 0; j < kernel.w; ++j) {
              const int64_t iw = ow * stride.w - padding.w + j;
              if (iw < 0 || iw >= win)
                continue;
              const float v = x.at(b, ch, ih, iw);
              if (v > best || std::isnan(v))
                best = v;
              if (std::isnan(best))
                break;
            }
            if (std::isnan(best))
              break;
          }
          out.at(b, ch, oh, ow) = best;
        }
  return out;
}

Tensor avgPool2d(const Tensor &x, Size2 kernel, Size2 stride, Size2 padding) {
  auto [ho, wo] = checkPool("avgPool2d", x, kernel, stride, padding);
  const int64_t n = x.shape[0], c = x.shape[1], hin = x.shape[2],
                win = x.shape[3];
  Tensor out({n, c, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          const int64_t h0 = oh * stride.h - padding.h;
          const int64_t w0 = ow * stride.w - padding.w;
          // count_include_pad: the window clipped to the padded input.
          const int64_t h1 = std::min(h0 + kernel.h, hin + padding.h);
          const int64_t w1 = std::min(w0 + kernel.w, win + padding.w);
          const int64_t divisor = (h1 - h0) * (w1 - w0);
          double sum = 0.0;
          for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h1, hin);
               ++ih)
            for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w1, win);
                 ++iw)
              sum += x.at(b, ch, ih, iw);
          out.at(b, ch, oh, ow) = static_cast<float>(sum / static_cast<double>(divisor));
        }
  return out;
}

} // namespace dla::ref
