//===- CudaBinaryCheck.cpp - completeness check of a cubin or fatbin ------===//
//
// Part of libdlart. checkCudaBinary (Backend.h) reads the headers of the
// bundle's kernels.cubin (an ELF file for EM_CUDA) or kernels.fatbin, without
// a driver, so that a file cut short gets a clear message on any machine
// rather than an error of cuModuleLoadData.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace dlart {

//===----------------------------------------------------------------------===//
// Binary sanity checks (no driver needed)
//===----------------------------------------------------------------------===//

namespace {

template <typename T> T readLE(const std::vector<char> &b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

constexpr uint16_t kEMCuda = 190;            // ELF e_machine of a cubin
constexpr uint32_t kFatbinMagic = 0xBA55ED50u; // fatbin file header

} // namespace

bool checkCudaBinary(const std::string &path, const std::vector<char> &b,
                     std::string &err) {
  uint64_t size = b.size();
  if (size >= 4 && std::memcmp(b.data(), "\x7f" "ELF", 4) == 0) {
    if (size < 64) {
      err = path + ": truncated: " + std::to_string(size) +
            " bytes is shorter than an ELF header (64 bytes)";
      return false;
    }
    if (b[4] != 2 || readLE<uint16_t>(b, 18) != kEMCuda) {
      err = path + ": an ELF file but not a cubin (expected a 64-bit ELF for "
                   "machine EM_CUDA)";
      return false;
    }
    // The section header table comes last in a cubin; any cut shows here.
    uint64_t shoff = readLE<uint64_t>(b, 40);
    uint64_t shentsize = readLE<uint16_t>(b, 58), shnum = readLE<uint16_t>(b, 60);
    uint64_t phoff = readLE<uint64_t>(b, 32);
    uint64_t phentsize = readLE<uint16_t>(b, 54), phnum = readLE<uint16_t>(b, 56);
    uint64_t shEnd = shoff + shentsize * shnum, phEnd = phoff + phentsize * phnum;
    if (shoff > size || shEnd > size || phoff > size || phEnd > size) {
      err = path + ": truncated: its ELF headers end at byte " +
            std::to_string(std::max(shEnd, phEnd)) + " but the file has " +
            std::to_string(size) + " bytes";
      return false;
    }
    for (uint64_t i = 0; i < shnum && shentsize >= 40; ++i) {
      uint64_t h = shoff + i * shentsize;
      uint32_t type = readLE<uint32_t>(b, h + 4);
      uint64_t off = readLE<uint64_t>(b, h + 24), len = readLE<uint64_t>(b, h + 32);
      if (type != 8 /* SHT_NOBITS */ && (off > size || len > size - off)) {
        err = path + ": truncated: ELF section " + std::to_string(i) +
              " ends at byte " + std::to_string(off + len) +
              " but the file has " + std::to_string(size) + " bytes";
        return false;
      }
    }
    return true;
  }
  if (size >= 4 && readLE<uint32_t>(b, 0) == kFatbinMagic) {
    // struct { u32 magic; u16 version; u16 headerSize; u64 fatSize; }
    if (size < 16) {
      err = path + ": truncated: " + std::to_string(size) +
            " bytes is shorter than a fatbin header (16 bytes)";
      return false;
    }
    uint64_t end = uint64_t(readLE<uint16_t>(b, 6)) + readLE<uint64_t>(b, 8);
    if (end > size) {
      err = path + ": truncated: the fatbin header announces " +
            std::to_string(end) + " bytes but the file has " +
            std::to_string(size);
      return false;
    }
    return true;
  }
  err = path + ": not a CUDA binary (expected a cubin, i.e. an ELF file, or "
               "a fatbin)";
  return false;
}

} // namespace dlart
