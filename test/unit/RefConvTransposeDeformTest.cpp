//===- test/unit/RefConvTransposeDeformTest.cpp - Reference kernel tests -===//
//
// The transposed and deformable convolutions of the reference kernels
// (RefKernelsTest.cpp has the others). Expectations are worked out by hand
// in the comments, or computed by an independent formulation (scatter vs.
// gather, shifted inputs, per-point sampling). No golden data files.
//
//===----------------------------------------------------------------------===//

#include "test/unit/RefTestUtil.h"

#include <gtest/gtest.h>

using namespace dla::ref;
using namespace dla::ref::testing;

//===----------------------------------------------------------------------===//
// convTranspose2d
//===----------------------------------------------------------------------===//

TEST(RefConvTranspose2d, HandComputed) {
  // 2x2 input, 2x2 kernel, stride 2: each input pixel stamps x*w into its own
  // 2x2 block.
  Tensor x({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w({1, 1, 2, 2}, {1, 10, 100, 1000});
  expectNear(convTranspose2d(x, w, nullptr, 2),
             Tensor({1, 1, 4, 4}, {1, 10, 2, 20,         //
                                   100, 1000, 200, 2000, //
                                   3, 30, 4, 40,         //
                                   300, 3000, 400, 4000}),
             0);
  // Stride 1, 2x2 kernel of ones: out (3x3) sums overlapping stamps.
  Tensor ones({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor bias({1}, {0.5f});
  expectNear(convTranspose2d(x, ones, &bias),
             Tensor({1, 1, 3, 3},
                    {1.5f, 3.5f, 2.5f, 4.5f, 10.5f, 6.5f, 3.5f, 7.5f, 4.5f}),
             0);
  // Padding 1 crops the border of the previous result to its centre.
  expectNear(convTranspose2d(x, ones, nullptr, 1, 1),
             Tensor({1, 1, 1, 1}, {10}), 0);
  // output_padding adds a row/column at the bottom/right.
  Tensor y = convTranspose2d(x, w, nullptr, 2, 0, 1);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{1, 1, 5, 5}));
  EXPECT_EQ(y.at(0, 0, 4, 4), 0.0f);
  EXPECT_EQ(y.at(0, 0, 3, 3), 4000.0f);
}

TEST(RefConvTranspose2d, MatchesScatterDefinition) {
  struct Case {
    int64_t n, cin, h, w, coutG, k;
    Size2 s, p, op;
    int64_t groups;
  };
  const Case cases[] = {
      {1, 3, 4, 5, 2, 3, 1, 0, 0, 1},
      {2, 4, 3, 4, 3, 3, 2, 1, 1, 2},
      {1, 6, 5, 3, 1, 4, 2, 1, 0, 6},  // IDAUp up_f = 2
      {1, 4, 3, 3, 1, 8, 4, 2, 0, 4},  // IDAUp up_f = 4
      {1, 2, 2, 2, 1, 16, 8, 4, 0, 2}, // IDAUp up_f = 8
      {1, 4, 3, 5, 2, 5, Size2(3, 2), Size2(2, 1), Size2(2, 1), 2},
  };
  uint64_t seed = 100;
  for (const Case &c : cases) {
    Tensor x = randomTensor({c.n, c.cin, c.h, c.w}, seed++);
    Tensor w = randomTensor({c.cin, c.coutG, c.k, c.k}, seed++);
    Tensor b = randomTensor({c.coutG * c.groups}, seed++);
    expectNear(convTranspose2d(x, w, &b, c.s, c.p, c.op, c.groups),
               convTransposeByScatter(x, w, &b, c.s, c.p, c.op, c.groups),
               1e-5f);
    expectNear(convTranspose2d(x, w, nullptr, c.s, c.p, c.op, c.groups),
               convTransposeByScatter(x, w, nullptr, c.s, c.p, c.op, c.groups),
               1e-5f);
  }
}

TEST(RefConvTranspose2d, DepthwiseBilinearUpsampleAsInIDAUp) {
  // ConvTranspose2d(C, C, 4, stride 2, padding 1, groups C): H -> 2H.
  // CenterNet's bilinear init for k = 4 is the outer product of
  // k1 = [0.25, 0.75, 0.75, 0.25]. In 1-D, out[o] = sum_{2i - 1 + t = o}
  // u[i]*k1[t], so for u = [a, b, c]:
  //   [0.75a, 0.75a+0.25b, 0.25a+0.75b, 0.75b+0.25c, 0.25b+0.75c, 0.75c].
  // For a separable input x = outer(u, v) the output is outer(U, V).
  const float k1[4] = {0.25f, 0.75f, 0.75f, 0.25f};
  auto up1d = [](float a, float b, float c) {
    return std::vector<float>{0.75f * a,
                              0.75f * a + 0.25f * b,
                              0.25f * a + 0.75f * b,
                              0.75f * b + 0.25f * c,
                              0.25f * b + 0.75f * c,
                              0.75f * c};
  };
  const std::vector<float> u{1, 2, 4}, v{3, -1, 2};
  const int64_t channels = 2;
  Tensor x({1, channels, 3, 3});
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 3; ++j)
        x.at(0, c, i, j) = u[i] * v[j] * (c == 0 ? 1.0f : -2.0f);
  Tensor w({channels, 1, 4, 4});
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j)
        w.at(c, 0, i, j) = k1[i] * k1[j] * (c == 0 ? 1.0f : 0.5f);
  Tensor y = convTranspose2d(x, w, nullptr, 2, 1, 0, channels);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{1, channels, 6, 6}));
  std::vector<float> uu = up1d(u[0], u[1], u[2]), vv = up1d(v[0], v[1], v[2]);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 6; ++j)
        EXPECT_NEAR(y.at(0, c, i, j),
                    uu[i] * vv[j] * (c == 0 ? 1.0f : -2.0f * 0.5f), 1e-5f)
            << "c=" << c << " i=" << i << " j=" << j;
  // A constant image stays constant in the interior of the upsampled map.
  Tensor flat = Tensor::full({1, 1, 5, 5}, 3.0f);
  Tensor flatW({1, 1, 4, 4});
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j)
      flatW.at(0, 0, i, j) = k1[i] * k1[j];
  Tensor up = convTranspose2d(flat, flatW, nullptr, 2, 1, 0, 1);
  ASSERT_EQ(up.shape, (std::vector<int64_t>{1, 1, 10, 10}));
  for (int64_t i = 1; i < 9; ++i)
    for (int64_t j = 1; j < 9; ++j)
      EXPECT_NEAR(up.at(0, 0, i, j), 3.0f, 1e-6f);
  EXPECT_NEAR(up.at(0, 0, 0, 0), 3.0f * 0.75f * 0.75f, 1e-6f);
}

