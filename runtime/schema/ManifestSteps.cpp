//===- ManifestSteps.cpp - manifest.json's init and forward steps ---------===//
//
// Part of the strict reader (ManifestReader.cpp): the steps (launch
// dimensions within CUDA's limits, the host blocking, arguments naming
// existing buffers) and, once all are read, their dataflow.
//
//===----------------------------------------------------------------------===//

#include "runtime/schema/ManifestParser.h"

#include <algorithm>
#include <array>

namespace dlart {

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
                    "host_workspace_bytes", "host_waves", "args", "writes", "macs"},
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
    if (s.contains("macs") &&
        !getUInt(s["macs"], where + ".macs", d.macs, uint64_t(1) << 56))
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

} // namespace dlart
