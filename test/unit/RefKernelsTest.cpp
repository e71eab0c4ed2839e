//===- test/unit/RefKernelsTest.cpp - Tests of the reference kernels ------===//
//
// Expectations are worked out by hand in the comments, or computed by an
// independent formulation written in this file (scatter vs. gather, explicit
// zero padding, per-group slicing, shifted inputs). No golden data files.
//
//===----------------------------------------------------------------------===//

#include "reference/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "test/unit/RefTestUtil.h"

using namespace dla::ref;
using namespace dla::ref::testing;

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

TEST(RefTensor, ShapeNumelAndIndexing) {
  Tensor t({2, 3, 4, 5});
  EXPECT_EQ(t.numel(), 120);
  EXPECT_EQ(t.rank(), 4);
  EXPECT_EQ(t.dim(-1), 5);
  EXPECT_EQ(t.shapeString(), "[2, 3, 4, 5]");
  t.at(1, 2, 3, 4) = 7.0f;
  EXPECT_EQ(t.data.back(), 7.0f); // last element is (1, 2, 3, 4)
  t.at(0, 1, 0, 2) = 5.0f;
  EXPECT_EQ(t.data[1 * 20 + 2], 5.0f);
  EXPECT_EQ(Tensor(std::vector<int64_t>{}).numel(), 1);
  EXPECT_EQ(Tensor({2, 0, 3}).numel(), 0);
  EXPECT_THROW(Tensor({2, -1}), std::invalid_argument);
  EXPECT_THROW(Tensor({2, 2}, std::vector<float>{1, 2, 3}),
               std::invalid_argument);
  EXPECT_THROW(t.dim(4), std::invalid_argument);
  EXPECT_EQ(Tensor::full({2, 2}, 3.5f).data,
            (std::vector<float>{3.5f, 3.5f, 3.5f, 3.5f}));
  // Braced data is always data, never a fill value.
  EXPECT_EQ(Tensor({1}, {10}).data, std::vector<float>{10});
  EXPECT_THROW(Tensor({2}, {5}), std::invalid_argument);
}

TEST(RefTensor, MaxAbsDiff) {
  Tensor a({3}, {1, 2, 3}), b({3}, {1, 2.5f, 2});
  EXPECT_FLOAT_EQ(maxAbsDiff(a, b), 1.0f);
  EXPECT_THROW(maxAbsDiff(a, Tensor({1, 3})), std::invalid_argument);
  b.data[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(maxAbsDiff(a, b)));
}

//===----------------------------------------------------------------------===//
// conv2d
//===----------------------------------------------------------------------===//

TEST(RefConv2d, HandComputed) {
  // x = [[1 2 3] [4 5 6] [7 8 9]], w = [[1 0] [0 -1]] (x[i][j] - x[i+1][j+1]).
  Tensor x = iota({1, 1, 3, 3}, 1.0f);
  Tensor w({1, 1, 2, 2}, {1, 0, 0, -1});
  Tensor bias({1}, {10});
  expectNear(conv2d(x, w, nullptr), Tensor({1, 1, 2, 2}, {-4, -4, -4, -4}));
  expectNear(conv2d(x, w, &bias), Tensor({1, 1, 2, 2}, {6, 6, 6, 6}));
  // padding 1: out (4x4); corner (0,0) sees only x[0][0] at w[1][1] -> -1;
  // (3,3) sees only x[2][2] at w[0][0] -> 9.
  Tensor y = conv2d(x, w, nullptr, 1, 1);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{1, 1, 4, 4}));
  EXPECT_FLOAT_EQ(y.at(0, 0, 0, 0), -1);
  EXPECT_FLOAT_EQ(y.at(0, 0, 3, 3), 9);
  // In general y(r, c) = x[r-1][c-1] - x[r][c] with zeros outside.
  EXPECT_FLOAT_EQ(y.at(0, 0, 0, 3), 0);  // x[-1][2] - x[0][3]
  EXPECT_FLOAT_EQ(y.at(0, 0, 1, 3), 3);  // x[0][2] - x[1][3]
  EXPECT_FLOAT_EQ(y.at(0, 0, 1, 1), -4); // interior
  // stride 2 with padding 1: out (2x2) = y[0::2, 0::2] = {y00, y02, y20, y22}.
  expectNear(conv2d(x, w, nullptr, 2, 1),
             Tensor({1, 1, 2, 2}, {-1, -3, -7, -4}));
  // dilation 2 on 3x3: single output x[0][0] - x[2][2] = -8.
  expectNear(conv2d(x, w, nullptr, 1, 0, 2), Tensor({1, 1, 1, 1}, {-8}));
}

