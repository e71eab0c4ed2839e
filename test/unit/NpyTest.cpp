//===- NpyTest.cpp - the .npy reader and writer of libdlart ---------------===//
//
// dlart/Npy.h: what numpy writes is read back exactly (versions 1.0 to 3.0,
// float32/64/16, scalars); every malformed, truncated or hostile file is
// refused with one message naming the file and the problem, never a crash.
//
//===----------------------------------------------------------------------===//

#include "dlart/Npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

// A .npy file: version major.0, `header` padded to 64 bytes, then `data`.
std::string npy(const std::string &header, const std::string &data = "",
                int major = 1) {
  size_t lenBytes = major == 1 ? 2 : 4;
  std::string h = header;
  size_t total = 8 + lenBytes + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += '\0';
  for (size_t k = 0; k < lenBytes; ++k)
    out += char((h.size() >> (8 * k)) & 0xff);
  return out + h + data;
}

std::string floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4);
}

std::string parseError(const std::string &bytes) {
  dlart::NpyArray a;
  std::string err;
  EXPECT_FALSE(dlart::parseNpy("x.npy", reinterpret_cast<const uint8_t *>(bytes.data()),
                               bytes.size(), a, err));
  return err;
}

TEST(NpyTest, ReadsWhatNumpyWrites) {
  for (int major : {1, 2, 3}) {
    std::string f = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                        floats({1, 2, 3, 4, 5, 6}), major);
    dlart::NpyArray a;
    std::string err;
    ASSERT_TRUE(dlart::parseNpy("x.npy", reinterpret_cast<const uint8_t *>(f.data()),
                                f.size(), a, err))
        << err;
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    std::vector<float> v;
    dlart::npyToF32(a, v);
    EXPECT_EQ(v, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
  // float64 and float16 are converted; a scalar has shape ().
  double d[2] = {0.5, -2.25};
  std::string f = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                      std::string(reinterpret_cast<const char *>(d), 16));
  dlart::NpyArray a;
  std::string err;
  ASSERT_TRUE(dlart::parseNpy("x.npy", reinterpret_cast<const uint8_t *>(f.data()),
                              f.size(), a, err))
      << err;
  std::vector<float> v;
  dlart::npyToF32(a, v);
  EXPECT_EQ(v, (std::vector<float>{0.5f, -2.25f}));
  uint16_t h = 0x3c00; // 1.0
  f = npy("{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": ()}",
          std::string(reinterpret_cast<const char *>(&h), 2));
  ASSERT_TRUE(dlart::parseNpy("x.npy", reinterpret_cast<const uint8_t *>(f.data()),
                              f.size(), a, err))
      << err;
  dlart::npyToF32(a, v);
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(v, (std::vector<float>{1.0f}));
}

TEST(NpyTest, WriteThenRead) {
  std::string path = ::testing::TempDir() + "npytest_" + std::to_string(::getpid()) + ".npy";
  std::vector<float> v = {1.5f, -0.0f, 3e-38f, 7};
  std::string err;
  ASSERT_TRUE(dlart::writeNpy(path, {1, 2, 2}, v.data(), err)) << err;
  dlart::NpyArray a;
  ASSERT_TRUE(dlart::readNpy(path, a, err)) << err;
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.data.size(), 16u);
  EXPECT_EQ(std::memcmp(a.data.data(), v.data(), 16), 0);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ((bytes.size() - 16) % 64, 0u) << "the header is padded to 64 bytes";
  EXPECT_NE(bytes.find("'shape': (1, 2, 2), }"), std::string::npos);
  ASSERT_TRUE(dlart::writeNpy(path, {3}, v.data(), err)) << err;
  std::ifstream in1(path, std::ios::binary);
  bytes.assign((std::istreambuf_iterator<char>(in1)), std::istreambuf_iterator<char>());
  EXPECT_NE(bytes.find("'shape': (3,), }"), std::string::npos);
  std::filesystem::remove(path);
  EXPECT_FALSE(dlart::readNpy(path, a, err));
  EXPECT_NE(err.find(": cannot open: No such file"), std::string::npos) << err;
}

