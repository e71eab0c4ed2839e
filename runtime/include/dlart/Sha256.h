//===- dlart/Sha256.h - SHA-256 of files, for bundle integrity --*- C++ -*-===//
//
// FIPS 180-4 SHA-256, dependency-free (the runtime links no LLVM and no
// crypto library). dlac records the digest of every file of a bundle in
// manifest.json ("files"), and the runtime compares before it uses one, so
// a mixed or damaged bundle is refused with the file's name instead of
// crashing. The digests are the ones `sha256sum` prints. Built into
// dlart-schema (runtime/schema/Sha256.cpp), which both of them link.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_SHA256_H
#define DLART_SHA256_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace dlart {

class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t size);
  /// The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

private:
  void block(const uint8_t *p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

/// The SHA-256 of the file at `path` as 64 hex digits, and its size; false
/// with `err` ("PATH: ...") when it cannot be read or is not a regular file.
bool sha256File(const std::string &path, std::string &hex, uint64_t &bytes,
                std::string &err);

} // namespace dlart

#endif
