//===- SafetensorsWriter.cpp - safetensors writer -------------------------===//
//
// Part of libdlart, the dlac runtime. Plain C++17 + POSIX: no LLVM, no CUDA.
//
// writeSafetensors: the header and the data of the tensors given, written
// to a temporary file that is synced and renamed over the target.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"
#include "SafetensorsUtil.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <unistd.h>

namespace dlart {

using nlohmann::json;

namespace {

// Writes all of `size` bytes, retrying on EINTR and short writes.
bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

bool writeSafetensors(const std::string &path,
                      const std::vector<TensorData> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::string &err) {
  const std::string prefix = path + ": ";

  // Validate everything before touching the file system.
  std::set<std::string> seen;
  for (const TensorData &t : tensors) {
    std::string where = prefix + "tensor " + quote(t.name) + ": ";
    if (t.name == "__metadata__") {
      err = where + "the name is reserved for metadata";
      return false;
    }
    if (!seen.insert(t.name).second) {
      err = where + "given more than once";
      return false;
    }
    for (int64_t d : t.shape) {
      if (d < 0) {
        err = where + "shape " + formatShape(t.shape) +
              " has a negative dimension";
        return false;
      }
    }
    uint64_t count = 0;
    size_t needed = 0;
    if (!countElements(t.shape, count) || !countBytes(count, t.dtype, needed)) {
      err = where + "shape " + formatShape(t.shape) + " has too many elements";
      return false;
    }
    if (needed != t.byteSize) {
      err = where + "shape " + formatShape(t.shape) + " needs " +
            std::to_string(needed) + " bytes of " + dtypeName(t.dtype) +
            " but " + std::to_string(t.byteSize) + " were given";
      return false;
    }
    if (needed != 0 && !t.data) {
      err = where + "data is null";
      return false;
    }
  }

  // Data order: larger elements first, so that every tensor starts at a
  // multiple of its element size (the data section itself is 8-aligned).
  std::vector<const TensorData *> order;
  for (const TensorData &t : tensors)
    order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TensorData *a, const TensorData *b) {
              size_t sa = dtypeSize(a->dtype), sb = dtypeSize(b->dtype);
              return sa != sb ? sa > sb : a->name < b->name;
            });

  std::string headerText;
  try {
    json header = json::object(); // std::map inside: keys come out sorted.
    uint64_t offset = 0;
    for (const TensorData *t : order) {
      header[t->name] = {{"dtype", dtypeName(t->dtype)},
                         {"shape", t->shape},
                         {"data_offsets", {offset, offset + t->byteSize}}};
      offset += t->byteSize;
    }
    if (!metadata.empty())
      header["__metadata__"] = metadata;
    headerText = header.dump();
  } catch (const std::exception &e) {
    // dump() throws on names or metadata that are not valid UTF-8.
    err = prefix + "cannot encode the header: " + e.what();
    return false;
  }
  headerText.append((8 - headerText.size() % 8) % 8, ' ');
  uint64_t headerSize = headerText.size();

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = prefix + "cannot create temporary file " + quote(tmp) + ": " +
          std::strerror(errno);
    return false;
  }
  auto fail = [&](const std::string &what) {
    err = prefix + what + ": " + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  };
  if (!writeAll(fd, &headerSize, 8) ||
      !writeAll(fd, headerText.data(), headerText.size()))
    return fail("cannot write to " + quote(tmp));
  for (const TensorData *t : order)
    if (t->byteSize && !writeAll(fd, t->data, t->byteSize))
      return fail("cannot write to " + quote(tmp));
  // Sync before rename so a crash cannot leave a renamed but empty file.
  if (::fsync(fd) != 0)
    return fail("cannot sync " + quote(tmp));
  int closeResult = ::close(fd);
  fd = -1;
  if (closeResult != 0)
    return fail("cannot close " + quote(tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("cannot rename " + quote(tmp) + " to it");
  return true;
}

} // namespace dlart
