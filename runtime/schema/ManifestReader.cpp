//===- ManifestReader.cpp - strict parser of manifest.json ----------------===//
//
// The reader half of the schema (ManifestWriter.cpp is the writer), used by
// libdlart when it opens a bundle. Every check a kernel would otherwise pay
// for with a wild pointer is made here, once, with a message naming the JSON
// path: buffer ids in range and unique, sizes consistent with shapes,
// offsets inside the arena and the prepared buffer, step arguments naming
// existing buffers. Unknown fields are errors too: format version 1 is a
// closed contract (docs/bundle-format.md), and a misspelt optional field must
// not pass silently.
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/Manifest.h"

#include "dlart/HostFeatures.h"
#include "dlart/Sha256.h"
#include "dlart/dlart.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace dlart {

using nlohmann::json;

std::string Manifest::path(const std::string &file) const {
  return dir + "/" + file;
}

bool verifyFile(const Manifest &m, const std::string &name, std::string &err) {
  auto it = m.files.find(name);
  if (it == m.files.end())
    return true; // a bundle without digests
  std::string path = m.path(name), hex;
  uint64_t bytes = 0;
  if (!sha256File(path, hex, bytes, err))
    return false;
  if (bytes == it->second.bytes && hex == it->second.sha256)
    return true;
  err = path + ": does not match manifest.json (files." + name + ": " +
        std::to_string(it->second.bytes) + " bytes, sha256 " +
        it->second.sha256.substr(0, 12) + "...; the file: " + std::to_string(bytes) +
        " bytes, sha256 " + hex.substr(0, 12) +
        "...): the bundle is mixed or damaged; compile it again";
  return false;
}

namespace {

// A manifest of DLA-169 is well under 1 MiB; anything this large is not one.
constexpr std::streamoff kMaxManifestSize = 64ll << 20;

// A valid manifest nests 4 levels deep; nlohmann's dump() (used by show())
// recurses once per level, so deeper input could overflow the stack.
constexpr int kMaxManifestDepth = 64;

// Values are quoted in messages, truncated so a stray array cannot flood one.
std::string show(const json &value) {
  std::string s = value.dump();
  return s.size() <= 40 ? s : s.substr(0, 37) + "...";
}

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

// Holds the message prefix ("<dir>/manifest.json: ") and the first error.
class Parser {
public:
  Parser(Manifest &m, std::string &err)
      : m_(m), err_(err), file_(m.path("manifest.json")) {}

  bool parse(const json &root);

private:
  bool fail(const std::string &where, const std::string &msg) {
    err_ = file_ + ": " + (where.empty() ? "" : where + ": ") + msg;
    return false;
  }

