//===- Safetensors.cpp - safetensors reader -------------------------------===//
//
// Part of libdlart, the dlac runtime. Plain C++17 + POSIX: no LLVM, no CUDA.
//
// SafetensorsFile: a file mapped (or copied) and its header validated, every
// tensor inside the data section and no two overlapping. The writer is
// SafetensorsWriter.cpp, the dtypes DType.cpp and checkParameters
// ParameterCheck.cpp.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"
#include "SafetensorsUtil.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The format is little-endian and we reinterpret mapped bytes directly.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "libdlart assumes a little-endian host");

namespace dlart {

using nlohmann::json;

namespace {

// A header larger than this is almost surely garbage (DLA-34 has ~400 tensors
// and a header of ~40 KiB); refusing it avoids parsing gigabytes of JSON.
constexpr uint64_t kMaxHeaderSize = 100ull << 20;

// A valid header nests 4 levels deep ({"t": {"shape": [..]}}); far deeper
// input is hostile, and nlohmann's dump() (used in messages) recurses once per
// level, so 100 MiB of '[' would overflow the stack.
constexpr int kMaxHeaderDepth = 64;

// How much of an offending JSON value a message quotes.
constexpr size_t kMaxQuoted = 200;

bool readU64(const json &value, uint64_t &out) {
  if (value.is_number_unsigned()) {
    out = value.get<uint64_t>();
    return true;
  }
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(value.get<int64_t>());
    return true;
  }
  return false;
}

// `value` as JSON for a message, shortened to kMaxQuoted bytes.
std::string brief(const json &value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxQuoted) {
    size_t cut = kMaxQuoted - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut; // Do not split a UTF-8 sequence.
    text = text.substr(0, cut) + "...";
  }
  return text;
}

// Validates one tensor entry of the header and fills `info` (except `data`).
// `dataSize` is the size of the data section; `begin` receives the offset.
bool parseTensor(const std::string &name, const json &entry, size_t dataSize,
                 TensorInfo &info, uint64_t &begin, std::string &err) {
  std::string where = "tensor " + quote(name) + ": ";
  if (!entry.is_object()) {
    err = where + "expected an object with dtype, shape and data_offsets, "
                  "got " + entry.type_name();
    return false;
  }
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" &&
        it.key() != "data_offsets") {
      err = where + "unexpected field " + quote(it.key());
      return false;
    }
  }
  for (const char *field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) {
      err = where + "missing field '" + field + "'";
      return false;
    }
  }

  const json &dtype = entry["dtype"];
  if (!dtype.is_string()) {
    err = where + "dtype must be a string, got " + brief(dtype);
    return false;
  }
  if (!parseDType(dtype.get<std::string>(), info.dtype)) {
    err = where + "unknown dtype " + quote(dtype.get<std::string>());
    return false;
  }

  const json &shape = entry["shape"];
  bool allIntegers = shape.is_array();
  if (allIntegers)
    for (const json &d : shape)
      allIntegers = allIntegers && d.is_number_integer() &&
                    (!d.is_number_unsigned() ||
                     d.get<uint64_t>() <=
                         uint64_t(std::numeric_limits<int64_t>::max()));
  if (!allIntegers) {
    err = where + "shape must be an array of integers, got " + brief(shape);
    return false;
  }
  info.shape.clear();
  for (const json &d : shape)
    info.shape.push_back(d.get<int64_t>());
  for (int64_t d : info.shape) {
    if (d < 0) {
      err = where + "shape " + formatShape(info.shape) +
            " has a negative dimension";
      return false;
    }
  }
  size_t needed = 0;
  if (!countElements(info.shape, info.numElements) ||
      !countBytes(info.numElements, info.dtype, needed)) {
    err = where + "shape " + formatShape(info.shape) + " has too many elements";
    return false;
  }

  const json &offsets = entry["data_offsets"];
  uint64_t end = 0;
  if (!offsets.is_array() || offsets.size() != 2 ||
      !readU64(offsets[0], begin) || !readU64(offsets[1], end)) {
    err = where + "data_offsets must be [begin, end] with non-negative "
                  "integers, got " + brief(offsets);
    return false;
  }
  std::string offsetsText =
      "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
  if (begin > end) {
    err = where + offsetsText + " begin after end";
    return false;
  }
  if (end > dataSize) {
    err = where + offsetsText + " end beyond the " + std::to_string(dataSize) +
          " bytes of data";
    return false;
  }
  if (end - begin != needed) {
    err = where + "shape " + formatShape(info.shape) + " needs " +
          std::to_string(needed) + " bytes of " + dtypeName(info.dtype) +
          " but data_offsets span " + std::to_string(end - begin);
    return false;
  }
  info.byteSize = needed;
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