TEST(RefConvTranspose2d, ShapeErrors) {
  Tensor x({1, 4, 3, 3});
  EXPECT_THROW(convTranspose2d(x, Tensor({3, 1, 2, 2}), nullptr, 2),
               std::invalid_argument); // w.shape[0] != Cin
  EXPECT_THROW(convTranspose2d(x, Tensor({4, 1, 2, 2}), nullptr, 2, 0, 0, 3),
               std::invalid_argument); // Cin % groups
  EXPECT_THROW(convTranspose2d(x, Tensor({4, 1, 2, 2}), nullptr, 2, 0, 2),
               std::invalid_argument); // output_padding >= stride
  Tensor badBias({3});
  EXPECT_THROW(convTranspose2d(x, Tensor({4, 1, 2, 2}), &badBias, 2, 0, 0, 2),
               std::invalid_argument); // Cout = 1 * groups = 2
  Tensor biasOk({2});
  EXPECT_NO_THROW(
      convTranspose2d(x, Tensor({4, 1, 2, 2}), &biasOk, 2, 0, 0, 2));
  EXPECT_THROW(convTranspose2d(x, Tensor({4, 1, 2, 2}), nullptr, 1, 2),
               std::invalid_argument); // output size <= 0
  EXPECT_THROW(
      convTranspose2d(Tensor({4, 3, 3}), Tensor({4, 1, 2, 2}), nullptr),
      std::invalid_argument);
}

