//===- ManifestBuffers.cpp - manifest.json's buffers and tensors ----------===//
//
// Part of the strict reader (ManifestReader.cpp): "buffers" (ids in range
// and unique, kinds, sizes), "memory" (every prepared and activation
// buffer inside the prepared buffer or the arena) and "inputs", "outputs"
// and "parameters" (names unique, shapes of f32 matching the size of the
// buffer each binds, no buffer bound twice).
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/ManifestParser.h"

#include <set>

namespace dlart {

namespace {

bool parseBufferKind(const std::string &s, BufferKind &kind) {
  for (BufferKind k : {BufferKind::Input, BufferKind::Output,
                       BufferKind::Parameter, BufferKind::Prepared,
                       BufferKind::Activation})
    if (s == bufferKindName(k)) {
      kind = k;
      return true;
    }
  return false;
}

} // namespace

bool Parser::parseBuffers(const json &root) {
  const json &bufs = root["buffers"];
  if (!getArray(bufs, "buffers"))
    return false;
  size_t n = bufs.size();
  m_.buffers.assign(n, BufferDesc());
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < n; ++i) {
    std::string where = at("buffers", i);
    const json &b = bufs[i];
    if (!getObject(b, where) ||
        !checkKeys(b, where, {"id", "kind", "bytes", "offset", "dtype"},
                   {"id", "kind", "bytes"}))
      return false;
    uint64_t id = 0;
    if (!getUInt(b["id"], where + ".id", id))
      return false;
    if (id >= n)
      return fail(where + ".id", std::to_string(id) +
                                     " is out of range: the manifest has " +
                                     std::to_string(n) +
                                     " buffers, so ids are 0.." +
                                     std::to_string(n - 1));
    if (seen[id])
      return fail(where + ".id", "buffer id " + std::to_string(id) +
                                     " is used twice");
    seen[id] = true;
    BufferDesc &d = m_.buffers[id];
    std::string kind;
    if (!getString(b["kind"], where + ".kind", kind))
      return false;
    if (!parseBufferKind(kind, d.kind))
      return fail(where + ".kind",
                  "expected one of \"input\", \"output\", \"parameter\", "
                  "\"prepared\", \"activation\", got " + show(b["kind"]));
    if (!getUInt(b["bytes"], where + ".bytes", d.bytes))
      return false;
    if (d.bytes == 0)
      return fail(where + ".bytes", "a buffer cannot be empty");
    bool placed = d.kind == BufferKind::Prepared ||
                  d.kind == BufferKind::Activation;
    if (placed && !b.contains("offset"))
      return fail(where, "missing field 'offset' (required for " + kind +
                             " buffers)");
    if (!placed && b.contains("offset"))
      return fail(where + ".offset",
                  "only prepared and activation buffers have an offset");
    if (placed && !getUInt(b["offset"], where + ".offset", d.offset))
      return false;
    if (b.contains("dtype") && !parseElementType(b["dtype"], where + ".dtype", d.dtype))
      return false;
    if (d.dtype == ElementType::TF32)
      return fail(where + ".dtype", "tf32 values are stored as \"f32\", got \"tf32\"");
    if (d.bytes % elementTypeSize(d.dtype))
      return fail(where + ".bytes", std::to_string(d.bytes) + " is not a whole number of " +
                                        elementTypeName(d.dtype) + " elements");
  }
  return true;
}

bool Parser::parseElementType(const json &v, const std::string &where, ElementType &out) {
  for (ElementType t :
       {ElementType::F32, ElementType::F16, ElementType::BF16, ElementType::TF32})
    if (v == elementTypeName(t)) {
      out = t;
      return true;
    }
  return fail(where, "expected \"f32\", \"f16\", \"bf16\" or \"tf32\", got " + show(v));
}

bool Parser::parseMemory(const json &root) {
  const json &mem = root["memory"];
  if (!getObject(mem, "memory") ||
      !checkKeys(mem, "memory",
                 {"arena_bytes", "prepared_bytes", "activation_bytes_total"},
                 {"arena_bytes", "prepared_bytes"}) ||
      !getUInt(mem["arena_bytes"], "memory.arena_bytes", m_.arenaBytes) ||
      !getUInt(mem["prepared_bytes"], "memory.prepared_bytes",
               m_.preparedBytes))
    return false;
  if (mem.contains("activation_bytes_total") &&
      !getUInt(mem["activation_bytes_total"], "memory.activation_bytes_total",
               m_.activationBytesTotal))
    return false;
  // Now that the sizes are known, place the prepared and activation buffers.
  // Buffers are reported by their position in the array, as in the file.
  const json &bufs = root["buffers"];
  for (size_t i = 0; i < bufs.size(); ++i) {
    const BufferDesc &d = m_.buffers[bufs[i]["id"].get<uint64_t>()];
    if (d.kind != BufferKind::Prepared && d.kind != BufferKind::Activation)
      continue;
    bool arena = d.kind == BufferKind::Activation;
    uint64_t limit = arena ? m_.arenaBytes : m_.preparedBytes;
    if (d.bytes > limit || d.offset > limit - d.bytes)
      return fail(at("buffers", i) + ".offset",
                  std::to_string(d.offset) + " + " + std::to_string(d.bytes) +
                      " bytes exceed " +
                      (arena ? "memory.arena_bytes (" : "memory.prepared_bytes (") +
                      std::to_string(limit) + ")");
  }
  return true;
}