  // Rejects keys of `obj` outside `allowed` and checks that `required` are
  // present.
  bool checkKeys(const json &obj, const std::string &where,
                 std::initializer_list<const char *> allowed,
                 std::initializer_list<const char *> required) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool known = false;
      for (const char *a : allowed)
        known = known || it.key() == a;
      if (!known)
        return fail(where, "unexpected field '" + it.key() + "'");
    }
    for (const char *r : required)
      if (!obj.contains(r))
        return fail(where, std::string("missing field '") + r + "'");
    return true;
  }

  static std::string sub(const std::string &where, const char *key) {
    return where.empty() ? key : where + "." + key;
  }
  static std::string at(const std::string &where, size_t i) {
    return where + "[" + std::to_string(i) + "]";
  }

  bool getObject(const json &v, const std::string &where) {
    return v.is_object() || fail(where, "expected an object, got " + show(v));
  }
  bool getArray(const json &v, const std::string &where) {
    return v.is_array() || fail(where, "expected an array, got " + show(v));
  }
  bool getString(const json &v, const std::string &where, std::string &out) {
    if (!v.is_string() || v.get<std::string>().empty())
      return fail(where, "expected a non-empty string, got " + show(v));
    out = v.get<std::string>();
    return true;
  }
  // A non-negative integer up to `max` (floats and booleans are rejected).
  bool getUInt(const json &v, const std::string &where, uint64_t &out,
               uint64_t max = std::numeric_limits<uint64_t>::max()) {
    bool ok = v.is_number_unsigned() ||
              (v.is_number_integer() && v.get<int64_t>() >= 0);
    if (ok)
      out = v.get<uint64_t>();
    if (!ok || out > max)
      return fail(where, "expected an integer in [0, " + std::to_string(max) +
                             "], got " + show(v));
    return true;
  }
  bool getU32(const json &v, const std::string &where, uint32_t &out,
              uint32_t min, uint32_t max) {
    uint64_t u = 0;
    if (!getUInt(v, where, u))
      return false;
    if (u < min || u > max)
      return fail(where, "expected an integer in [" + std::to_string(min) +
                             ", " + std::to_string(max) + "], got " + show(v));
    out = static_cast<uint32_t>(u);
    return true;
  }
  // A file name inside the bundle: no directories, so a manifest cannot
  // point the runtime at arbitrary files.
  bool getFileName(const json &v, const std::string &where, std::string &out) {
    if (!getString(v, where, out))
      return false;
    if (out.find('/') != std::string::npos || out == "." || out == "..")
      return fail(where, "expected a file name inside the bundle, got " +
                             show(v));
    return true;
  }
  bool requireFile(const std::string &name, const std::string &where) {
    struct stat st;
    std::string p = m_.path(name);
    bool exists = ::stat(p.c_str(), &st) == 0;
    if (exists && S_ISREG(st.st_mode))
      return true;
    err_ = p + ": " + (exists ? "not a regular file" : "missing") +
           " (named by manifest.json " + where + ")";
    return false;
  }

  bool parseTargets(const json &root);
  bool parseFiles(const json &root);
  bool checkDataflow();
  bool parseBuffers(const json &root);
  bool parseMemory(const json &root);
  bool parseTensors(const json &root, const char *key, BufferKind kind,
                    std::vector<TensorDesc> &out,
                    std::vector<std::string> &owner);
  bool parseSteps(const json &root, const char *key,
                  std::vector<StepDesc> &out, bool nonEmpty);

  Manifest &m_;
  std::string &err_;
  std::string file_;
};

bool Parser::parse(const json &root) {
  if (!root.is_object())
    return fail("", "expected a JSON object, got " + show(root));
  // format and version first: a file that is not a v1 bundle gets that
  // message rather than a complaint about some field.
  if (!root.contains("format"))
    return fail("", "missing field 'format' (not a dlac bundle manifest)");
  const json &format = root["format"];
  if (!format.is_string() || format.get<std::string>() != "dlab")
    return fail("format", "expected \"dlab\", got " + show(format) +
                              " (not a dlac bundle manifest)");
  if (!root.contains("version"))
    return fail("", "missing field 'version'");
  const json &version = root["version"];
  uint64_t v = 0;
  if (!getUInt(version, "version", v))
    return false;
  if (v != DLART_FORMAT_VERSION)
    return fail("version", "bundle format version " + std::to_string(v) +
                               " is not supported: this runtime reads version " +
                               std::to_string(DLART_FORMAT_VERSION));

  if (!checkKeys(root, "",
                 {"format", "version", "model", "producer", "host", "cuda", "files",
                  "inputs", "outputs", "parameters", "ignored_parameters",
                  "buffers", "memory", "init", "forward"},
                 {"inputs", "outputs", "parameters", "buffers", "memory",
                  "init", "forward"}))
    return false;
  for (auto [key, out] : {std::pair<const char *, std::string *>{"model", &m_.model},
                          {"producer", &m_.producer}})
    if (root.contains(key) && !getString(root[key], key, *out))
      return false;

  if (root.contains("ignored_parameters")) {
    const json &ignored = root["ignored_parameters"];
    if (!ignored.is_array())
      return fail("ignored_parameters", "expected an array of strings");
    for (size_t i = 0; i < ignored.size(); ++i) {
      std::string name;
      if (!getString(ignored[i], "ignored_parameters[" + std::to_string(i) + "]", name))
        return false;
      m_.ignoredParameters.push_back(name);
    }
  }
  if (!parseTargets(root) || !parseFiles(root) || !parseBuffers(root) ||
      !parseMemory(root))
    return false;
  // Which input/output/parameter claims each buffer, to report the second.
  std::vector<std::string> owner(m_.buffers.size());
  if (!parseTensors(root, "inputs", BufferKind::Input, m_.inputs, owner) ||
      !parseTensors(root, "outputs", BufferKind::Output, m_.outputs, owner) ||
      !parseTensors(root, "parameters", BufferKind::Parameter, m_.parameters,
                    owner))
    return false;
  for (size_t id = 0; id < m_.buffers.size(); ++id) {
    BufferKind k = m_.buffers[id].kind;
    if ((k == BufferKind::Input || k == BufferKind::Output ||
         k == BufferKind::Parameter) &&
        owner[id].empty())
      return fail("buffers", std::string(bufferKindName(k)) + " buffer " +
                                 std::to_string(id) + " is not bound by any " +
                                 bufferKindName(k) + " entry");
  }
  if (m_.inputs.empty())
    return fail("inputs", "a model needs at least one input");
  if (m_.outputs.empty())
    return fail("outputs", "a model needs at least one output");
  return parseSteps(root, "init", m_.init, false) &&
         parseSteps(root, "forward", m_.forward, true) && checkDataflow();
}