//===----------------------------------------------------------------------===//
// deformConv2d / bilinearSample
//===----------------------------------------------------------------------===//

TEST(RefDeformConv2d, BilinearSampleBorders) {
  // 2x3 plane [[1 2 3] [4 5 6]], H = 2, W = 3.
  const float p[6] = {1, 2, 3, 4, 5, 6};
  auto s = [&](float y, float x) { return bilinearSample(p, 2, 3, y, x); };
  EXPECT_FLOAT_EQ(s(0, 0), 1);
  EXPECT_FLOAT_EQ(s(1, 2), 6);         // y = H-1, x = W-1: exact corner
  EXPECT_FLOAT_EQ(s(0.5f, 0.5f), 3);   // mean of 1 2 4 5
  EXPECT_FLOAT_EQ(s(0, 1.5f), 2.5f);   // mean of 2 3
  EXPECT_FLOAT_EQ(s(0.25f, 0), 1.75f); // 0.75*1 + 0.25*4
  // Outside by the torchvision rule.
  EXPECT_EQ(s(-1, 0), 0); // y <= -1
  EXPECT_EQ(s(-1.5f, 0), 0);
  EXPECT_EQ(s(2, 0), 0);  // y >= H
  EXPECT_EQ(s(0, -1), 0); // x <= -1
  EXPECT_EQ(s(0, 3), 0);  // x >= W
  EXPECT_EQ(s(100, -100), 0);
  // Between -1 and 0 / between H-1 and H: the missing corners count as 0.
  EXPECT_FLOAT_EQ(s(-0.5f, 0), 0.5f); // 0.5*0 + 0.5*1
  EXPECT_FLOAT_EQ(s(1.5f, 2), 3.0f);  // 0.5*6 + 0.5*0 (y = H-1+0.5)
  EXPECT_FLOAT_EQ(s(0, 2.5f), 1.5f);  // x = W-1+0.5
  EXPECT_FLOAT_EQ(s(0, -0.25f), 0.75f);
  EXPECT_FLOAT_EQ(s(-0.5f, -0.5f), 0.25f); // only (0,0) inside, weight 1/4
  EXPECT_NEAR(s(-0.999f, 0), 0.001f, 1e-6f);
  EXPECT_NEAR(s(1.999f, 0), 0.001f * 4, 1e-5f);

  // The same plane embedded in a buffer surrounded by sentinels: a sample must
  // never read outside its H x W plane (the sentinels would show up).
  std::vector<float> buf(3 * 6, 1000.0f);
  for (int i = 0; i < 6; ++i)
    buf[6 + i] = p[i];
  const float *plane = buf.data() + 6;
  const float ys[] = {-1.0f, -0.75f, -0.5f, 0.0f,  0.5f,
                      1.0f,  1.25f,  1.5f,  1.99f, 2.0f};
  const float xs[] = {-1.0f, -0.5f, 0.0f, 1.5f, 2.0f, 2.5f, 2.99f, 3.0f};
  for (float y : ys)
    for (float x : xs) {
      EXPECT_EQ(bilinearSample(plane, 2, 3, y, x), s(y, x)) << y << ", " << x;
      EXPECT_LE(std::fabs(s(y, x)), 6.0f) << y << ", " << x;
    }
}

