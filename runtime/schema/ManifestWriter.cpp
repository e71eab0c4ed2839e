//===- ManifestWriter.cpp - manifest.json from a dlart::Manifest ----------===//
//
// The writer half of the schema (ManifestReader.cpp is the reader): the
// manifest as a JSON tree in the documented key order, printed with objects
// and arrays that hold only scalars on one line, so that each buffer, tensor
// and step is one line of the file (the lit tests check them line by line).
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/Manifest.h"

#include "dlart/dlart.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace dlart {

using json = nlohmann::ordered_json;

namespace {

/// Writes JSON with 2-space indentation, keeping objects and arrays that hold
/// only scalars and arrays of scalars on one line (a buffer, a step, a shape).
class Printer {
public:
  explicit Printer(std::string &out) : out_(out) {}
  void print(const json &v, int indent) {
    if (flat(v)) {
      printInline(v);
      return;
    }
    bool object = v.is_object();
    out_ += object ? "{" : "[";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out_ += first ? "\n" : ",\n";
      first = false;
      out_.append(indent + 2, ' ');
      if (object)
        out_ += json(it.key()).dump() + ": ";
      print(it.value(), indent + 2);
    }
    if (!first) {
      out_ += "\n";
      out_.append(indent, ' ');
    }
    out_ += object ? "}" : "]";
  }

private:
  /// `{"a": 1, "b": [1, 2]}`: on one line, with a space after ':' and ','.
  void printInline(const json &v) {
    if (v.is_primitive()) {
      out_ += v.dump();
      return;
    }
    bool object = v.is_object();
    out_ += object ? "{" : "[";
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it != v.begin())
        out_ += ", ";
      if (object)
        out_ += json(it.key()).dump() + ": ";
      printInline(it.value());
    }
    out_ += object ? "}" : "]";
  }
  static bool scalarArray(const json &v) {
    return v.is_array() &&
           std::all_of(v.begin(), v.end(),
                       [](const json &e) { return e.is_primitive(); });
  }
  static bool flat(const json &v) {
    if (v.is_primitive() || scalarArray(v) || v.empty())
      return true;
    return v.is_object() &&
           std::all_of(v.begin(), v.end(), [](const json &e) {
             return e.is_primitive() || scalarArray(e);
           });
  }
  std::string &out_;
};

/// Builds the tree; the first string that is not UTF-8 (nlohmann refuses to
/// print it) is recorded with its JSON path.
class Writer {
public:
  explicit Writer(std::string &err) : err_(err) {}

  json manifest(const Manifest &m);

private:
  json str(const std::string &s, const std::string &where) {
    if (err_.empty()) {
      try {
        (void)json(s).dump();
      } catch (const json::type_error &) {
        err_ = "manifest.json: " + where + ": not valid UTF-8, which JSON "
               "cannot hold";
      }
    }
    return s;
  }
  json strings(const std::vector<std::string> &list, const std::string &where) {
    json out = json::array();
    for (size_t i = 0; i < list.size(); ++i)
      out.push_back(str(list[i], at(where, i)));
    return out;
  }
  static std::string at(const std::string &where, size_t i) {
    return where + "[" + std::to_string(i) + "]";
  }
  json tensors(const std::vector<TensorDesc> &list, const std::string &where);
  json steps(const std::vector<StepDesc> &list, const std::string &where);

  std::string &err_;
};

json Writer::tensors(const std::vector<TensorDesc> &list,
                     const std::string &where) {
  json out = json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    const TensorDesc &t = list[i];
    json tensor = {{"name", str(t.name, at(where, i) + ".name")},
                   {"shape", t.shape},
                   {"dtype", elementTypeName(t.dtype)},
                   {"buffer", t.buffer}};
    if (t.roundTo != ElementType::F32)
      tensor["round_to"] = elementTypeName(t.roundTo);
    out.push_back(std::move(tensor));
  }
  return out;
}

