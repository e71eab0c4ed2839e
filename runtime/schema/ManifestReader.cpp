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
// This file: manifest.json read and parsed as JSON (its size, nesting and
// duplicate keys checked), then the manifest's top level: format and
// version, the targets and the file digests. The buffers and tensors are
// read in ManifestBuffers.cpp, the steps in ManifestSteps.cpp; the Parser
// class they share is in ManifestParser.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/ManifestParser.h"

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

} // namespace

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
                           {&m_.cudaPtx, "cuda.ptx"},
                           {&m_.cudaEmulator, "cuda.emulator"}})
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
        !checkKeys(c, "cuda", {"archs", "binary", "ptx", "emulator"}, {"archs", "binary"}) ||
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
    if (c.contains("emulator") &&
        (!getFileName(c["emulator"], "cuda.emulator", m_.cudaEmulator) ||
         !requireFile(m_.cudaEmulator, "cuda.emulator")))
      return false;
    m_.hasCuda = true;
  }
  if (!m_.hasHost && !m_.hasCuda)
    return fail("", "neither 'host' nor 'cuda' is present: the bundle has no "
                    "kernels");
  return true;
}

namespace {

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