// "files": {"kernels.so": {"bytes": N, "sha256": HEX}, ...}. Every file the
// manifest names must be listed, and each listed file must match before the
// runtime uses it: the kernels here, weights.safetensors when it is loaded
// (dlart_load_weights), so a mixed or damaged bundle is refused by name.
bool Parser::parseFiles(const json &root) {
  if (!root.contains("files"))
    return true;
  const json &files = root["files"];
  if (!getObject(files, "files"))
    return false;
  for (auto it = files.begin(); it != files.end(); ++it) {
    std::string where = "files." + it.key(), name;
    if (!getFileName(json(it.key()), where, name) || !getObject(it.value(), where) ||
        !checkKeys(it.value(), where, {"bytes", "sha256"}, {"bytes", "sha256"}))
      return false;
    Manifest::FileDigest d;
    if (!getUInt(it.value()["bytes"], where + ".bytes", d.bytes) ||
        !getString(it.value()["sha256"], where + ".sha256", d.sha256))
      return false;
    bool hex = d.sha256.size() == 64;
    for (char ch : d.sha256)
      hex &= (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
    if (!hex)
      return fail(where + ".sha256", "expected 64 lowercase hex digits, got " +
                                         show(it.value()["sha256"]));
    if (!requireFile(name, where))
      return false;
    m_.files[name] = d;
  }
  for (auto [name, key] : {std::pair<const std::string *, const char *>{&m_.hostLibrary, "host.library"},
                           {&m_.cudaBinary, "cuda.binary"},
                           {&m_.cudaPtx, "cuda.ptx"}})
    if (!name->empty() && !m_.files.count(*name))
      return fail("files", "does not list '" + *name + "', which " + key +
                               " names (every file of the bundle has its digest)");
  for (const auto &[name, digest] : m_.files)
    if (name != "weights.safetensors" &&
        !verifyFile(m_, name, err_)) // weights: when loaded
      return false;
  return true;
}

bool Parser::parseTargets(const json &root) {
  if (root.contains("host")) {
    const json &h = root["host"];
    if (!getObject(h, "host") ||
        !checkKeys(h, "host", {"library", "cpu", "features"}, {"library"}) ||
        !getFileName(h["library"], "host.library", m_.hostLibrary) ||
        !requireFile(m_.hostLibrary, "host.library"))
      return false;
    if (h.contains("cpu") && !getString(h["cpu"], "host.cpu", m_.hostCpu))
      return false;
    if (h.contains("features")) {
      if (!getArray(h["features"], "host.features"))
        return false;
      const json &fs = h["features"];
      for (size_t i = 0; i < fs.size(); ++i) {
        std::string f;
        if (!getString(fs[i], at("host.features", i), f))
          return false;
        bool known = false;
        for (const char *k : kHostFeatures)
          known |= f == k;
        if (!known)
          return fail(at("host.features", i),
                      "unknown CPU feature '" + f +
                          "': this runtime cannot check it (a newer dlac?)");
        m_.hostFeatures.push_back(f);
      }
    }
    m_.hasHost = true;
  }
  if (root.contains("cuda")) {
    const json &c = root["cuda"];
    if (!getObject(c, "cuda") ||
        !checkKeys(c, "cuda", {"archs", "binary", "ptx"}, {"archs", "binary"}) ||
        !getArray(c["archs"], "cuda.archs"))
      return false;
    const json &archs = c["archs"];
    if (archs.empty())
      return fail("cuda.archs", "expected at least one architecture");
    for (size_t i = 0; i < archs.size(); ++i) {
      std::string a;
      if (!getString(archs[i], at("cuda.archs", i), a))
        return false;
      // sm_90, sm_90a, sm_100f: the spellings nvcc and ptxas accept.
      size_t n = a.size();
      bool ok = n >= 5 && a.compare(0, 3, "sm_") == 0;
      size_t digitsEnd = (ok && (a[n - 1] == 'a' || a[n - 1] == 'f')) ? n - 1 : n;
      for (size_t j = 3; ok && j < digitsEnd; ++j)
        ok = a[j] >= '0' && a[j] <= '9';
      if (!ok || digitsEnd < 5)
        return fail(at("cuda.archs", i),
                    "expected an architecture like \"sm_90\", got " +
                        show(archs[i]));
      m_.cudaArchs.push_back(a);
    }
    if (!getFileName(c["binary"], "cuda.binary", m_.cudaBinary) ||
        !requireFile(m_.cudaBinary, "cuda.binary"))
      return false;
    if (c.contains("ptx") &&
        (!getFileName(c["ptx"], "cuda.ptx", m_.cudaPtx) ||
         !requireFile(m_.cudaPtx, "cuda.ptx")))
      return false;
    m_.hasCuda = true;
  }
  if (!m_.hasHost && !m_.hasCuda)
    return fail("", "neither 'host' nor 'cuda' is present: the bundle has no "
                    "kernels");
  return true;
}

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
        !checkKeys(b, where, {"id", "kind", "bytes", "offset"},
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
  }
  return true;
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
        !checkKeys(t, where, {"name", "shape", "dtype", "buffer"},
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
    if (t["dtype"] != "f32")
      return fail(where + ".dtype",
                  "expected \"f32\" (the only dtype of format version 1), "
                  "got " + show(t["dtype"]));
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
    if (buf.bytes != d.numElements * 4)
      return fail(where + ".buffer",
                  "buffer " + std::to_string(b) + " has " +
                      std::to_string(buf.bytes) + " bytes but shape " +
                      show(shape) + " of f32 needs " +
                      std::to_string(d.numElements * 4));
    if (!owner[b].empty())
      return fail(where + ".buffer", "buffer " + std::to_string(b) +
                                         " is already bound to " + owner[b]);
    owner[b] = where + " '" + d.name + "'";
    d.buffer = static_cast<uint32_t>(b);
    out.push_back(std::move(d));
  }
  return true;
}