TEST(RefDeformConv2d, ZeroOffsetsEqualConv2d) {
  struct Case {
    int64_t n, cin, h, w, cout, k;
    Size2 s, p, d;
    int64_t groups, dg;
  };
  const Case cases[] = {
      {1, 4, 6, 7, 5, 3, 1, 1, 1, 1, 1}, // CenterNet DeformConv
      {2, 4, 7, 6, 4, 3, 2, 1, 1, 1, 2},
      {1, 6, 9, 9, 6, 3, 1, 2, 2, 3, 3},
      {1, 8, 8, 7, 4, 3, Size2(2, 1), Size2(1, 0), Size2(1, 2), 2, 4},
      {1, 4, 5, 5, 6, 1, 1, 0, 1, 2, 1},
      {1, 4, 9, 9, 2, 5, 2, 2, 1, 1, 2},
  };
  uint64_t seed = 200;
  for (const Case &c : cases) {
    Tensor x = randomTensor({c.n, c.cin, c.h, c.w}, seed++);
    Tensor w = randomTensor({c.cout, c.cin / c.groups, c.k, c.k}, seed++);
    Tensor b = randomTensor({c.cout}, seed++);
    const int64_t ho = convOut(c.h, c.k, c.s.h, c.p.h, c.d.h);
    const int64_t wo = convOut(c.w, c.k, c.s.w, c.p.w, c.d.w);
    const int64_t kk = c.k * c.k;
    Tensor offset({c.n, 2 * c.dg * kk, ho, wo});
    Tensor mask = Tensor::full({c.n, c.dg * kk, ho, wo}, 1.0f);
    Tensor expected = conv2d(x, w, &b, c.s, c.p, c.d, c.groups);
    expectNear(
        deformConv2d(x, offset, &mask, w, &b, c.s, c.p, c.d, c.groups, c.dg),
        expected, 1e-5f);
    expectNear(
        deformConv2d(x, offset, nullptr, w, &b, c.s, c.p, c.d, c.groups, c.dg),
        expected, 1e-5f);
  }
}

TEST(RefDeformConv2d, IntegerOffsetsEqualShiftedConv) {
  // Every kernel point of deformable group g samples (dy_g, dx_g) further
  // than conv2d would, reading zero outside the image. Equivalently: pad x
  // with a wide zero margin m, shift group g's channels by (dy_g, dx_g), run
  // a stride-1, unpadded conv2d and pick the outputs that correspond to the
  // strided, padded grid (rows o*s - p + m).
  Tensor x = randomTensor({2, 4, 6, 7}, 300);
  Tensor w = randomTensor({3, 4, 3, 3}, 301);
  Tensor b = randomTensor({3}, 302);
  const int64_t m = 8; // margin > |shift| + padding + kernel span
  auto shiftedConv = [&](const Tensor &xs, Size2 s, Size2 p, Size2 d) {
    Tensor full = conv2d(xs, w, &b, 1, 0, d); // stride 1 everywhere
    const int64_t ho = convOut(x.shape[2], 3, s.h, p.h, d.h);
    const int64_t wo = convOut(x.shape[3], 3, s.w, p.w, d.w);
    Tensor out({x.shape[0], 3, ho, wo});
    for (int64_t n = 0; n < x.shape[0]; ++n)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < ho; ++y)
          for (int64_t xx = 0; xx < wo; ++xx)
            out.at(n, c, y, xx) =
                full.at(n, c, y * s.h + m - p.h, xx * s.w + m - p.w);
    return out;
  };
  // One deformable group, shift (1, -2); padding 1 so that taps in the
  // padding (y = -1) are shifted into the image and must be read.
  {
    Tensor off = uniformOffsets(2, 1, 9, 6, 7, {{1.0f, -2.0f}});
    expectNear(deformConv2d(x, off, nullptr, w, &b, 1, 1),
               shiftedConv(padShift(x, m, 1, -2), 1, 1, 1), 1e-5f);
  }
  // Two deformable groups, channels 0-1 shift (-1, 0), channels 2-3 (2, 3).
  {
    Tensor off = uniformOffsets(2, 2, 9, 6, 7, {{-1.0f, 0.0f}, {2.0f, 3.0f}});
    Tensor xs = concat({padShift(sliceChannels(x, 0, 2), m, -1, 0),
                        padShift(sliceChannels(x, 2, 2), m, 2, 3)});
    expectNear(deformConv2d(x, off, nullptr, w, &b, 1, 1, 1, 1, 2),
               shiftedConv(xs, 1, 1, 1), 1e-5f);
  }
  // Strided and dilated: the shift is in input pixels.
  {
    const int64_t ho = convOut(6, 3, 2, 2, 2), wo = convOut(7, 3, 2, 2, 2);
    Tensor off = uniformOffsets(2, 1, 9, ho, wo, {{-3.0f, 1.0f}});
    expectNear(deformConv2d(x, off, nullptr, w, &b, 2, 2, 2),
               shiftedConv(padShift(x, m, -3, 1), 2, 2, 2), 1e-5f);
  }
}