bool Parser::parseTensors(const json &root, const char *key, BufferKind kind,
                          std::vector<TensorDesc> &out,
                          std::vector<std::string> &owner) {
  const json &list = root[key];
  if (!getArray(list, key))
    return false;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = at(key, i);
    const json &t = list[i];
    if (!getObject(t, where) ||
        !checkKeys(t, where, {"name", "shape", "dtype", "buffer", "round_to"},
                   {"name", "shape", "dtype", "buffer"}))
      return false;
    TensorDesc d;
    if (!getString(t["name"], where + ".name", d.name))
      return false;
    if (!names.insert(d.name).second)
      return fail(where + ".name", "'" + d.name + "' appears twice in " + key);
    const json &shape = t["shape"];
    if (!getArray(shape, where + ".shape"))
      return false;
    d.numElements = 1;
    for (size_t j = 0; j < shape.size(); ++j) {
      uint64_t dim = 0;
      // The bound keeps elements * 4 far from overflow.
      if (!getUInt(shape[j], at(where + ".shape", j), dim, 1ull << 40))
        return false;
      if (dim == 0)
        return fail(at(where + ".shape", j), "dimensions must be >= 1");
      if (d.numElements > (1ull << 60) / dim)
        return fail(where + ".shape", "too many elements");
      d.numElements *= dim;
      d.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!parseElementType(t["dtype"], where + ".dtype", d.dtype))
      return false;
    if (d.dtype == ElementType::TF32)
      return fail(where + ".dtype", "tf32 values are stored as \"f32\" (with \"round_to\": "
                                    "\"tf32\" on a parameter), got \"tf32\"");
    // The API reads and writes f32; a reduced-precision model converts in
    // its first and last kernels.
    if (kind != BufferKind::Parameter && d.dtype != ElementType::F32)
      return fail(where + ".dtype", std::string("model ") + key + " are f32, got " +
                                        show(t["dtype"]));
    if (t.contains("round_to")) {
      if (kind != BufferKind::Parameter)
        return fail(where + ".round_to", "only parameters are rounded when loaded");
      if (!parseElementType(t["round_to"], where + ".round_to", d.roundTo))
        return false;
      if (d.dtype != ElementType::F32 || d.roundTo == ElementType::F32)
        return fail(where + ".round_to", "an f32 parameter is rounded to f16, bf16 or tf32, got " +
                                             show(t["round_to"]) + " for dtype " +
                                             show(t["dtype"]));
    }
    uint64_t b = 0;
    if (!getUInt(t["buffer"], where + ".buffer", b))
      return false;
    if (b >= m_.buffers.size())
      return fail(where + ".buffer", "buffer " + std::to_string(b) +
                                         " does not exist (the manifest has " +
                                         std::to_string(m_.buffers.size()) +
                                         " buffers)");
    const BufferDesc &buf = m_.buffers[b];
    if (buf.kind != kind)
      return fail(where + ".buffer", "buffer " + std::to_string(b) + " is a " +
                                         bufferKindName(buf.kind) +
                                         " buffer, expected " +
                                         bufferKindName(kind));
    if (buf.dtype != d.dtype)
      return fail(where + ".buffer", "buffer " + std::to_string(b) + " holds " +
                                         elementTypeName(buf.dtype) + ", the tensor is " +
                                         elementTypeName(d.dtype));
    uint64_t need = d.numElements * elementTypeSize(d.dtype);
    if (buf.bytes != need)
      return fail(where + ".buffer",
                  "buffer " + std::to_string(b) + " has " +
                      std::to_string(buf.bytes) + " bytes but shape " +
                      show(shape) + " of " + elementTypeName(d.dtype) + " needs " +
                      std::to_string(need));
    if (!owner[b].empty())
      return fail(where + ".buffer", "buffer " + std::to_string(b) +
                                         " is already bound to " + owner[b]);
    owner[b] = where + " '" + d.name + "'";
    d.buffer = static_cast<uint32_t>(b);
    out.push_back(std::move(d));
  }
  return true;
}

} // namespace dlart
