//===- SafetensorsUtil.h - helpers of the safetensors code (internal) -----===//
//
// Shared by the reader (Safetensors.cpp), the writer (SafetensorsWriter.cpp)
// and the parameter check (ParameterCheck.cpp): names quoted in messages and
// element and byte counts checked for overflow.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_LIB_SAFETENSORSUTIL_H
#define DLART_LIB_SAFETENSORSUTIL_H

#include "dlart/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace dlart {

inline std::string quote(const std::string &s) { return "'" + s + "'"; }

// Element count of `shape`, or false on overflow of uint64.
inline bool countElements(const std::vector<int64_t> &shape,
                          uint64_t &count) {
  count = 1;
  for (int64_t d : shape) {
    uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && count > std::numeric_limits<uint64_t>::max() / ud)
      return false;
    count *= ud;
  }
  return true;
}

// Byte size of `count` elements of `dtype`, or false on overflow of size_t.
inline bool countBytes(uint64_t count, DType dtype, size_t &bytes) {
  size_t size = dtypeSize(dtype);
  if (count > std::numeric_limits<size_t>::max() / size)
    return false;
  bytes = static_cast<size_t>(count) * size;
  return true;
}

} // namespace dlart

#endif // DLART_LIB_SAFETENSORSUTIL_H
