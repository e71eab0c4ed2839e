//===- Npy.cpp - NumPy .npy reader and writer -----------------------------===//
//
// Part of libdlart, the dlac runtime (dlart/Npy.h). The header parser is a
// small recursive-descent reader of the one dict literal numpy writes; it
// never reads past the header and refuses anything else.
//
//===----------------------------------------------------------------------===//

#include "dlart/Npy.h"
#include "SafetensorsUtil.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlart {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kMaxHeader = 1 << 20; // numpy itself refuses > 10000 bytes

/// Reads the header dict; `pos` is the offset in the file, for messages.
class HeaderParser {
public:
  HeaderParser(const std::string &text, size_t base) : s_(text), base_(base) {}

  bool parse(NpyArray &out, bool &fortran, std::string &err) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skip();
    if (!expect('{', "'{' opening the header dict", err))
      return false;
    for (;;) {
      skip();
      if (peek() == '}') {
        ++i_;
        break;
      }
      std::string key;
      if (!string(key, "a quoted key", err))
        return false;
      skip();
      if (!expect(':', "':' after the key", err))
        return false;
      skip();
      if (key == "descr") {
        if (haveDescr)
          return fail("the key 'descr' appears twice", err);
        haveDescr = true;
        if (peek() == '[')
          return fail("structured dtypes (a list as 'descr') are not supported", err);
        if (!string(out.descr, "a quoted dtype as 'descr'", err))
          return false;
      } else if (key == "fortran_order") {
        if (haveOrder)
          return fail("the key 'fortran_order' appears twice", err);
        haveOrder = true;
        if (word("True"))
          fortran = true;
        else if (word("False"))
          fortran = false;
        else
          return fail("expected True or False as 'fortran_order'", err);
      } else if (key == "shape") {
        if (haveShape)
          return fail("the key 'shape' appears twice", err);
        haveShape = true;
        if (!tuple(out.shape, err))
          return false;
      } else {
        return fail("unknown key '" + printable(key) +
                        "' (a .npy header has 'descr', 'fortran_order' and 'shape')",
                    err);
      }
      skip();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip();
      if (peek() == '}') {
        ++i_;
        break;
      }
      return fail("expected ',' or '}' after the value of '" + key + "'", err);
    }
    // Padding: spaces, then the newline that ends the header.
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\x0c'))
      ++i_;
    if (i_ < s_.size() && s_[i_] == '\n')
      ++i_;
    if (i_ != s_.size())
      return fail("unexpected text after the header dict", err);
    if (!haveDescr || !haveOrder || !haveShape)
      return fail(std::string("the header lacks '") +
                      (!haveDescr ? "descr" : !haveOrder ? "fortran_order" : "shape") + "'",
                  err);
    return true;
  }

private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n'))
      ++i_;
  }
  bool fail(const std::string &what, std::string &err) const {
    err = "malformed header at byte " + std::to_string(base_ + i_) + ": " + what;
    return false;
  }
  bool expect(char c, const char *what, std::string &err) {
    if (peek() != c)
      return fail(std::string("expected ") + what, err);
    ++i_;
    return true;
  }
  bool word(const char *w) {
    size_t n = std::strlen(w);
    if (s_.compare(i_, n, w) != 0)
      return false;
    i_ += n;
    return true;
  }
  static std::string printable(const std::string &s) {
    std::string out;
    for (unsigned char c : s.substr(0, 40))
      out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
    return s.size() > 40 ? out + "..." : out;
  }
  // 'text' or "text", without escapes (numpy writes none in these values).
  bool string(std::string &out, const char *what, std::string &err) {
    char q = peek();
    if (q != '\'' && q != '"')
      return fail(std::string("expected ") + what, err);
    size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos)
      return fail("unterminated string", err);
    out = s_.substr(i_ + 1, end - i_ - 1);
    if (out.find('\\') != std::string::npos)
      return fail("escapes in strings are not supported", err);
    i_ = end + 1;
    return true;
  }
  // (d0, d1, ...) of non-negative integers; (), (n,) too.
  bool tuple(std::vector<int64_t> &shape, std::string &err) {
    if (!expect('(', "a tuple '(...)' as 'shape'", err))
      return false;
    shape.clear();
    for (;;) {
      skip();
      if (peek() == ')') {
        ++i_;
        return true;
      }
      if (peek() < '0' || peek() > '9')
        return fail("expected a non-negative integer in 'shape'", err);
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        v = v * 10 + uint64_t(peek() - '0');
        if (v > uint64_t(INT64_MAX) / 16)
          return fail("a dimension of 'shape' is too large", err);
        ++i_;
      }
      if (shape.size() >= 32)
        return fail("'shape' has more than 32 dimensions", err);
      shape.push_back(int64_t(v));
      skip();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() != ')')
        return fail("expected ',' or ')' in 'shape'", err);
    }
  }

  const std::string &s_;
  size_t base_;
  size_t i_ = 0;
};