json Writer::steps(const std::vector<StepDesc> &list, const std::string &where) {
  json out = json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    const StepDesc &s = list[i];
    json step = {{"kernel", str(s.kernel, at(where, i) + ".kernel")}};
    if (!s.name.empty() && s.name != s.kernel)
      step["name"] = str(s.name, at(where, i) + ".name");
    step["grid"] = s.grid;
    step["block"] = s.block;
    step["shared_bytes"] = s.sharedBytes;
    if (s.hostBlocks)
      step["host_blocks"] = s.hostBlocks;
    if (s.hostWorkspaceBytes)
      step["host_workspace_bytes"] = s.hostWorkspaceBytes;
    if (!s.hostWaves.empty())
      step["host_waves"] = s.hostWaves;
    step["args"] = s.args;
    step["writes"] = s.writes;
    if (s.macs)
      step["macs"] = s.macs;
    out.push_back(std::move(step));
  }
  return out;
}

json Writer::manifest(const Manifest &m) {
  json root;
  root["format"] = "dlab";
  root["version"] = DLART_FORMAT_VERSION;
  if (!m.model.empty())
    root["model"] = str(m.model, "model");
  if (!m.producer.empty())
    root["producer"] = str(m.producer, "producer");
  if (m.hasHost) {
    json host = {{"library", str(m.hostLibrary, "host.library")}};
    if (!m.hostCpu.empty())
      host["cpu"] = str(m.hostCpu, "host.cpu");
    if (!m.hostCpu.empty() || !m.hostFeatures.empty())
      host["features"] = strings(m.hostFeatures, "host.features");
    root["host"] = host;
  }
  if (m.hasCuda) {
    json cuda = {{"archs", strings(m.cudaArchs, "cuda.archs")},
                 {"binary", str(m.cudaBinary, "cuda.binary")}};
    if (!m.cudaPtx.empty())
      cuda["ptx"] = str(m.cudaPtx, "cuda.ptx");
    if (!m.cudaEmulator.empty())
      cuda["emulator"] = str(m.cudaEmulator, "cuda.emulator");
    root["cuda"] = cuda;
  }
  if (!m.files.empty()) {
    json files = json::object();
    for (const auto &[name, digest] : m.files) {
      str(name, "files");
      files[name] = {{"bytes", digest.bytes},
                     {"sha256", str(digest.sha256, "files." + name + ".sha256")}};
    }
    root["files"] = files;
  }
  root["inputs"] = tensors(m.inputs, "inputs");
  root["outputs"] = tensors(m.outputs, "outputs");
  root["parameters"] = tensors(m.parameters, "parameters");
  if (!m.ignoredParameters.empty())
    root["ignored_parameters"] =
        strings(m.ignoredParameters, "ignored_parameters");
  json buffers = json::array();
  for (size_t id = 0; id < m.buffers.size(); ++id) {
    const BufferDesc &b = m.buffers[id];
    json buffer = {{"id", id},
                   {"kind", bufferKindName(b.kind)},
                   {"bytes", b.bytes}};
    if (b.kind == BufferKind::Prepared || b.kind == BufferKind::Activation)
      buffer["offset"] = b.offset;
    if (b.dtype != ElementType::F32)
      buffer["dtype"] = elementTypeName(b.dtype);
    buffers.push_back(std::move(buffer));
  }
  root["buffers"] = buffers;
  root["memory"] = {{"arena_bytes", m.arenaBytes},
                    {"prepared_bytes", m.preparedBytes},
                    {"activation_bytes_total", m.activationBytesTotal}};
  root["init"] = steps(m.init, "init");
  root["forward"] = steps(m.forward, "forward");
  return root;
}

} // namespace

bool renderManifest(const Manifest &manifest, std::string &text,
                    std::string &err) {
  err.clear();
  json root = Writer(err).manifest(manifest);
  if (!err.empty())
    return false;
  text.clear();
  Printer(text).print(root, 0);
  text += "\n";
  return true;
}

} // namespace dlart