TEST(RefDeformConv2d, OffsetChannelLayoutIsDyDxPerKernelPoint) {
  // Only kernel point (i, j) = (0, 2) has a non-zero weight; only its offset
  // channels (2k = dy, 2k+1 = dx with k = 2) are set; all other offsets are
  // large, so using the wrong channels would change the result.
  const int64_t h = 5, w = 5;
  Tensor x = iota({1, 1, h, w}, 1.0f); // x[y][x] = 1 + 5y + x
  Tensor wt({1, 1, 3, 3});
  wt.at(0, 0, 0, 2) = 1.0f;
  // Every other offset is huge: those points sample outside (value 0).
  Tensor off = Tensor::full({1, 18, h, w}, 1000.0f);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t xx = 0; xx < w; ++xx) {
      off.at(0, 4, y, xx) = 1.0f;  // dy of point 2
      off.at(0, 5, y, xx) = -1.0f; // dx of point 2
    }
  Tensor out = deformConv2d(x, off, nullptr, wt, nullptr, 1, 1);
  // Point (0, 2) normally reads (y - 1, x + 1); shifted by (1, -1): (y, x).
  expectNear(out, x, 0);
  // Mask channel k = 2 scales it; the other mask channels do not matter.
  Tensor mask = Tensor::full({1, 9, h, w}, 7.0f);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t xx = 0; xx < w; ++xx)
      mask.at(0, 2, y, xx) = 0.5f;
  Tensor half = x;
  for (float &v : half.data)
    v *= 0.5f;
  expectNear(deformConv2d(x, off, &mask, wt, nullptr, 1, 1), half, 1e-6f);
}

TEST(RefDeformConv2d, DeformableGroupChannelLayout) {
  // dg = 2, 1x1 kernel: offset channels (dy0, dx0, dy1, dx1), mask (m0, m1).
  // Channel 0 belongs to group 0, channel 1 to group 1.
  Tensor x({1, 2, 1, 3}, {1, 2, 3, 10, 20, 30});
  Tensor wt({2, 1, 1, 1}, {1, 1});
  Tensor off({1, 4, 1, 3});
  Tensor mask({1, 2, 1, 3});
  for (int64_t xx = 0; xx < 3; ++xx) {
    off.at(0, 1, 0, xx) = 1.0f;  // group 0: dx = +1
    off.at(0, 3, 0, xx) = -1.0f; // group 1: dx = -1
    mask.at(0, 0, 0, xx) = 1.0f;
    mask.at(0, 1, 0, xx) = 2.0f;
  }
  // groups = 2 so output channel c only sees input channel c.
  Tensor out = deformConv2d(x, off, &mask, wt, nullptr, 1, 0, 1, 2, 2);
  expectNear(out, Tensor({1, 2, 1, 3}, {2, 3, 0, 0, 20, 40}), 0);
}