/// The fixed part: magic, version, header length, from the first `size`
/// bytes of the file (12, or all of it if shorter).
bool parsePreamble(const std::string &name, const uint8_t *p, size_t size,
                   size_t &headerStart, size_t &headerLen, std::string &err) {
  if (size < kMagicSize + 2 || std::memcmp(p, kMagic, kMagicSize) != 0) {
    err = name + ": not a .npy file (it does not start with \\x93NUMPY)";
    return false;
  }
  unsigned major = p[6], minor = p[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    err = name + ": .npy format version " + std::to_string(major) + "." +
          std::to_string(minor) + " is not supported (1.0, 2.0 and 3.0 are)";
    return false;
  }
  size_t lenBytes = major == 1 ? 2 : 4;
  if (size < 8 + lenBytes) {
    err = name + ": truncated: the file ends inside the .npy preamble (" +
          std::to_string(size) + " bytes)";
    return false;
  }
  headerLen = 0;
  for (size_t k = 0; k < lenBytes; ++k)
    headerLen |= size_t(p[8 + k]) << (8 * k);
  headerStart = 8 + lenBytes;
  if (headerLen > kMaxHeader) {
    err = name + ": the .npy header announces " + std::to_string(headerLen) +
          " bytes (more than the 1 MiB accepted)";
    return false;
  }
  return true;
}

/// The dtype and byte order of `a.descr`; with the header's other fields
/// checked, the data size.
bool checkHeader(const std::string &name, NpyArray &a, bool fortran,
                 size_t &dataBytes, std::string &err) {
  const std::string &d = a.descr;
  bool little = !d.empty() && (d[0] == '<' || d[0] == '=' || d[0] == '|');
  std::string kind = d.empty() ? d : d.substr(1);
  if (!d.empty() && d[0] == '>' && (kind == "f4" || kind == "f8" || kind == "f2")) {
    err = name + ": big-endian dtype '" + d + "' is not supported; save the "
                 "array with .astype('<" + kind + "')";
    return false;
  }
  if (little && kind == "f4")
    a.dtype = DType::F32;
  else if (little && kind == "f8")
    a.dtype = DType::F64;
  else if (little && kind == "f2")
    a.dtype = DType::F16;
  else {
    std::string shown;
    for (unsigned char c : d.substr(0, 40))
      shown += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
    err = name + ": dtype '" + shown + "' is not supported: expected float32 "
                 "('<f4'; float64 and float16 are converted)";
    return false;
  }
  if (fortran) {
    err = name + ": Fortran-ordered arrays are not supported; save "
                 "np.ascontiguousarray(array)";
    return false;
  }
  uint64_t count = 0;
  if (!countElements(a.shape, count) || !countBytes(count, a.dtype, dataBytes)) {
    err = name + ": shape " + formatShape(a.shape) + " holds too many elements";
    return false;
  }
  return true;
}

/// Parses the preamble and the header at `p` (`size` bytes: at least the
/// header, or the whole file if shorter) of a file of `fileSize` bytes;
/// checks that the data is as long as the shape says.
bool parseHeader(const std::string &name, const uint8_t *p, size_t size,
                 size_t fileSize, NpyArray &out, size_t &dataStart,
                 std::string &err) {
  size_t start = 0, len = 0;
  if (!parsePreamble(name, p, size, start, len, err))
    return false;
  if (fileSize < start + len || size < start + len) {
    err = name + ": truncated: the .npy header announces " + std::to_string(len) +
          " bytes, the file ends after " + std::to_string(fileSize - start);
    return false;
  }
  std::string text(reinterpret_cast<const char *>(p + start), len);
  bool fortran = false;
  NpyArray a;
  HeaderParser parser(text, start);
  if (!parser.parse(a, fortran, err)) {
    err = name + ": " + err;
    return false;
  }
  size_t dataBytes = 0;
  if (!checkHeader(name, a, fortran, dataBytes, err))
    return false;
  dataStart = start + len;
  size_t have = fileSize - dataStart;
  if (have != dataBytes) {
    err = name + ": " + (have < dataBytes ? "truncated: " : "") + "shape " +
          formatShape(a.shape) + " of '" + a.descr + "' needs " +
          std::to_string(dataBytes) + " bytes of data after the " +
          std::to_string(dataStart) + "-byte header, the file has " +
          std::to_string(have) +
          (have < dataBytes ? "" : " (one .npy file holds one array)");
    return false;
  }
  out = std::move(a);
  return true;
}

} // namespace