SafetensorsFile::~SafetensorsFile() {
  if (map_)
    ::munmap(map_, mapSize_);
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &err) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  const std::string prefix = path + ": ";

  // O_NONBLOCK: a FIFO or device given as a checkpoint must not block in
  // open() waiting for a writer; it is refused as not a regular file below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    err = prefix + "cannot open: " + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    err = prefix + "cannot stat: " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  if (!S_ISREG(st.st_mode)) {
    err = prefix + "not a regular file";
    ::close(fd);
    return nullptr;
  }
  size_t fileSize = static_cast<size_t>(st.st_size);
  // Checked before mmap, which rejects a zero length.
  if (fileSize == 0) {
    err = prefix + "file is empty (expected an 8-byte header length)";
    ::close(fd);
    return nullptr;
  }
  if (fileSize < 8) {
    err = prefix + "file is " + std::to_string(fileSize) +
          " bytes, too short for the 8-byte header length";
    ::close(fd);
    return nullptr;
  }
  void *map = ::mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
  int mapErrno = errno;
  ::close(fd); // The mapping keeps the file alive.
  if (map == MAP_FAILED) {
    err = prefix + "cannot mmap: " + std::strerror(mapErrno);
    return nullptr;
  }
  file->map_ = map;
  file->mapSize_ = fileSize;
  if (!file->parse(static_cast<const uint8_t *>(map), fileSize, err))
    return nullptr;
  return file;
}

std::unique_ptr<SafetensorsFile>
SafetensorsFile::openMemory(const std::string &name, const void *data,
                            size_t size, std::string &err) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = name;
  const std::string prefix = name + ": ";
  if (size == 0) {
    err = prefix + "file is empty (expected an 8-byte header length)";
    return nullptr;
  }
  if (size < 8) {
    err = prefix + "file is " + std::to_string(size) +
          " bytes, too short for the 8-byte header length";
    return nullptr;
  }
  // An exact-size heap copy: tensors point into it, and sanitizers see any
  // read past its end.
  file->owned_.reset(new uint8_t[size]);
  std::memcpy(file->owned_.get(), data, size);
  if (!file->parse(file->owned_.get(), size, err))
    return nullptr;
  return file;
}

