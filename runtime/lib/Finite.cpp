//===- Finite.cpp - NaN/Inf scans of weights, inputs and outputs ----------===//
//
// Part of libdlart. A NaN or an infinity in a weight or an input reaches
// every output it feeds without any error on the way, so libdlart refuses
// such weights (dlart_load_weights, unless dlart_set_allow_nonfinite) and
// dla-run refuses such inputs and warns about such outputs. One pass over
// the data, no allocation.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"

#include <cmath>
#include <cstdio>

namespace dlart {

size_t countNonFinite(const float *data, size_t n, size_t &first) {
  size_t bad = 0;
  first = 0;
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i]) && bad++ == 0)
      first = i;
  return bad;
}

std::string formatIndex(uint64_t i, const std::vector<int64_t> &shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    uint64_t dim = shape[d] > 0 ? static_cast<uint64_t>(shape[d]) : 1;
    index[d] = static_cast<int64_t>(i % dim);
    i /= dim;
  }
  return formatShape(index);
}

bool checkFinite(const std::string &file, const std::string &tensor,
                 const std::vector<int64_t> &shape, const float *data,
                 size_t n, std::string &err) {
  size_t first = 0;
  size_t bad = countNonFinite(data, n, first);
  if (!bad)
    return true;
  float v = data[first];
  err = (file.empty() ? "" : file + ": ") + "tensor '" + tensor + "' holds " +
        (std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf") + " at element " +
        std::to_string(first) + " (index " + formatIndex(first, shape) + ")" +
        (bad > 1 ? "; " + std::to_string(bad) + " of its " + std::to_string(n) +
                       " values are NaN or Inf"
                 : "");
  return false;
}

bool checkVariance(const std::string &file, const std::string &tensor,
                   const std::vector<int64_t> &shape, const float *data,
                   size_t n, std::string &err) {
  const std::string suffix = ".running_var";
  if (tensor.size() < suffix.size() ||
      tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) != 0)
    return true;
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < n; ++i)
    if (data[i] < 0 && bad++ == 0)
      first = i;
  if (!bad)
    return true;
  char value[32];
  std::snprintf(value, sizeof value, "%g", static_cast<double>(data[first]));
  err = (file.empty() ? "" : file + ": ") + "tensor '" + tensor +
        "' holds a negative variance, " + value + " at element " +
        std::to_string(first) + " (index " + formatIndex(first, shape) + ")" +
        (bad > 1 ? " and " + std::to_string(bad - 1) + " more" : "") +
        ": BatchNorm folding takes sqrt(running_var + eps), which would be NaN";
  return false;
}

} // namespace dlart