bool parseNpy(const std::string &name, const uint8_t *bytes, size_t size,
              NpyArray &out, std::string &err) {
  try {
    size_t dataStart = 0;
    if (!parseHeader(name, bytes, size, size, out, dataStart, err))
      return false;
    out.data.assign(bytes + dataStart, bytes + size);
    return true;
  } catch (const std::bad_alloc &) {
    err = name + ": out of memory";
    return false;
  }
}

bool readNpy(const std::string &path, NpyArray &out, std::string &err) {
  try {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      err = path + ": cannot open: " + std::strerror(errno);
      return false;
    }
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      err = path + ": not a regular file";
      return false;
    }
    size_t size = static_cast<size_t>(st.st_size);
    auto readAt = [&](uint8_t *dst, size_t n, size_t at) {
      size_t done = 0;
      while (done < n) {
        ssize_t r = ::pread(fd, dst + done, n - done, off_t(at + done));
        if (r < 0 && errno == EINTR)
          continue;
        if (r <= 0)
          return false;
        done += size_t(r);
      }
      return true;
    };
    // The header first, checked against the file's size before the data it
    // announces is read.
    std::vector<uint8_t> head(std::min<size_t>(size, 12));
    size_t start = 0, len = 0;
    if (!readAt(head.data(), head.size(), 0)) {
      err = path + ": read error";
      return false;
    }
    if (!parsePreamble(path, head.data(), head.size(), start, len, err))
      return false;
    head.resize(std::min(size, start + len));
    if (!readAt(head.data(), head.size(), 0)) {
      err = path + ": read error";
      return false;
    }
    NpyArray a;
    size_t dataStart = 0;
    if (!parseHeader(path, head.data(), head.size(), size, a, dataStart, err))
      return false;
    a.data.resize(size - dataStart);
    if (!readAt(a.data.data(), a.data.size(), dataStart)) {
      err = path + ": read error";
      return false;
    }
    out = std::move(a);
    return true;
  } catch (const std::bad_alloc &) {
    err = path + ": out of memory";
    return false;
  }
}

void npyToF32(const NpyArray &a, std::vector<float> &out) {
  size_t n = a.data.size() / dtypeSize(a.dtype);
  out.resize(n);
  const uint8_t *p = a.data.data();
  for (size_t i = 0; i < n; ++i) {
    switch (a.dtype) {
    case DType::F64: {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = static_cast<float>(v);
      break;
    }
    case DType::F16: {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      out[i] = halfToFloat(v);
      break;
    }
    default:
      std::memcpy(&out[i], p + 4 * i, 4);
    }
  }
}

bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const float *data, std::string &err) {
  // numpy's spelling: (1, 3, 32, 32), (3,), ().
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i)
    dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1)
    dims += ",";
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic + version + length + header + '\n', padded to 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  uint64_t count = 1;
  for (int64_t d : shape)
    count *= uint64_t(d);
  std::string bytes(kMagic, kMagicSize);
  bytes += '\x01';
  bytes += '\x00';
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = path + ": cannot create temporary file '" + tmp + "': " + std::strerror(errno);
    return false;
  }
  auto writeAll = [&](const void *src, size_t n) {
    const char *q = static_cast<const char *>(src);
    while (n) {
      ssize_t w = ::write(fd, q, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return false;
      q += w;
      n -= size_t(w);
    }
    return true;
  };
  bool ok = writeAll(bytes.data(), bytes.size()) && writeAll(data, count * 4) &&
            ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = path + ": cannot write: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

} // namespace dlart