bool Parser::parseSteps(const json &root, const char *key,
                        std::vector<StepDesc> &out, bool nonEmpty) {
  const json &list = root[key];
  if (!getArray(list, key))
    return false;
  if (nonEmpty && list.empty())
    return fail(key, "expected at least one step");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = at(key, i);
    const json &s = list[i];
    if (!getObject(s, where) ||
        !checkKeys(s, where,
                   {"kernel", "name", "grid", "block", "shared_bytes", "host_blocks",
                    "host_workspace_bytes", "host_waves", "args", "writes"},
                   {"kernel", "grid", "block", "shared_bytes", "args", "writes"}))
      return false;
    StepDesc d;
    if (!getString(s["kernel"], where + ".kernel", d.kernel))
      return false;
    if (s.contains("name") && !getString(s["name"], where + ".name", d.name))
      return false;
    for (auto [field, dims] : {std::pair<const char *, std::array<uint32_t, 3> *>{
                                   "grid", &d.grid},
                               {"block", &d.block}}) {
      std::string w = where + "." + field;
      const json &v = s[field];
      if (!v.is_array() || v.size() != 3)
        return fail(w, "expected an array of 3 integers, got " + show(v));
      // CUDA's limits on launch dimensions are unsigned 32-bit (the grid's
      // x at most 2^31-1); the driver checks the finer ones at launch.
      for (size_t j = 0; j < 3; ++j)
        if (!getU32(v[j], at(w, j), (*dims)[j], 1, 0x7fffffffu))
          return false;
    }
    if (!getU32(s["shared_bytes"], where + ".shared_bytes", d.sharedBytes, 0,
                0xffffffffu))
      return false;
    if (s.contains("host_blocks") &&
        !getU32(s["host_blocks"], where + ".host_blocks", d.hostBlocks, 1, 0x7fffffffu))
      return false;
    if (s.contains("host_workspace_bytes") &&
        !getUInt(s["host_workspace_bytes"], where + ".host_workspace_bytes",
                 d.hostWorkspaceBytes, uint64_t(1) << 40))
      return false;
    if (s.contains("host_waves")) {
      const json &waves = s["host_waves"];
      std::string w = where + ".host_waves";
      if (!getArray(waves, w))
        return false;
      if (waves.empty() || waves.size() > 16)
        return fail(w, "expected 1 to 16 block counts, got " + show(waves));
      uint64_t total = 0;
      for (size_t j = 0; j < waves.size(); ++j) {
        uint32_t count = 0;
        if (!getU32(waves[j], at(w, j), count, 1, 0x7fffffffu))
          return false;
        total += count;
        d.hostWaves.push_back(count);
      }
      if (total != d.numHostBlocks())
        return fail(w, "the waves hold " + std::to_string(total) +
                           " blocks, but the step has " +
                           std::to_string(d.numHostBlocks()));
    }
    const json &args = s["args"];
    if (!getArray(args, where + ".args"))
      return false;
    if (args.empty())
      return fail(where + ".args", "a kernel needs at least one buffer");
    for (size_t j = 0; j < args.size(); ++j) {
      uint64_t id = 0;
      if (!getUInt(args[j], at(where + ".args", j), id))
        return false;
      if (id >= m_.buffers.size())
        return fail(at(where + ".args", j),
                    "buffer " + std::to_string(id) +
                        " does not exist (the manifest has " +
                        std::to_string(m_.buffers.size()) + " buffers)");
      d.args.push_back(static_cast<uint32_t>(id));
    }
    if (!getU32(s["writes"], where + ".writes", d.writes, 1,
                static_cast<uint32_t>(d.args.size())))
      return false;
    out.push_back(std::move(d));
  }
  return true;
}

