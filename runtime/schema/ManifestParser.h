//===- ManifestParser.h - the strict reader's Parser (internal) -----------===//
//
// Private to dlart-schema: the class behind parseManifest, whose methods
// read manifest.json's sections (ManifestReader.cpp: the top level, the
// targets and the file digests; ManifestBuffers.cpp: buffers, memory,
// inputs, outputs and parameters; ManifestSteps.cpp: the init and forward
// steps and their dataflow), and the JSON helpers they share.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_SCHEMA_MANIFESTPARSER_H
#define DLART_SCHEMA_MANIFESTPARSER_H

#include "runtime/schema/Manifest.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace dlart {

using nlohmann::json;

// Values are quoted in messages, truncated so a stray array cannot flood one.
inline std::string show(const json &value) {
  std::string s = value.dump();
  return s.size() <= 40 ? s : s.substr(0, 37) + "...";
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
  bool parseElementType(const json &v, const std::string &where, ElementType &out);
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

} // namespace dlart

#endif // DLART_SCHEMA_MANIFESTPARSER_H
