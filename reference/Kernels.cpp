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