TEST(RefConv2d, OutputSize) {
  Tensor w({2, 3, 3, 3});
  struct Case {
    int64_t h, w, s, p, d;
  };
  for (Case c : {Case{7, 7, 1, 1, 1}, Case{8, 7, 2, 1, 1}, Case{9, 10, 2, 0, 2},
                 Case{5, 6, 3, 2, 1}, Case{11, 4, 1, 3, 3}}) {
    Tensor y = conv2d(Tensor({1, 3, c.h, c.w}), w, nullptr, c.s, c.p, c.d);
    EXPECT_EQ(y.shape,
              (std::vector<int64_t>{1, 2, convOut(c.h, 3, c.s, c.p, c.d),
                                    convOut(c.w, 3, c.s, c.p, c.d)}));
  }
  // Anisotropic attributes.
  Tensor y = conv2d(Tensor({1, 3, 9, 9}), Tensor({1, 3, 3, 1}), nullptr,
                    Size2(2, 1), Size2(0, 2), Size2(1, 3));
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 4, 13}));
}

TEST(RefConv2d, MatchesPaddedBufferFormulation) {
  struct Case {
    int64_t n, cin, h, w, cout, kh, kw;
    Size2 s, p, d;
    int64_t groups;
  };
  const Case cases[] = {
      {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1},
      {1, 4, 9, 8, 6, 3, 3, 2, 1, 1, 2},
      {1, 6, 10, 9, 6, 3, 3, 1, 2, 2, 6}, // depthwise, dilated
      {1, 4, 8, 11, 4, 5, 3, Size2(2, 1), Size2(2, 0), Size2(1, 2), 4},
      {2, 8, 5, 5, 4, 1, 1, 1, 0, 1, 2},
      {1, 3, 16, 16, 8, 7, 7, 2, 3, 1, 1}, // DLA base layer shape
  };
  uint64_t seed = 1;
  for (const Case &c : cases) {
    Tensor x = randomTensor({c.n, c.cin, c.h, c.w}, seed++);
    Tensor w = randomTensor({c.cout, c.cin / c.groups, c.kh, c.kw}, seed++);
    Tensor b = randomTensor({c.cout}, seed++);
    expectNear(conv2d(x, w, &b, c.s, c.p, c.d, c.groups),
               convByPaddedBuffer(x, w, &b, c.s, c.p, c.d, c.groups), 1e-4f);
    expectNear(conv2d(x, w, nullptr, c.s, c.p, c.d, c.groups),
               convByPaddedBuffer(x, w, nullptr, c.s, c.p, c.d, c.groups),
               1e-4f);
  }
}

TEST(RefConv2d, GroupedEqualsPerGroupConv) {
  const int64_t groups = 3, cin = 6, cout = 9;
  Tensor x = randomTensor({2, cin, 6, 7}, 11);
  Tensor w = randomTensor({cout, cin / groups, 3, 3}, 12);
  Tensor b = randomTensor({cout}, 13);
  Tensor grouped = conv2d(x, w, &b, 2, 1, 1, groups);
  std::vector<Tensor> parts;
  for (int64_t g = 0; g < groups; ++g) {
    Tensor xg = sliceChannels(x, g * 2, 2);
    Tensor wg({3, 2, 3, 3});
    for (size_t i = 0; i < wg.data.size(); ++i)
      wg.data[i] = w.data[static_cast<size_t>(g) * wg.data.size() + i];
    Tensor bg({3}, {b.data[3 * g], b.data[3 * g + 1], b.data[3 * g + 2]});
    parts.push_back(conv2d(xg, wg, &bg, 2, 1, 1, 1));
  }
  expectNear(grouped, concat(parts), 1e-5f);
}

TEST(RefConv2d, ShapeErrors) {
  Tensor x({1, 4, 5, 5});
  EXPECT_THROW(conv2d(Tensor({4, 5, 5}), Tensor({2, 4, 3, 3}), nullptr),
               std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({2, 3, 3, 3}), nullptr), std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({3, 2, 3, 3}), nullptr, 1, 0, 1, 2),
               std::invalid_argument); // Cout % groups
  EXPECT_THROW(conv2d(x, Tensor({3, 1, 3, 3}), nullptr, 1, 0, 1, 3),
               std::invalid_argument); // Cin % groups
  Tensor badBias({3});
  EXPECT_THROW(conv2d(x, Tensor({2, 4, 3, 3}), &badBias),
               std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({2, 4, 7, 7}), nullptr), std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({2, 4, 3, 3}), nullptr, 0),
               std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({2, 4, 3, 3}), nullptr, 1, -1),
               std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({2, 4, 3, 3}), nullptr, 1, 0, 0),
               std::invalid_argument);
  EXPECT_THROW(conv2d(x, Tensor({2, 4, 3, 3}), nullptr, 1, 0, 1, 0),
               std::invalid_argument);
  try {
    conv2d(x, Tensor({2, 3, 3, 3}), nullptr);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("conv2d"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2, 3, 3, 3]"), std::string::npos);
  }
}

