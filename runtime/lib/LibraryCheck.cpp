//===- LibraryCheck.cpp - completeness check of a bundle's kernels.so -----===//
//
// Part of libdlart. dlopen maps the segments of a shared library straight
// from the file: a kernels.so cut short (a failed copy, a full disk) passes
// glibc's header checks and then raises SIGBUS when the loader touches a
// page beyond the end of the file. This check reads the ELF headers first
// and reports such a file as truncated, so the error is a message, never a
// signal. Anything that is not a 64-bit little-endian ELF file is left to
// dlopen, whose messages ("invalid ELF header", "file too short") are clear.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlart {

namespace {

template <typename T> T readLE(const unsigned char *b) {
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

bool readAt(int fd, uint64_t offset, void *out, size_t n) {
  auto *p = static_cast<char *>(out);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got <= 0)
      return false;
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

bool checkHostLibrary(const std::string &path, std::string &err) {
  const std::string prefix = path + ": cannot load the kernel library: ";
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    err = prefix + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0) {
    err = prefix + std::strerror(errno);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  unsigned char h[64];
  if (size < sizeof(h) || !readAt(f.fd, 0, h, sizeof(h)) ||
      std::memcmp(h, "\x7f" "ELF", 4) != 0 || h[4] != 2 /* ELFCLASS64 */ ||
      h[5] != 1 /* little-endian */)
    return true; // Not ours to judge: dlopen explains it.
  const char *again = "; the file is corrupt: compile the bundle again";
  uint64_t phoff = readLE<uint64_t>(h + 32), shoff = readLE<uint64_t>(h + 40);
  uint64_t phentsize = readLE<uint16_t>(h + 54), phnum = readLE<uint16_t>(h + 56);
  uint64_t shentsize = readLE<uint16_t>(h + 58), shnum = readLE<uint16_t>(h + 60);
  // 16-bit counts times 16-bit sizes cannot overflow; the offsets are
  // compared before they are added to.
  if (phoff > size || phentsize * phnum > size - phoff ||
      shoff > size || shentsize * shnum > size - shoff) {
    err = prefix + "truncated: its ELF headers end at byte " +
          std::to_string(std::max(phoff + phentsize * phnum,
                                  shoff + shentsize * shnum)) +
          " but the file has " + std::to_string(size) + " bytes" + again;
    return false;
  }
  if (phentsize < 56) // Elf64_Phdr
    return true;      // dlopen rejects it.
  for (uint64_t i = 0; i < phnum; ++i) {
    unsigned char ph[56];
    if (!readAt(f.fd, phoff + i * phentsize, ph, sizeof(ph))) {
      err = prefix + "cannot read its ELF program headers: " +
            std::strerror(errno);
      return false;
    }
    if (readLE<uint32_t>(ph) != 1) // PT_LOAD: the segments dlopen maps.
      continue;
    uint64_t offset = readLE<uint64_t>(ph + 8), filesz = readLE<uint64_t>(ph + 32);
    if (offset > size || filesz > size - offset) {
      err = prefix + "truncated: its ELF segment " + std::to_string(i) +
            " ends at byte " +
            (offset > UINT64_MAX - filesz ? std::string("2^64 or beyond")
                                          : std::to_string(offset + filesz)) +
            " but the file has " + std::to_string(size) + " bytes" + again;
      return false;
    }
  }
  return true;
}

} // namespace dlart