bool SafetensorsFile::parse(const uint8_t *bytes, size_t fileSize,
                            std::string &err) {
  SafetensorsFile *file = this;
  const std::string prefix = path_ + ": ";
  // The files users most often give instead: PyTorch's own checkpoints.
  if (std::memcmp(bytes, "PK\x03\x04", 4) == 0) {
    err = prefix + "not a safetensors file: a zip archive, as torch.save writes "
                   "(.pth/.pt); convert it with scripts/pth2safetensors.py";
    return false;
  }
  if (bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    err = prefix + "not a safetensors file: a Python pickle (torch.save's legacy "
                   "format, .pth/.pt); convert it with scripts/pth2safetensors.py";
    return false;
  }
  uint64_t headerSize;
  std::memcpy(&headerSize, bytes, 8);
  if (headerSize > fileSize - 8) {
    err = prefix + "header length " + std::to_string(headerSize) +
          " exceeds the " + std::to_string(fileSize - 8) +
          " bytes after the length field (file size " +
          std::to_string(fileSize) + ")";
    return false;
  }
  if (headerSize > kMaxHeaderSize) {
    err = prefix + "header length " + std::to_string(headerSize) +
          " exceeds the limit of " + std::to_string(kMaxHeaderSize) + " bytes";
    return false;
  }
  const char *headerBegin = reinterpret_cast<const char *>(bytes + 8);
  const uint8_t *data = bytes + 8 + headerSize;
  size_t dataSize = fileSize - 8 - static_cast<size_t>(headerSize);

  // nlohmann keeps the last of duplicate keys silently; a callback spots them
  // so that a file cannot carry two different definitions of one tensor.
  std::vector<std::set<std::string>> openObjects;
  std::string duplicate;
  bool tooDeep = false;
  auto callback = [&](int depth, json::parse_event_t event, json &parsed) {
    if ((event == json::parse_event_t::object_start ||
         event == json::parse_event_t::array_start) &&
        depth >= kMaxHeaderDepth) {
      tooDeep = true;
      return false; // Discard it: nothing this deep reaches the DOM.
    }
    if (event == json::parse_event_t::object_start) {
      openObjects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      openObjects.pop_back();
    } else if (event == json::parse_event_t::key && !openObjects.empty()) {
      const std::string &key = parsed.get_ref<const std::string &>();
      if (!openObjects.back().insert(key).second && duplicate.empty())
        duplicate = key;
    }
    return true;
  };
  if (headerSize == 0) {
    err = prefix + "header is empty (expected a JSON object)";
    return false;
  }
  json header;
  try {
    header = json::parse(headerBegin, headerBegin + headerSize, callback);
  } catch (const json::parse_error &e) {
    err = prefix + "header is not valid JSON: syntax error at byte " +
          std::to_string(e.byte) + " of the header";
    return false;
  } catch (const std::exception &e) {
    err = prefix + "header is not valid JSON: " + e.what();
    return false;
  }
  if (tooDeep) {
    err = prefix + "header nests deeper than " +
          std::to_string(kMaxHeaderDepth) + " levels";
    return false;
  }
  if (!header.is_object()) {
    err = prefix + "header is not a JSON object (got " +
          std::string(header.type_name()) + ")";
    return false;
  }
  if (!duplicate.empty()) {
    err = prefix + "header has duplicate key " + quote(duplicate);
    return false;
  }

  // Offsets of every tensor, for the overlap check.
  struct Span {
    uint64_t begin, end;
    size_t index; // Into tensors_ (an index: the vector still grows).
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) {
        err = prefix + "__metadata__ must be an object of strings, got " +
              it->type_name();
        return false;
      }
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          err = prefix + "__metadata__ must be an object of strings, but " +
                quote(m.key()) + " is " + m->type_name();
          return false;
        }
        file->metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    TensorInfo info;
    info.name = name;
    uint64_t begin = 0;
    std::string tensorErr;
    if (!parseTensor(name, *it, dataSize, info, begin, tensorErr)) {
      err = prefix + tensorErr;
      return false;
    }
    info.data = data + begin;
    file->tensors_.push_back(std::move(info));
    if (file->tensors_.back().byteSize != 0)
      spans.push_back(Span{begin, begin + file->tensors_.back().byteSize,
                           file->tensors_.size() - 1});
  }
  // Sorted by offset, a tensor overlaps an earlier one iff it starts before
  // the furthest end seen so far. Indices follow name order, so ties between
  // equal offsets give stable messages.
  std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.index < b.index;
  });
  const Span *furthest = nullptr;
  for (const Span &s : spans) {
    if (furthest && s.begin < furthest->end) {
      err = prefix + "tensors " + quote(file->tensors_[furthest->index].name) +
            " and " + quote(file->tensors_[s.index].name) + " overlap";
      return false;
    }
    if (!furthest || s.end > furthest->end)
      furthest = &s;
  }
  // nlohmann iterates objects in key order, so tensors_ is already sorted.
  return true;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const TensorInfo &t : tensors_)
    out.push_back(t.name);
  return out;
}

const TensorInfo *SafetensorsFile::find(const std::string &name) const {
  auto it = std::lower_bound(
      tensors_.begin(), tensors_.end(), name,
      [](const TensorInfo &t, const std::string &n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

bool SafetensorsFile::readAsF32(const std::string &name,
                                std::vector<float> &out,
                                std::string &err) const {
  const TensorInfo *t = find(name);
  if (!t) {
    err = path_ + ": no tensor named " + quote(name);
    return false;
  }
  if (!isFloatDType(t->dtype)) {
    err = path_ + ": tensor " + quote(name) + " has dtype " +
          dtypeName(t->dtype) + ", expected a float dtype";
    return false;
  }
  size_t n = static_cast<size_t>(t->numElements);
  out.resize(n);
  // memcpy per element: the mapped data may be unaligned in foreign files.
  switch (t->dtype) {
  case DType::F32:
    if (n)
      std::memcpy(out.data(), t->data, n * 4);
    break;
  case DType::F16:
  case DType::BF16:
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t->data + 2 * i, 2);
      out[i] = t->dtype == DType::F16 ? halfToFloat(h) : bfloat16ToFloat(h);
    }
    break;
  case DType::F64:
    for (size_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, t->data + 8 * i, 8);
      out[i] = static_cast<float>(d);
    }
    break;
  default:
    break; // Excluded by isFloatDType above.
  }
  return true;
}

} // namespace dlart