TEST(RefDeformConv2d, HalfPixelOffsetsAverageNeighbours) {
  Tensor x = randomTensor({1, 2, 4, 5}, 400);
  Tensor wt({2, 2, 1, 1}, {1, 0, 0, 1}); // identity 1x1
  // dx = 0.5: mean of (y, x) and (y, x+1); the last column has no right
  // neighbour (x = W-1+0.5 is inside, its right corner contributes 0).
  {
    Tensor off = uniformOffsets(1, 1, 1, 4, 5, {{0.0f, 0.5f}});
    Tensor out = deformConv2d(x, off, nullptr, wt, nullptr);
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t xx = 0; xx < 5; ++xx) {
          const float right = xx + 1 < 5 ? x.at(0, c, y, xx + 1) : 0.0f;
          EXPECT_NEAR(out.at(0, c, y, xx), 0.5f * (x.at(0, c, y, xx) + right),
                      1e-6f);
        }
  }
  // dy = 0.5: mean of (y, x) and (y+1, x); the last row has no neighbour
  // below (and must not read the next channel's first row).
  {
    Tensor off = uniformOffsets(1, 1, 1, 4, 5, {{0.5f, 0.0f}});
    Tensor out = deformConv2d(x, off, nullptr, wt, nullptr);
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t xx = 0; xx < 5; ++xx) {
          const float below = y + 1 < 4 ? x.at(0, c, y + 1, xx) : 0.0f;
          EXPECT_NEAR(out.at(0, c, y, xx), 0.5f * (x.at(0, c, y, xx) + below),
                      1e-6f);
        }
  }
  // dy = dx = -0.5: mean of the four pixels up-left; outside ones are 0.
  {
    Tensor off = uniformOffsets(1, 1, 1, 4, 5, {{-0.5f, -0.5f}});
    Tensor out = deformConv2d(x, off, nullptr, wt, nullptr);
    auto px = [&](int64_t c, int64_t y, int64_t xx) {
      return (y >= 0 && xx >= 0) ? x.at(0, c, y, xx) : 0.0f;
    };
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t xx = 0; xx < 5; ++xx)
          EXPECT_NEAR(out.at(0, c, y, xx),
                      0.25f * (px(c, y - 1, xx - 1) + px(c, y - 1, xx) +
                               px(c, y, xx - 1) + px(c, y, xx)),
                      1e-6f);
  }
}

TEST(RefDeformConv2d, SamplingAtAndBeyondBorders) {
  // 1x1 kernel on a 3x4 image of ones (so a sample equals the total weight of
  // its inside corners), bias 0.
  Tensor x = Tensor::full({1, 1, 3, 4}, 1.0f);
  Tensor wt({1, 1, 1, 1}, {1});
  auto sampleAt = [&](float dy, float dx) {
    // Output (0, 0) samples at (dy, dx).
    Tensor off = uniformOffsets(1, 1, 1, 3, 4, {{dy, dx}});
    return deformConv2d(x, off, nullptr, wt, nullptr).at(0, 0, 0, 0);
  };
  EXPECT_EQ(sampleAt(-1.0f, 0), 0.0f);         // y = -1 exactly
  EXPECT_FLOAT_EQ(sampleAt(-0.5f, 0), 0.5f);   // half above the top row
  EXPECT_FLOAT_EQ(sampleAt(2.0f, 3.0f), 1.0f); // (H-1, W-1)
  EXPECT_FLOAT_EQ(sampleAt(2.5f, 0), 0.5f);    // y = H-1+0.5
  EXPECT_FLOAT_EQ(sampleAt(0, 3.5f), 0.5f);    // x = W-1+0.5
  EXPECT_FLOAT_EQ(sampleAt(2.5f, 3.5f), 0.25f);
  EXPECT_EQ(sampleAt(3.0f, 0), 0.0f);  // y = H
  EXPECT_EQ(sampleAt(0, 4.0f), 0.0f);  // x = W
  EXPECT_EQ(sampleAt(0, -1.0f), 0.0f); // x = -1
  EXPECT_EQ(sampleAt(-7.25f, 50.0f), 0.0f);
  // Output (2, 3) with offset (+0.5, +0.5) samples (2.5, 3.5): quarter.
  Tensor off = uniformOffsets(1, 1, 1, 3, 4, {{0.5f, 0.5f}});
  EXPECT_FLOAT_EQ(deformConv2d(x, off, nullptr, wt, nullptr).at(0, 0, 2, 3),
                  0.25f);
  // With a 3x3 kernel and padding 1 (CenterNet), zero offsets read the
  // padding at y = -1 exactly: those taps are 0, so a ones-kernel at (0, 0)
  // sums the 2x2 inside pixels.
  Tensor w3 = Tensor::full({1, 1, 3, 3}, 1.0f);
  Tensor off3({1, 18, 3, 4});
  EXPECT_FLOAT_EQ(
      deformConv2d(x, off3, nullptr, w3, nullptr, 1, 1).at(0, 0, 0, 0), 4.0f);
}