//===----------------------------------------------------------------------===//
// batchNorm, relu, sigmoid, add
//===----------------------------------------------------------------------===//

TEST(RefElementwise, BatchNorm) {
  // Channel 0: mean 1, var 4 - eps, gamma 2, beta 0.5 -> (x-1)/2*2+0.5 = x-0.5.
  // Channel 1: mean -2, var 0.25 - eps, gamma -1, beta 0 -> -(x+2)*2.
  const float eps = 1e-5f;
  Tensor x({1, 2, 1, 2}, {3, -1, 0, 1});
  Tensor gamma({2}, {2, -1}), beta({2}, {0.5f, 0}), mean({2}, {1, -2}),
      var({2}, {4 - eps, 0.25f - eps});
  expectNear(batchNorm(x, gamma, beta, mean, var),
             Tensor({1, 2, 1, 2}, {2.5f, -1.5f, -4, -6}), 1e-5f);
  // Custom eps and a rank-2 input ([N, C]).
  Tensor x2({2, 2}, {1, 2, 3, 4});
  Tensor one({2}, {1, 1}), zero({2}, {0, 0});
  expectNear(batchNorm(x2, one, zero, zero, Tensor({2}, {0, 0}), 1.0f), x2);
  EXPECT_THROW(batchNorm(x, Tensor({3}), beta, mean, var),
               std::invalid_argument);
  EXPECT_THROW(batchNorm(x, gamma, beta, mean, Tensor({2, 1})),
               std::invalid_argument);
  EXPECT_THROW(batchNorm(Tensor({2}), one, zero, zero, one),
               std::invalid_argument);
}

TEST(RefElementwise, Relu) {
  Tensor x({5}, {-2, -0.0f, 0, 0.5f, 3});
  expectNear(relu(x), Tensor({5}, {0, 0, 0, 0.5f, 3}), 0);
  Tensor n({1}, {std::numeric_limits<float>::quiet_NaN()});
  EXPECT_TRUE(std::isnan(relu(n).data[0]));
}

TEST(RefElementwise, SigmoidExtremes) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x({9}, {0, 1, -1, 20, -20, 100, -100, 1e30f, -1e30f});
  Tensor y = sigmoid(x);
  EXPECT_FLOAT_EQ(y.data[0], 0.5f);
  EXPECT_NEAR(y.data[1], 0.7310585786f, 1e-7f);
  EXPECT_NEAR(y.data[2], 0.2689414214f, 1e-7f);
  EXPECT_FLOAT_EQ(y.data[3], 1.0f);
  EXPECT_NEAR(y.data[4], 2.0611536e-9f, 1e-15f);
  EXPECT_EQ(y.data[5], 1.0f);
  EXPECT_GE(y.data[6], 0.0f); // exp(-100) ~ 3.7e-44 (denormal) or 0
  EXPECT_LT(y.data[6], 1e-40f);
  EXPECT_EQ(y.data[7], 1.0f);
  EXPECT_EQ(y.data[8], 0.0f);
  for (float v : y.data)
    EXPECT_FALSE(std::isnan(v));
  Tensor z = sigmoid(Tensor({2}, {inf, -inf}));
  EXPECT_EQ(z.data[0], 1.0f);
  EXPECT_EQ(z.data[1], 0.0f);
  // sigmoid(-x) = 1 - sigmoid(x)
  Tensor r = randomTensor({100}, 5);
  for (float &v : r.data)
    v *= 10;
  Tensor neg = r;
  for (float &v : neg.data)
    v = -v;
  Tensor a = sigmoid(r), b = sigmoid(neg);
  for (size_t i = 0; i < a.data.size(); ++i)
    EXPECT_NEAR(a.data[i] + b.data[i], 1.0f, 1e-6f);
}

TEST(RefElementwise, Add) {
  Tensor a({1, 2, 1, 2}, {1, 2, 3, 4}), b({1, 2, 1, 2}, {10, 20, 30, 40});
  expectNear(add(a, b), Tensor({1, 2, 1, 2}, {11, 22, 33, 44}), 0);
  EXPECT_THROW(add(a, Tensor({1, 2, 2, 1})), std::invalid_argument);
}

//===----------------------------------------------------------------------===//
// concat, sliceChannels, flatten
//===----------------------------------------------------------------------===//

