//===- Manifest.h - The schema of a bundle's manifest.json ------*- C++ -*-===//
//
// The one definition of manifest.json, format version 1
// (docs/bundle-format.md): its in-memory form, the writer dlac uses and the
// strict reader libdlart uses. Plain C++17, no LLVM/MLIR: the library
// (dlart-schema) is linked by the compiler and the runtime alike. Not part of
// libdlart's public surface, which is the C API in dlart/dlart.h.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_SCHEMA_MANIFEST_H
#define DLART_SCHEMA_MANIFEST_H

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dlart {

enum class BufferKind { Input, Output, Parameter, Prepared, Activation };

/// "input", "output", ...: the spelling of `kind` in manifest.json.
inline const char *bufferKindName(BufferKind kind) {
  switch (kind) {
  case BufferKind::Input: return "input";
  case BufferKind::Output: return "output";
  case BufferKind::Parameter: return "parameter";
  case BufferKind::Prepared: return "prepared";
  case BufferKind::Activation: return "activation";
  }
  return "?";
}

/// A buffer; its id is its index in Manifest::buffers.
/// The element type of a buffer ("dtype"): f32, or a storage type of a
/// reduced-precision model (docs/precision.md). Inputs and outputs are f32.
/// TF32 is only a parameter's "round_to": tf32 values are kept in f32 words.
enum class ElementType { F32, F16, BF16, TF32 };

inline const char *elementTypeName(ElementType t) {
  switch (t) {
  case ElementType::F32: return "f32";
  case ElementType::F16: return "f16";
  case ElementType::BF16: return "bf16";
  case ElementType::TF32: return "tf32";
  }
  return "?";
}
inline uint64_t elementTypeSize(ElementType t) {
  return t == ElementType::F32 || t == ElementType::TF32 ? 4 : 2;
}

struct BufferDesc {
  BufferKind kind = BufferKind::Activation;
  uint64_t bytes = 0;
  uint64_t offset = 0; ///< In the prepared buffer or the arena; else 0.
  /// "dtype", written when not f32 (a parameter's is its tensor's).
  ElementType dtype = ElementType::F32;
};

/// An input, output or parameter: a named f32 tensor bound to one buffer.
struct TensorDesc {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t numElements = 0; ///< The product of `shape` (not written).
  uint32_t buffer = 0;
  ElementType dtype = ElementType::F32; ///< "dtype": f32 for inputs and outputs.
  /// "round_to" (parameters only): the loader rounds each value to this type
  /// before storing it as `dtype` (a reduced-precision weight the host keeps
  /// widened to f32); f32: stored as it is.
  ElementType roundTo = ElementType::F32;
};

struct StepDesc {
  std::string kernel; ///< The kernel's symbol in kernels.so / the cubin.
  /// The step's own name ("name"), when it runs a kernel built for an
  /// earlier step of the same shape; empty: the kernel's.
  std::string name;
  std::array<uint32_t, 3> grid{};
  std::array<uint32_t, 3> block{};
  uint32_t sharedBytes = 0;
  /// Blocks of the host kernel when its blocking differs from the GPU grid
  /// ("host_blocks"); 0: the host runs the grid's blocks.
  uint32_t hostBlocks = 0;
  /// Bytes of host scratch shared by the step's blocks ("host_workspace_bytes"),
  /// passed as one more argument after the buffers; 0: none.
  uint64_t hostWorkspaceBytes = 0;
  /// Blocks per wave ("host_waves"): the host runs the waves one after the
  /// other, each wave's blocks in parallel (wave 1 fills the workspace that
  /// wave 2 reads). Empty: one wave.
  std::vector<uint32_t> hostWaves;
  std::vector<uint32_t> args; ///< Buffer ids.
  /// Multiply-accumulates of the step as PyTorch counts them ("macs"), for
  /// GFLOP/s in profiles; 0: not recorded.
  uint64_t macs = 0;
  /// How many of the last args the step writes ("writes"); the others it
  /// reads.
  uint32_t writes = 0;

  /// What the step is called in messages and profiles.
  const std::string &stepName() const { return name.empty() ? kernel : name; }

  uint64_t numBlocks() const {
    return uint64_t(grid[0]) * grid[1] * grid[2];
  }
  uint64_t numHostBlocks() const { return hostBlocks ? hostBlocks : numBlocks(); }
};

struct Manifest;
/// Whether file `name` of the bundle matches its digest in m.files (true
/// when the manifest lists none for it); else `err` names the file.
bool verifyFile(const Manifest &m, const std::string &name, std::string &err);

/// manifest.json; "format" and "version" are implied (dlab, 1). Empty strings
/// and lists stand for absent optional fields.
struct Manifest {
  std::string dir;          ///< The bundle directory as given to open (not written).
  std::string model;        ///< "" if absent.
  std::string producer;     ///< "" if absent.
  bool hasHost = false;
  std::string hostLibrary;  ///< File name inside the bundle.
  std::string hostCpu;      ///< The CPU the kernels were compiled for ("" if absent).
  /// CPU features kernels.so needs (names of dlart::kHostFeatures).
  std::vector<std::string> hostFeatures;
  bool hasCuda = false;
  std::vector<std::string> cudaArchs;
  std::string cudaBinary;   ///< File name inside the bundle.
  std::string cudaPtx;      ///< "" if the bundle has no PTX.
  /// The CUDA kernels built for the host with GPU semantics (the cuda-emu
  /// device, docs/runtime.md); "" if the bundle has none.
  std::string cudaEmulator;
  std::vector<TensorDesc> inputs, outputs, parameters;
  /// Checkpoint keys the model accepts without reading them (no warning).
  std::vector<std::string> ignoredParameters;
  std::vector<BufferDesc> buffers; ///< Indexed by buffer id.
  uint64_t arenaBytes = 0;
  uint64_t preparedBytes = 0;
  uint64_t activationBytesTotal = 0;
  std::vector<StepDesc> init, forward;
  /// manifest.json "files": name -> size and SHA-256 (hex) of every file of
  /// the bundle; empty for bundles written before it existed.
  struct FileDigest {
    uint64_t bytes = 0;
    std::string sha256;
  };
  std::map<std::string, FileDigest> files;

  /// "<dir>/<file>", the spelling every message uses.
  std::string path(const std::string &file) const;
};

/// Reads and validates "<bundleDir>/manifest.json" and checks that the files
/// it names exist. On failure returns false and sets `err` to one line that
/// starts with the file concerned and names the JSON path, e.g.
///   "m.dlab/manifest.json: buffers[3].offset: 4096 + 512 bytes exceed
///    memory.arena_bytes (4096)".
bool parseManifest(const std::string &bundleDir, Manifest &manifest,
                   std::string &err);

/// `manifest` as the text of manifest.json: 2-space indentation, one line per
/// buffer, tensor, step and file. Optional fields are written when set
/// (host.features whenever host.cpu is). Checks nothing the reader checks;
/// fails only on a string JSON cannot hold (not UTF-8), with `err` naming
/// its JSON path.
bool renderManifest(const Manifest &manifest, std::string &text,
                    std::string &err);

} // namespace dlart

#endif // DLART_SCHEMA_MANIFEST_H