TEST(RefDeformConv2d, MaskScaling) {
  Tensor x = randomTensor({1, 3, 5, 5}, 500);
  Tensor w = randomTensor({2, 3, 3, 3}, 501);
  Tensor b({2}, {0.25f, -1.0f});
  Tensor off = randomTensor({1, 18, 5, 5}, 502);
  for (float &v : off.data)
    v *= 2.0f;
  // A uniform mask m scales the sum but not the bias.
  Tensor mask = Tensor::full({1, 9, 5, 5}, 0.25f);
  Tensor full = deformConv2d(x, off, nullptr, w, nullptr, 1, 1);
  Tensor masked = deformConv2d(x, off, &mask, w, &b, 1, 1);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t xx = 0; xx < 5; ++xx)
        EXPECT_NEAR(masked.at(0, c, y, xx),
                    b.data[c] + 0.25f * full.at(0, c, y, xx), 1e-5f);
  // Mask zero everywhere but the centre point == a conv with only the centre
  // weight (centre with zero offsets is a 1x1 conv).
  Tensor centreMask({1, 9, 5, 5});
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t xx = 0; xx < 5; ++xx)
      centreMask.at(0, 4, y, xx) = 1.0f;
  Tensor zeroOff({1, 18, 5, 5});
  Tensor centreW({2, 3, 1, 1});
  for (int64_t co = 0; co < 2; ++co)
    for (int64_t ci = 0; ci < 3; ++ci)
      centreW.at(co, ci, 0, 0) = w.at(co, ci, 1, 1);
  expectNear(deformConv2d(x, zeroOff, &centreMask, w, &b, 1, 1),
             conv2d(x, centreW, &b), 1e-5f);
  // A per-position mask: out(y, x) scales with mask(y, x).
  Tensor ramp({1, 9, 5, 5});
  for (int64_t k = 0; k < 9; ++k)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t xx = 0; xx < 5; ++xx)
        ramp.at(0, k, y, xx) = 0.1f * static_cast<float>(y * 5 + xx);
  Tensor rampOut = deformConv2d(x, off, &ramp, w, nullptr, 1, 1);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t xx = 0; xx < 5; ++xx)
        EXPECT_NEAR(rampOut.at(0, c, y, xx),
                    0.1f * static_cast<float>(y * 5 + xx) *
                        full.at(0, c, y, xx),
                    1e-4f);
}

TEST(RefDeformConv2d, ShapeErrors) {
  Tensor x({1, 4, 5, 5});
  Tensor w({2, 4, 3, 3});
  Tensor off({1, 18, 5, 5});
  Tensor mask({1, 9, 5, 5});
  EXPECT_NO_THROW(deformConv2d(x, off, &mask, w, nullptr, 1, 1));
  // Offset sized for stride 1 used with stride 2 (Ho = 3).
  EXPECT_THROW(deformConv2d(x, off, &mask, w, nullptr, 2, 1),
               std::invalid_argument);
  // Offset channels for dg = 1 used with dg = 2.
  EXPECT_THROW(deformConv2d(x, off, nullptr, w, nullptr, 1, 1, 1, 1, 2),
               std::invalid_argument);
  Tensor badMask({1, 18, 5, 5});
  EXPECT_THROW(deformConv2d(x, off, &badMask, w, nullptr, 1, 1),
               std::invalid_argument);
  // Cin = 4 not divisible by dg = 3.
  Tensor off3({1, 54, 5, 5});
  EXPECT_THROW(deformConv2d(x, off3, nullptr, w, nullptr, 1, 1, 1, 1, 3),
               std::invalid_argument);
  EXPECT_THROW(deformConv2d(x, off, nullptr, w, nullptr, 1, 1, 1, 1, 0),
               std::invalid_argument);
  // Weight / groups mismatch and bias shape are checked as for conv2d.
  EXPECT_THROW(
      deformConv2d(x, off, nullptr, Tensor({2, 3, 3, 3}), nullptr, 1, 1),
      std::invalid_argument);
  Tensor badBias({3});
  EXPECT_THROW(deformConv2d(x, off, nullptr, w, &badBias, 1, 1),
               std::invalid_argument);
  EXPECT_THROW(deformConv2d(x, Tensor({1, 18, 5}), nullptr, w, nullptr, 1, 1),
               std::invalid_argument);
}