TEST(RefShape, ConcatSliceFlatten) {
  Tensor a = iota({2, 1, 1, 2}, 0);   // n0: 0 1 | n1: 2 3
  Tensor b = iota({2, 2, 1, 2}, 100); // n0: 100..103 | n1: 104..107
  Tensor c = concat({a, b});
  expectNear(c,
             Tensor({2, 3, 1, 2},
                    {0, 1, 100, 101, 102, 103, 2, 3, 104, 105, 106, 107}),
             0);
  expectNear(sliceChannels(c, 1, 2), b, 0);
  expectNear(sliceChannels(c, 0, 1), a, 0);
  EXPECT_EQ(sliceChannels(c, 3, 0).shape, (std::vector<int64_t>{2, 0, 1, 2}));
  expectNear(concat({a}), a, 0);
  EXPECT_THROW(concat({}), std::invalid_argument);
  EXPECT_THROW(concat({a, Tensor({2, 1, 1, 3})}), std::invalid_argument);
  EXPECT_THROW(concat({a, Tensor({1, 1, 1, 2})}), std::invalid_argument);
  EXPECT_THROW(concat({a, Tensor({2, 1, 2})}), std::invalid_argument);
  EXPECT_THROW(sliceChannels(c, 2, 2), std::invalid_argument);
  EXPECT_THROW(sliceChannels(c, -1, 1), std::invalid_argument);
  Tensor f = flatten(c);
  EXPECT_EQ(f.shape, (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(f.data, c.data);
  EXPECT_EQ(flatten(Tensor({3})).shape, (std::vector<int64_t>{3, 1}));
  EXPECT_THROW(flatten(Tensor(std::vector<int64_t>{})), std::invalid_argument);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

TEST(RefPool, MaxPool) {
  // 4x4 iota, 2x2 stride 2: maxima are the bottom-right of each block.
  Tensor x = iota({1, 1, 4, 4});
  expectNear(maxPool2d(x, 2, 2), Tensor({1, 1, 2, 2}, {5, 7, 13, 15}), 0);
  // All-negative input, kernel 3 stride 2 padding 1: padding (-inf) never
  // wins. Windows rows {-1,0,1},{1,2,3}; out size floor((4+2-3)/2)+1 = 2.
  Tensor neg = iota({1, 1, 4, 4}, -100, 1); // -100 .. -85
  expectNear(maxPool2d(neg, 3, 2, 1),
             Tensor({1, 1, 2, 2}, {-95, -93, -87, -85}), 0);
  // Floor mode: 5x5, kernel 2 stride 2 -> 2x2 (last row/column dropped).
  EXPECT_EQ(maxPool2d(Tensor({1, 2, 5, 5}), 2, 2).shape,
            (std::vector<int64_t>{1, 2, 2, 2}));
  // NaN propagates.
  Tensor withNan = iota({1, 1, 2, 2});
  withNan.data[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(maxPool2d(withNan, 2, 2).data[0]));
  EXPECT_THROW(maxPool2d(x, 2, 2, 2), std::invalid_argument); // pad > k/2
  EXPECT_THROW(maxPool2d(x, 5, 1), std::invalid_argument);    // too small
  EXPECT_THROW(maxPool2d(Tensor({4, 4}), 2, 2), std::invalid_argument);
  EXPECT_THROW(maxPool2d(x, 0, 1), std::invalid_argument);
}

TEST(RefPool, AvgPool) {
  Tensor x = iota({1, 1, 4, 4});
  // 2x2 stride 2: block means.
  expectNear(avgPool2d(x, 2, 2),
             Tensor({1, 1, 2, 2}, {2.5f, 4.5f, 10.5f, 12.5f}), 1e-6f);
  // 3x3 stride 2 padding 1, count_include_pad: divisor always 9.
  // (0,0): rows 0..1, cols 0..1 -> (0+1+4+5)/9 = 10/9.
  // (0,1): rows 0..1, cols 1..3 -> (1+2+3+5+6+7)/9 = 24/9.
  // (1,0): rows 1..3, cols 0..1 -> (4+5+8+9+12+13)/9 = 51/9.
  // (1,1): rows 1..3, cols 1..3 -> (5+6+7+9+10+11+13+14+15)/9 = 90/9.
  expectNear(avgPool2d(x, 3, 2, 1),
             Tensor({1, 1, 2, 2}, {10.f / 9, 24.f / 9, 51.f / 9, 10}), 1e-5f);
  // Global pool as in DLA's classifier (7x7 kernel, stride 1 on 7x7).
  Tensor g = iota({2, 3, 7, 7});
  Tensor pooled = avgPool2d(g, 7, 1);
  ASSERT_EQ(pooled.shape, (std::vector<int64_t>{2, 3, 1, 1}));
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_NEAR(pooled.data[i], 49.0f * i + 24.0f, 1e-3f);
  EXPECT_THROW(avgPool2d(x, 3, 2, 2), std::invalid_argument);
}

