//===- Backend.h - the device interface of libdlart (internal) ------------===//
//
// A backend owns one block of device memory that holds every buffer of the
// bundle (parameters, prepared weights, inputs, outputs and the activation
// arena, each at an offset fixed by the Layout) and runs the init and
// forward steps on it. The host backend's block is host memory; the cuda
// backend's is one cuMemAlloc.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_LIB_BACKEND_H
#define DLART_LIB_BACKEND_H

#include "runtime/schema/Manifest.h"

#include "dlart/dlart.h"

#include <memory>
#include <string>
#include <vector>

namespace dlart {

/// Where each buffer lives inside the backend's memory block.
struct Layout {
  /// Every buffer starts at a multiple of this (cuMemAlloc gives 256 too, and
  /// it covers the 64 bytes that vectorised host kernels like).
  static constexpr uint64_t kAlign = 256;
  std::vector<uint64_t> offset; ///< Per buffer id.
  uint64_t totalBytes = 0;

  static Layout plan(const Manifest &m);
};

enum class Phase { Init, Forward };

class Backend {
public:
  virtual ~Backend() = default;

  /// Loads the kernels of every step and allocates and zero-fills the memory
  /// block. Called once. DLART_ERROR_BUNDLE for a fault of the bundle's
  /// files, DLART_ERROR_DEVICE for one of the machine.
  virtual dlart_status load(const Manifest &m, const Layout &layout,
                            std::string &err) = 0;
  /// Copies between host memory and the block at `offset`.
  virtual bool upload(uint64_t offset, const void *src, size_t bytes,
                      std::string &err) = 0;
  virtual bool download(uint64_t offset, void *dst, size_t bytes,
                        std::string &err) = 0;
  /// Runs the steps of `phase` in order and waits for them.
  virtual bool run(Phase phase, std::string &err) = 0;
  /// Runs the forward steps once, timing each (milliseconds).
  virtual bool profile(std::vector<double> &stepMs, std::string &err) = 0;

  /// "host, 4 threads" / "cuda, NVIDIA H200 (sm_90), kernels.cubin".
  virtual std::string describe() const = 0;

  virtual void setThreads(unsigned threads) { (void)threads; }
  virtual void setGraph(bool enable) { (void)enable; }
};

std::unique_ptr<Backend> createHostBackend(unsigned threads);
std::unique_ptr<Backend> createCudaBackend();
/// cuda-emu: the bundle's CUDA kernels for the host, each GPU thread a
/// fiber (EmuBackend.cpp).
std::unique_ptr<Backend> createEmuBackend(unsigned threads);

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