// The steps as a dataflow, before anything runs: each reads only buffers
// that hold data by then (parameters; prepared buffers init wrote; inputs;
// activations an earlier step of the same phase wrote and no later write
// to memory they share has overwritten), init writes only prepared and
// activation buffers, forward only activation and output buffers, every
// output is written, and no step has more blocks than elements it writes
// (so that a hostile grid cannot spin for hours).
bool Parser::checkDataflow() {
  size_t n = m_.buffers.size();
  std::vector<char> valid(n, 0);
  for (size_t id = 0; id < n; ++id)
    valid[id] = m_.buffers[id].kind == BufferKind::Parameter;
  auto overlaps = [&](size_t a, size_t b) {
    const BufferDesc &x = m_.buffers[a], &y = m_.buffers[b];
    return x.kind == y.kind && x.offset < y.offset + y.bytes &&
           y.offset < x.offset + x.bytes;
  };
  std::vector<char> outputWritten(n, 0);
  for (bool forward : {false, true}) {
    const char *phase = forward ? "forward" : "init";
    const std::vector<StepDesc> &steps = forward ? m_.forward : m_.init;
    if (forward) // Inputs arrive after init; init's activations are scratch.
      for (size_t id = 0; id < n; ++id) {
        BufferKind k = m_.buffers[id].kind;
        if (k == BufferKind::Input)
          valid[id] = 1;
        else if (k == BufferKind::Activation)
          valid[id] = 0;
      }
    for (size_t i = 0; i < steps.size(); ++i) {
      const StepDesc &s = steps[i];
      std::string where = at(phase, i);
      size_t firstWrite = s.args.size() - s.writes;
      uint64_t writtenBytes = 0;
      for (size_t j = 0; j < s.args.size(); ++j) {
        uint32_t id = s.args[j];
        BufferKind k = m_.buffers[id].kind;
        std::string arg = at(where + ".args", j);
        std::string buffer = "buffer " + std::to_string(id) + " (" + bufferKindName(k) + ")";
        if (j < firstWrite) {
          if (!valid[id])
            return fail(arg, buffer + " is read before any step writes it" +
                                 (k == BufferKind::Activation || k == BufferKind::Prepared
                                      ? ", or after a later write to memory it shares "
                                        "(steps out of order?)"
                                      : ""));
          continue;
        }
        bool allowed = forward ? (k == BufferKind::Activation || k == BufferKind::Output)
                               : (k == BufferKind::Activation || k == BufferKind::Prepared);
        if (!allowed)
          return fail(arg, buffer + " is written by a " + phase + " step; " +
                               (forward ? "forward steps write only activation and "
                                          "output buffers"
                                        : "init steps write only prepared and "
                                          "activation buffers"));
        writtenBytes += m_.buffers[id].bytes;
      }
      // Writes take effect after the step's reads: invalidate what shares
      // memory with a written buffer, then mark the written ones.
      for (size_t j = firstWrite; j < s.args.size(); ++j)
        for (size_t other = 0; other < n; ++other)
          if (other != s.args[j] && overlaps(s.args[j], other) &&
              (m_.buffers[other].kind == BufferKind::Activation ||
               m_.buffers[other].kind == BufferKind::Prepared))
            valid[other] = 0;
      for (size_t j = firstWrite; j < s.args.size(); ++j) {
        valid[s.args[j]] = 1;
        if (forward)
          outputWritten[s.args[j]] = 1;
      }
      uint64_t limit = std::max<uint64_t>(1, (writtenBytes + s.hostWorkspaceBytes) / 4);
      if (s.numBlocks() > limit || s.numHostBlocks() > limit)
        return fail(where, "has " + std::to_string(std::max(s.numBlocks(), s.numHostBlocks())) +
                               " blocks for the " + std::to_string(writtenBytes / 4) +
                               " values it writes: at most one block per value");
    }
  }
  for (const TensorDesc &t : m_.outputs)
    if (!outputWritten[t.buffer])
      return fail("outputs", "output '" + t.name + "' (buffer " + std::to_string(t.buffer) +
                                 ") is written by no forward step");
  return true;
}

