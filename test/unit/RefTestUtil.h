//===- test/unit/RefTestUtil.h - Helpers of the reference kernel tests ---===//
//
// Shared by RefKernelsTest.cpp and RefConvTransposeDeformTest.cpp: seeded
// values and the independent formulations the tests compare against.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_TEST_UNIT_REFTESTUTIL_H
#define DLA_TEST_UNIT_REFTESTUTIL_H

#include "reference/Kernels.h"
#include <gtest/gtest.h>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace dla::ref::testing {


/// Deterministic pseudo-random values in [-1, 1) (LCG, independent of libc).
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed * 6364136223846793005ULL + 1) {}
  float next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<float>((state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
  }
};

inline Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed) {
  Tensor t(std::move(shape));
  Rng rng(seed);
  for (float &v : t.data)
    v = rng.next();
  return t;
}

/// Tensor whose element i is `start + step * i`.
inline Tensor iota(std::vector<int64_t> shape, float start = 0.0f, float step = 1.0f) {
  Tensor t(std::move(shape));
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = start + step * static_cast<float>(i);
  return t;
}

inline void expectNear(const Tensor &actual, const Tensor &expected,
                float tol = 1e-5f) {
  ASSERT_EQ(actual.shape, expected.shape);
  for (size_t i = 0; i < actual.data.size(); ++i)
    ASSERT_NEAR(actual.data[i], expected.data[i], tol) << "at flat index " << i;
}

/// conv2d written differently from the kernel: the input is first copied
/// into an explicitly zero-padded buffer, then every output is a plain sum
/// over that buffer with the weight index computed from the group.
inline Tensor convByPaddedBuffer(const Tensor &x, const Tensor &w, const Tensor *bias,
                          Size2 s, Size2 p, Size2 d, int64_t groups) {
  const int64_t n = x.shape[0], cin = x.shape[1], h = x.shape[2],
                wd = x.shape[3];
  const int64_t cout = w.shape[0], kh = w.shape[2], kw = w.shape[3];
  const int64_t hp = h + 2 * p.h, wp = wd + 2 * p.w;
  Tensor padded({n, cin, hp, wp});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < cin; ++c)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < wd; ++xx)
          padded.at(b, c, y + p.h, xx + p.w) = x.at(b, c, y, xx);
  const int64_t ho = (hp - d.h * (kh - 1) - 1) / s.h + 1;
  const int64_t wo = (wp - d.w * (kw - 1) - 1) / s.w + 1;
  Tensor out({n, cout, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t co = 0; co < cout; ++co)
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox) {
          float sum = 0.0f;
          for (int64_t ci = 0; ci < cin; ++ci) {
            if (ci / (cin / groups) != co / (cout / groups))
              continue; // not in co's group
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j)
                sum +=
                    padded.at(b, ci, oy * s.h + i * d.h, ox * s.w + j * d.w) *
                    w.at(co, ci % (cin / groups), i, j);
          }
          out.at(b, co, oy, ox) = sum + (bias ? bias->data[co] : 0.0f);
        }
  return out;
}

/// nn.ConvTranspose2d as its definition: every input element scatters
/// x * w into the output.
inline Tensor convTransposeByScatter(const Tensor &x, const Tensor &w,
                              const Tensor *bias, Size2 s, Size2 p, Size2 op,
                              int64_t groups) {
  const int64_t n = x.shape[0], cin = x.shape[1], h = x.shape[2],
                wd = x.shape[3];
  const int64_t coutG = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const int64_t cout = coutG * groups, cinG = cin / groups;
  const int64_t ho = (h - 1) * s.h - 2 * p.h + kh + op.h;
  const int64_t wo = (wd - 1) * s.w - 2 * p.w + kw + op.w;
  Tensor out({n, cout, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ci = 0; ci < cin; ++ci)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < wd; ++xx)
          for (int64_t cl = 0; cl < coutG; ++cl)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t oy = y * s.h - p.h + i, ox = xx * s.w - p.w + j;
                if (oy < 0 || oy >= ho || ox < 0 || ox >= wo)
                  continue;
                out.at(b, (ci / cinG) * coutG + cl, oy, ox) +=
                    x.at(b, ci, y, xx) * w.at(ci, cl, i, j);
              }
  if (bias)
    for (int64_t b = 0; b < n; ++b)
      for (int64_t c = 0; c < cout; ++c)
        for (int64_t y = 0; y < ho; ++y)
          for (int64_t xx = 0; xx < wo; ++xx)
            out.at(b, c, y, xx) += bias->data[c];
  return out;
}

/// x zero-padded by `margin` on every side, then shifted:
/// result(y, x) = x(y + dy - margin, x + dx - margin), zero outside x.
inline Tensor padShift(const Tensor &x, int64_t margin, int64_t dy, int64_t dx) {
  const int64_t h = x.shape[2] + 2 * margin, w = x.shape[3] + 2 * margin;
  Tensor out({x.shape[0], x.shape[1], h, w});
  for (int64_t b = 0; b < x.shape[0]; ++b)
    for (int64_t c = 0; c < x.shape[1]; ++c)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
          const int64_t sy = y + dy - margin, sx = xx + dx - margin;
          if (sy >= 0 && sy < x.shape[2] && sx >= 0 && sx < x.shape[3])
            out.at(b, c, y, xx) = x.at(b, c, sy, sx);
        }
  return out;
}

inline int64_t convOut(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// Offsets [n, 2*dg*K, ho, wo] with (dy, dx) per deformable group.
inline Tensor uniformOffsets(int64_t n, int64_t dg, int64_t k, int64_t ho, int64_t wo,
                      const std::vector<std::pair<float, float>> &perGroup) {
  Tensor off({n, 2 * dg * k, ho, wo});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t g = 0; g < dg; ++g)
      for (int64_t p = 0; p < k; ++p)
        for (int64_t y = 0; y < ho; ++y)
          for (int64_t xx = 0; xx < wo; ++xx) {
            off.at(b, 2 * (g * k + p), y, xx) = perGroup[g].first;
            off.at(b, 2 * (g * k + p) + 1, y, xx) = perGroup[g].second;
          }
  return off;
}


} // namespace dla::ref::testing

#endif // DLA_TEST_UNIT_REFTESTUTIL_H
