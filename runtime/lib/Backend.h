//===- Backend.h - the device interface of libdlart (internal) ------------===//
//
// A backend holds what every execution context of a model shares: the
// kernels and one region of device memory with the parameters and the
// prepared (folded, packed) buffers that init writes. A BackendContext holds
// what one run at a time needs: the inputs, the outputs, the activation
// arena (and the host kernels' workspace), each at an offset fixed by the
// Layout, and the means to run (a host thread pool, a CUDA stream). The
// model's default context lives in the same allocation as the shared
// region, so a model without extra contexts still takes one block; each
// further context allocates its own region. The host backend's memory is
// host memory; the cuda backend's comes from cuMemAlloc.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_LIB_BACKEND_H
#define DLART_LIB_BACKEND_H

#include "runtime/schema/Manifest.h"

#include "dlart/dlart.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace dlart {

/// Where each buffer lives: in the shared region (parameters, prepared) or
/// in each context's region (inputs, outputs, activations), at an offset
/// inside that region.
struct Layout {
  /// Every buffer starts at a multiple of this (cuMemAlloc gives 256 too, and
  /// it covers the 64 bytes that vectorised host kernels like).
  static constexpr uint64_t kAlign = 256;
  enum class Region : uint8_t { Shared, Context };
  std::vector<Region> region;   ///< Per buffer id.
  std::vector<uint64_t> offset; ///< Per buffer id, inside its region.
  uint64_t sharedBytes = 0;     ///< A multiple of kAlign.
  uint64_t contextBytes = 0;    ///< A multiple of kAlign.
  /// The model's one block: the shared region, then the default context's.
  uint64_t totalBytes() const { return sharedBytes + contextBytes; }

  static Layout plan(const Manifest &m);
};

enum class Phase { Init, Forward };

/// One execution context: its own inputs, outputs, arena and workspace, and
/// its own threads (host) or stream (cuda). One call at a time; different
/// contexts of one backend may run at the same time on different threads.
class BackendContext {
public:
  virtual ~BackendContext() = default;
  /// Copies between host memory and the context's region at `offset`.
  virtual bool upload(uint64_t offset, const void *src, size_t bytes,
                      std::string &err) = 0;
  virtual bool download(uint64_t offset, void *dst, size_t bytes,
                        std::string &err) = 0;
  /// Runs the steps of `phase` in order and waits for them. Init writes the
  /// shared region: the caller makes sure no other context runs meanwhile.
  virtual bool run(Phase phase, std::string &err) = 0;
  /// Runs the forward steps once, timing each (milliseconds).
  virtual bool profile(std::vector<double> &stepMs, std::string &err) = 0;
  /// "host, 4 threads, kernels.so" / "cuda, NVIDIA H200 (sm_90), kernels.cubin".
  virtual std::string describe() const = 0;
  virtual void setThreads(unsigned threads) { (void)threads; }
  virtual void setGraph(bool enable) { (void)enable; }
};

class Backend {
public:
  virtual ~Backend() = default;

  /// Loads the kernels of every step and allocates and zero-fills the
  /// model's block (Layout::totalBytes). Called once. DLART_ERROR_BUNDLE for
  /// a fault of the bundle's files, DLART_ERROR_DEVICE for one of the machine.
  virtual dlart_status load(const Manifest &m, const Layout &layout,
                            std::string &err) = 0;
  /// Copies between host memory and the shared region at `offset`; no
  /// context may be running.
  virtual bool uploadShared(uint64_t offset, const void *src, size_t bytes,
                            std::string &err) = 0;
  virtual bool downloadShared(uint64_t offset, void *dst, size_t bytes,
                              std::string &err) = 0;
  /// A new execution context (after load). `primary`: the model's default
  /// context, in the block load allocated (once); else a region of its own,
  /// zero-filled. Thread-safe against running contexts. Null and `err` set
  /// (with `status`) on failure.
  virtual std::unique_ptr<BackendContext>
  createContext(bool primary, unsigned threads, bool graph,
                dlart_status &status, std::string &err) = 0;
};

/// `bytes` of zeroed host memory aligned to Layout::kAlign (release with
/// std::free): the memory of a host-memory backend. Null on failure, with
/// `err` = "DIR: cannot allocate N bytes of host memory for WHAT".
inline char *allocateHostMemory(uint64_t bytes, const std::string &dir, const char *what,
                                std::string &err) {
  void *p = nullptr;
  if (::posix_memalign(&p, Layout::kAlign, bytes ? bytes : 1) != 0) {
    err = dir + ": cannot allocate " + std::to_string(bytes) +
          " bytes of host memory for " + what;
    return nullptr;
  }
  std::memset(p, 0, bytes);
  return static_cast<char *>(p);
}

std::unique_ptr<Backend> createHostBackend();
std::unique_ptr<Backend> createCudaBackend();
/// cuda-emu: the bundle's CUDA kernels for the host, each GPU thread a
/// fiber (EmuBackend.cpp).
std::unique_ptr<Backend> createEmuBackend();

/// Checks that a cubin (ELF) or fatbin file is complete, without a driver, so
/// a truncated file gets a clear message on any machine. `path` is used in
/// the message.
bool checkCudaBinary(const std::string &path, const std::vector<char> &bytes,
                     std::string &err);

/// Checks that the host kernel library at `path`, if it is a 64-bit ELF
/// file, holds every segment dlopen will map: a truncated kernels.so would
/// otherwise raise SIGBUS inside dlopen. Other files are left to dlopen.
bool checkHostLibrary(const std::string &path, std::string &err);

} // namespace dlart

#endif // DLART_LIB_BACKEND_H