// "[json.exception.parse_error.101] parse error at line 3, column 5: syntax
// error ..." -> line 3, column 5, "syntax error ...".
std::string describeParseError(const std::string &file,
                               const json::parse_error &e) {
  std::string what = e.what();
  size_t lineAt = what.find("at line ");
  size_t colon = what.find(": ", lineAt == std::string::npos ? 0 : lineAt);
  unsigned line = 0, column = 0;
  if (lineAt != std::string::npos &&
      std::sscanf(what.c_str() + lineAt, "at line %u, column %u", &line,
                  &column) == 2 &&
      colon != std::string::npos)
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) +
           ": malformed JSON: " + what.substr(colon + 2);
  return file + ": malformed JSON: " + what;
}

} // namespace

bool parseManifest(const std::string &bundleDir, Manifest &manifest,
                   std::string &err) {
  manifest = Manifest();
  manifest.dir = bundleDir;
  struct stat st;
  if (::stat(bundleDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    err = bundleDir + ": not a bundle directory (" +
          (::stat(bundleDir.c_str(), &st) != 0 ? std::strerror(errno)
                                               : "not a directory") +
          "); a bundle is the directory written by 'dlac -o NAME.dlab'";
    return false;
  }
  std::string file = manifest.path("manifest.json");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err = file + ": cannot open: " + std::strerror(errno);
    return false;
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size > kMaxManifestSize) {
    err = file + ": " + std::to_string(size) +
          " bytes is too large for a manifest";
    return false;
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(size < 0 ? 0 : size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in) {
    err = file + ": read error";
    return false;
  }

  // nlohmann keeps the last of duplicate keys silently; in a manifest a
  // duplicate is a generator bug worth reporting.
  std::vector<std::set<std::string>> openObjects;
  std::string duplicate;
  bool tooDeep = false;
  auto callback = [&](int depth, json::parse_event_t event, json &parsed) {
    if ((event == json::parse_event_t::object_start ||
         event == json::parse_event_t::array_start) &&
        depth >= kMaxManifestDepth) {
      tooDeep = true;
      return false; // Discarded: nothing this deep reaches the DOM.
    }
    if (event == json::parse_event_t::object_start)
      openObjects.emplace_back();
    else if (event == json::parse_event_t::object_end)
      openObjects.pop_back();
    else if (event == json::parse_event_t::key && !openObjects.empty() &&
             !openObjects.back().insert(parsed.get<std::string>()).second &&
             duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json root;
  try {
    root = json::parse(text, callback);
  } catch (const json::parse_error &e) {
    err = describeParseError(file, e);
    return false;
  } catch (const json::exception &e) {
    // out_of_range.406: a number beyond double ("1e400").
    std::string what = e.what();
    size_t bracket = what.find("] ");
    err = file + ": malformed JSON: " +
          (bracket == std::string::npos ? what : what.substr(bracket + 2));
    return false;
  }
  if (tooDeep) {
    err = file + ": nesting deeper than " + std::to_string(kMaxManifestDepth) +
          " levels";
    return false;
  }
  if (!duplicate.empty()) {
    err = file + ": duplicate key '" + duplicate + "'";
    return false;
  }
  return Parser(manifest, err).parse(root);
}

} // namespace dlart