TEST(NpyTest, RefusesBadFiles) {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string two = floats({1, 2});
  EXPECT_EQ(parseError("PK\x03\x04 a zip"),
            "x.npy: not a .npy file (it does not start with \\x93NUMPY)");
  EXPECT_EQ(parseError(""), "x.npy: not a .npy file (it does not start with \\x93NUMPY)");
  std::string v4 = npy(ok, two);
  v4[6] = 4;
  EXPECT_EQ(parseError(v4), "x.npy: .npy format version 4.0 is not supported (1.0, 2.0 and 3.0 are)");
  EXPECT_EQ(parseError(std::string("\x93NUMPY\x01\x00\x10", 9)),
            "x.npy: truncated: the file ends inside the .npy preamble (9 bytes)");
  // A header length beyond the file, and a huge one.
  EXPECT_EQ(parseError(npy(ok, two).substr(0, 40)),
            "x.npy: truncated: the .npy header announces 118 bytes, the file ends after 30");
  std::string huge = npy(ok, two, 2);
  huge[11] = '\x7f';
  EXPECT_NE(parseError(huge).find("x.npy: the .npy header announces"), std::string::npos);
  // Data too short, too long.
  EXPECT_EQ(parseError(npy(ok, floats({1}))),
            "x.npy: truncated: shape [2] of '<f4' needs 8 bytes of data after the "
            "128-byte header, the file has 4");
  EXPECT_EQ(parseError(npy(ok, floats({1, 2, 3}))),
            "x.npy: shape [2] of '<f4' needs 8 bytes of data after the 128-byte header, "
            "the file has 12 (one .npy file holds one array)");
  // dtypes.
  EXPECT_EQ(parseError(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                           std::string(8, '\0'))),
            "x.npy: dtype '<i8' is not supported: expected float32 ('<f4'; float64 and "
            "float16 are converted)");
  EXPECT_EQ(parseError(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", two)),
            "x.npy: big-endian dtype '>f4' is not supported; save the array with "
            ".astype('<f4')");
  EXPECT_EQ(parseError(npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                           std::string(8, '\0'))),
            "x.npy: dtype '|O' is not supported: expected float32 ('<f4'; float64 and "
            "float16 are converted)");
  EXPECT_EQ(parseError(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                           floats({1}))),
            "x.npy: malformed header at byte 20: structured dtypes (a list as 'descr') are "
            "not supported");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", two)),
            "x.npy: Fortran-ordered arrays are not supported; save np.ascontiguousarray(array)");
  // Hostile or malformed headers.
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", two)),
            "x.npy: malformed header at byte 61: expected a non-negative integer in 'shape'");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (99999999999999999999,), }")),
            "x.npy: malformed header at byte 78: a dimension of 'shape' is too large");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (4294967296, 4294967296, 4294967296), }")),
            "x.npy: shape [4294967296, 4294967296, 4294967296] holds too many elements");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                           "'shape': (2,), }", two)),
            "x.npy: malformed header at byte 75: the key 'shape' appears twice");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'shape': (2,), }", two)),
            "x.npy: malformed header at byte 64: the header lacks 'fortran_order'");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                           "'evil': __import__('os'), }", two)),
            "x.npy: malformed header at byte 74: unknown key 'evil' (a .npy header has "
            "'descr', 'fortran_order' and 'shape')");
  EXPECT_EQ(parseError(npy("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", two)),
            "x.npy: malformed header at byte 27: expected ',' or '}' after the value of "
            "'descr'");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", two)),
            "x.npy: malformed header at byte 128: expected ',' or '}' after the value of "
            "'shape'");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", two)),
            "x.npy: malformed header at byte 66: unexpected text after the header dict");
  EXPECT_EQ(parseError(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", two)),
            "x.npy: malformed header at byte 44: expected True or False as 'fortran_order'");
  std::string nul = npy(ok, two);
  nul[20] = '\0';
  EXPECT_NE(parseError(nul).find("x.npy: malformed header at byte 20"), std::string::npos);
  // Every prefix of a good file is refused with a message.
  std::string good = npy(ok, two);
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(parseError(good.substr(0, n)).empty()) << n << " bytes";
}

} // namespace
