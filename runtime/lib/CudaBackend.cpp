//===- CudaBackend.cpp - runs the bundle's GPU kernels through libcuda ----===//
//
// Part of libdlart. The CUDA driver is opened with dlopen("libcuda.so.1") the
// first time a model asks for the cuda device, so libdlart builds without
// the CUDA toolkit and the same binary runs (host only) on machines without
// an NVIDIA driver. The environment variable DLART_CUDA_DRIVER names another
// library to open instead (the tests use a fake driver, test/Runtime/
// fake_cuda, to produce the driver's failures on any machine). The few
// driver types and entry points used are declared in CudaDriver.h (their
// values are those of cuda.h, which is ABI-stable) and resolved by
// CudaDriver.cpp; checkCudaBinary is CudaBinaryCheck.cpp.
//
// Memory: one cuMemAlloc holds the shared region and the default context's
// (Layout); each further execution context allocates its own region.
// Kernels: the bundle's cubin/fatbin, with its PTX JIT-compiled by the driver
// when no SASS fits the device. forward: one cuLaunchKernel per step on the
// context's stream, optionally captured once into a CUDA graph and replayed.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "CudaDriver.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <tuple>

namespace dlart {

namespace {

bool readFile(const std::string &path, std::vector<char> &out,
              std::string &err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in),
             std::istreambuf_iterator<char>());
  if (in.bad()) {
    err = path + ": read error";
    return false;
  }
  return true;
}

/// A resolved kernel of one step, not yet bound to a context's memory.
struct StepPlan {
  CUfunction fn = nullptr;
  std::array<uint32_t, 3> grid{}, block{};
  uint32_t sharedBytes = 0;
  std::vector<uint32_t> args; ///< Buffer ids.
  std::string where;          ///< "forward[3] kernel 'x'", for messages.
};

/// A step bound to one context: device pointers into its memory.
struct CudaStep {
  const StepPlan *plan = nullptr;
  std::vector<CUdeviceptr> ptrs;
  std::vector<void *> params; ///< &ptrs[i], as cuLaunchKernel wants.
};

class CudaBackend;

/// One execution context: its region (inputs, outputs, arena), its stream,
/// its profiling events and its CUDA graph (kernel arguments are the
/// context's own addresses, so each context captures its own).
class CudaContext : public BackendContext {
public:
  CudaContext(const CudaBackend &b, CUdeviceptr base, bool ownsBase, bool graph)
      : b_(b), base_(base), ownsBase_(ownsBase), useGraph_(graph) {}
  ~CudaContext() override;
  /// Creates the stream and binds the steps; false and `err` on failure.
  bool start(std::string &err);

  bool upload(uint64_t offset, const void *src, size_t bytes,
              std::string &err) override;
  bool download(uint64_t offset, void *dst, size_t bytes,
                std::string &err) override;
  bool run(Phase phase, std::string &err) override;
  bool profile(std::vector<double> &stepMs, std::string &err) override;
  std::string describe() const override;
  void setGraph(bool enable) override { useGraph_ = enable; }

private:
  bool check(CUresult r, const std::string &what, std::string &err) const;
  bool launch(CudaStep &s, std::string &err);
  bool capture(std::string &err);

  const CudaBackend &b_;
  CUdeviceptr base_;
  bool ownsBase_;
  bool useGraph_;
  CUstream stream_ = nullptr;
  std::vector<CudaStep> init_, forward_;
  std::vector<CUevent> events_;
  CUgraph graph_ = nullptr;
  CUgraphExec graphExec_ = nullptr;
};

class CudaBackend : public Backend {
public:
  ~CudaBackend() override {
    if (!d_)
      return;
    if (ctx_)
      d_->cuCtxSetCurrent(ctx_);
    if (block_)
      d_->cuMemFree(block_);
    if (module_)
      d_->cuModuleUnload(module_);
    if (ctx_)
      d_->cuDevicePrimaryCtxRelease(device_);
  }

  dlart_status load(const Manifest &m, const Layout &layout,
                    std::string &err) override {
    if (!m.hasCuda) {
      err = m.dir + ": the bundle was not compiled for cuda (manifest.json "
                    "has no 'cuda' section); compile it with --target cuda "
                    "or use --device host";
      return DLART_ERROR_BUNDLE;
    }
    // The bundle's own files first: their errors do not depend on the
    // machine, and a broken bundle should not be blamed on the driver.
    std::string binPath = m.path(m.cudaBinary);
    std::vector<char> binary, ptx;
    if (!readFile(binPath, binary, err) ||
        !checkCudaBinary(binPath, binary, err))
      return DLART_ERROR_BUNDLE;
    if (!m.cudaPtx.empty()) {
      if (!readFile(m.path(m.cudaPtx), ptx, err))
        return DLART_ERROR_BUNDLE;
      ptx.push_back('\0'); // cuModuleLoadData reads PTX as a C string.
    }

    d_ = loadDriver(err);
    if (!d_)
      return DLART_ERROR_DEVICE;
    int count = 0;
    if (!check(d_->cuDeviceGetCount(&count), "cuDeviceGetCount", err))
      return DLART_ERROR_DEVICE;
    if (count == 0) {
      err = "no CUDA device: the driver finds no GPU; use --device host";
      return DLART_ERROR_DEVICE;
    }
    // Device 0 of those CUDA_VISIBLE_DEVICES leaves visible.
    char name[256] = {0};
    int major = 0, minor = 0;
    if (!check(d_->cuDeviceGet(&device_, 0), "cuDeviceGet", err) ||
        !check(d_->cuDeviceGetName(name, sizeof(name) - 1, device_),
               "cuDeviceGetName", err) ||
        !check(d_->cuDeviceGetAttribute(
                   &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_),
               "cuDeviceGetAttribute", err) ||
        !check(d_->cuDeviceGetAttribute(
                   &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_),
               "cuDeviceGetAttribute", err))
      return DLART_ERROR_DEVICE;
    std::string sm = "sm_" + std::to_string(major) + std::to_string(minor);
    deviceName_ = name;
    deviceText_ = deviceName_ + " (" + sm + ")";
    if (!check(d_->cuDevicePrimaryCtxRetain(&ctx_, device_),
               "cuDevicePrimaryCtxRetain", err))
      return DLART_ERROR_DEVICE;
    if (!check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err))
      return DLART_ERROR_DEVICE;

    if (!loadModule(m, binPath, binary, ptx, sm, major, minor, err))
      return DLART_ERROR_DEVICE;
    binName_ = m.cudaBinary;
    layout_ = layout;
    dir_ = m.dir;
    if (!resolve(m, layout, binPath, err))
      return DLART_ERROR_DEVICE;
    return DLART_OK;
  }

  bool uploadShared(uint64_t offset, const void *src, size_t bytes,
                    std::string &err) override {
    if (!check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err) ||
        !check(d_->cuMemcpyHtoD(block_ + offset, src, bytes), "cuMemcpyHtoD",
               err))
      return false;
    // From pageable memory the copy may still be in flight on the legacy
    // stream, which the contexts' non-blocking streams do not wait for.
    return !d_->cuMemcpyHtoDAsync ||
           check(d_->cuStreamSynchronize(nullptr), "cuStreamSynchronize", err);
  }
  bool downloadShared(uint64_t offset, void *dst, size_t bytes,
                      std::string &err) override {
    return check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err) &&
           check(d_->cuMemcpyDtoH(dst, block_ + offset, bytes),
                 "cuMemcpyDtoH", err);
  }

  std::unique_ptr<BackendContext> createContext(bool primary, unsigned,
                                                bool graph, dlart_status &status,
                                                std::string &err) override {
    status = DLART_ERROR_DEVICE;
    if (!check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err))
      return nullptr;
    CUdeviceptr base = block_ + layout_.sharedBytes;
    if (!primary) {
      uint64_t bytes = layout_.contextBytes ? layout_.contextBytes : 1;
      CUresult r = d_->cuMemAlloc(&base, bytes);
      if (r != CUDA_SUCCESS) {
        err = r == CUDA_ERROR_OUT_OF_MEMORY
                  ? outOfMemory(dir_ + ": out of GPU memory: an execution "
                                       "context needs " +
                                    size(layout_.contextBytes) +
                                    " (inputs, outputs and the activation arena)",
                                r)
                  : "cuda: cuMemAlloc of " + std::to_string(bytes) +
                        " bytes for an execution context failed: " +
                        d_->describe(r);
        return nullptr;
      }
    }
    auto c = std::make_unique<CudaContext>(*this, base, !primary, graph);
    if (!primary &&
        !check(d_->cuMemsetD8(base, 0, layout_.contextBytes), "cuMemsetD8", err))
      return nullptr;
    if (!c->start(err))
      return nullptr;
    status = DLART_OK;
    return c;
  }

  bool check(CUresult r, const std::string &what, std::string &err) const {
    if (r == CUDA_SUCCESS)
      return true;
    err = "cuda: " + what + " failed: " + d_->describe(r);
    return false;
  }

  /// The steps of `phase` bound to a context's region.
  std::vector<CudaStep> bind(Phase phase, CUdeviceptr base) const {
    std::vector<CudaStep> out;
    for (const StepPlan &p : phase == Phase::Init ? init_ : forward_) {
      CudaStep &c = out.emplace_back();
      c.plan = &p;
      for (uint32_t id : p.args)
        c.ptrs.push_back((layout_.region[id] == Layout::Region::Shared ? block_ : base) +
                         layout_.offset[id]);
    }
    for (CudaStep &c : out) // After the vector stopped moving.
      for (CUdeviceptr &ptr : c.ptrs)
        c.params.push_back(&ptr);
    return out;
  }

  const Driver *d_ = nullptr;
  CUcontext ctx_ = nullptr;
  std::string deviceText_; ///< "NVIDIA H200 (sm_90)"
  std::string binName_, jitFrom_;

private:
  // cubin/fatbin first; its PTX when the driver finds no SASS for the device.
  bool loadModule(const Manifest &m, const std::string &binPath,
                  const std::vector<char> &binary, const std::vector<char> &ptx,
                  const std::string &sm, int major, int minor,
                  std::string &err) {
    std::string archs;
    for (const std::string &a : m.cudaArchs)
      archs += (archs.empty() ? "" : ", ") + a;
    std::string device = "the device '" + deviceName_ + "' is " + sm + " (compute capability " +
                         std::to_string(major) + "." + std::to_string(minor) + ")";
    std::string log;
    CUresult r = loadData(binary.data(), log);
    if (r == CUDA_SUCCESS)
      return true;
    if (r == CUDA_ERROR_INVALID_IMAGE) {
      err = binPath + ": the CUDA driver rejects the kernel image as corrupt "
                      "(cuModuleLoadData: " + d_->describe(r) +
            (log.empty() ? "" : ": " + log) +
            "); compile the bundle again";
      return false;
    }
    if (r != CUDA_ERROR_NO_BINARY_FOR_GPU) {
      err = binPath + ": cuModuleLoadData failed: " + d_->describe(r) +
            (log.empty() ? "" : ": " + log);
      return false;
    }
    if (ptx.empty()) {
      err = binPath + ": no kernel image for this GPU: the bundle has " + archs +
            " and no PTX, " + device + "; recompile with --arch " + sm;
      return false;
    }
    r = loadData(ptx.data(), log);
    if (r == CUDA_SUCCESS) {
      jitFrom_ = m.cudaPtx;
      return true;
    }
    err = binPath + ": no kernel image for this GPU: the bundle has " + archs +
          ", " + device + ", and JIT compilation of " + m.path(m.cudaPtx) +
          " failed: " + d_->describe(r) + (log.empty() ? "" : ": " + log) +
          "; recompile with --arch " + sm;
    return false;
  }

  CUresult loadData(const void *image, std::string &log) {
    char buf[4096] = {0};
    int opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *vals[] = {buf, reinterpret_cast<void *>(uintptr_t(sizeof(buf) - 1))};
    CUresult r = d_->cuModuleLoadDataEx(&module_, image, 2, opts, vals);
    if (r != CUDA_SUCCESS)
      module_ = nullptr;
    log = buf;
    while (!log.empty() && (log.back() == '\n' || log.back() == '\0'))
      log.pop_back();
    for (char &c : log) // Keep the message on one line.
      if (c == '\n')
        c = ' ';
    return r;
  }

  bool resolve(const Manifest &m, const Layout &layout,
               const std::string &binPath, std::string &err) {
    uint64_t total = layout.totalBytes();
    CUresult r = d_->cuMemAlloc(&block_, total ? total : 1);
    if (r != CUDA_SUCCESS) {
      block_ = 0;
      if (r == CUDA_ERROR_OUT_OF_MEMORY) {
        err = outOfMemory(m.dir + ": out of GPU memory: the model needs " +
                              size(total) + " in one block (" +
                              size(m.preparedBytes) + " prepared, " +
                              size(m.arenaBytes) +
                              " activation arena, the rest parameters, inputs "
                              "and outputs)",
                          r);
        return false;
      }
      return check(r, "cuMemAlloc of " + std::to_string(total) + " bytes", err);
    }
    if (!check(d_->cuMemsetD8(block_, 0, total), "cuMemsetD8", err))
      return false;
    int optin = 0;
    d_->cuDeviceGetAttribute(
        &optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device_);
    for (auto [phase, steps, out] :
         {std::tuple<const char *, const std::vector<StepDesc> *,
                     std::vector<StepPlan> *>{"init", &m.init, &init_},
          {"forward", &m.forward, &forward_}}) {
      out->resize(steps->size());
      for (size_t i = 0; i < steps->size(); ++i) {
        const StepDesc &s = (*steps)[i];
        StepPlan &c = (*out)[i];
        c.where = std::string(phase) + "[" + std::to_string(i) + "] kernel '" +
                  s.kernel + "'";
        CUresult r = d_->cuModuleGetFunction(&c.fn, module_, s.kernel.c_str());
        if (r != CUDA_SUCCESS) {
          err = binPath + ": kernel '" + s.kernel + "' (" + phase + "[" +
                std::to_string(i) + "]) is not in the module: " +
                d_->describe(r);
          return false;
        }
        if (s.sharedBytes > kStaticSharedLimit) {
          if (s.sharedBytes > unsigned(optin)) {
            err = m.dir + ": " + c.where + " needs " +
                  std::to_string(s.sharedBytes) +
                  " bytes of dynamic shared memory; the device " +
                  deviceText_ + " allows " + std::to_string(optin);
            return false;
          }
          if (!check(d_->cuFuncSetAttribute(
                         c.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                         int(s.sharedBytes)),
                     c.where + ": cuFuncSetAttribute", err))
            return false;
        }
        c.grid = s.grid;
        c.block = s.block;
        c.sharedBytes = s.sharedBytes;
        c.args.assign(s.args.begin(), s.args.end());
      }
    }
    return true;
  }

  /// "1280 bytes (1.2 KiB)".
  static std::string size(uint64_t bytes) {
    std::string text = std::to_string(bytes) + " bytes";
    if (bytes < 1024)
      return text;
    char buf[32];
    double v = bytes >= (uint64_t(1) << 30)   ? bytes / 1073741824.0
               : bytes >= (uint64_t(1) << 20) ? bytes / 1048576.0
                                              : bytes / 1024.0;
    const char *unit = bytes >= (uint64_t(1) << 30)   ? "GiB"
                       : bytes >= (uint64_t(1) << 20) ? "MiB"
                                                      : "KiB";
    std::snprintf(buf, sizeof(buf), " (%.1f %s)", v, unit);
    return text + buf;
  }

  // `what` + "; the device 'NAME' has F bytes free of T bytes (cuMemAlloc:
  // ...); free GPU memory or use --device host".
  std::string outOfMemory(std::string text, CUresult r) const {
    size_t freeBytes = 0, totalBytes = 0;
    if (d_->cuMemGetInfo &&
        d_->cuMemGetInfo(&freeBytes, &totalBytes) == CUDA_SUCCESS)
      text += "; the device '" + deviceName_ + "' has " + size(freeBytes) +
              " free of " + size(totalBytes);
    return text + " (cuMemAlloc: " + d_->describe(r) +
           "); free GPU memory or use --device host";
  }

  CUdevice device_ = 0;
  CUmodule module_ = nullptr;
  CUdeviceptr block_ = 0; ///< The shared region, then the default context's.
  Layout layout_;
  std::string dir_;
  std::vector<StepPlan> init_, forward_;
  std::string deviceName_; ///< "NVIDIA H200"
};

CudaContext::~CudaContext() {
  const Driver *d = b_.d_;
  d->cuCtxSetCurrent(b_.ctx_);
  if (stream_)
    d->cuStreamSynchronize(stream_);
  if (graphExec_)
    d->cuGraphExecDestroy(graphExec_);
  if (graph_)
    d->cuGraphDestroy(graph_);
  for (CUevent e : events_)
    d->cuEventDestroy(e);
  if (stream_)
    d->cuStreamDestroy(stream_);
  if (ownsBase_ && base_)
    d->cuMemFree(base_);
}

bool CudaContext::check(CUresult r, const std::string &what,
                        std::string &err) const {
  return b_.check(r, what, err);
}

bool CudaContext::start(std::string &err) {
  // Non-blocking when the copies can go on the stream too: then nothing of
  // this context waits for the legacy stream, nor for other contexts.
  unsigned flags = b_.d_->cuMemcpyHtoDAsync ? CU_STREAM_NON_BLOCKING : 0;
  if (!check(b_.d_->cuStreamCreate(&stream_, flags), "cuStreamCreate", err))
    return false;
  init_ = b_.bind(Phase::Init, base_);
  forward_ = b_.bind(Phase::Forward, base_);
  return true;
}

bool CudaContext::upload(uint64_t offset, const void *src, size_t bytes,
                         std::string &err) {
  const Driver *d = b_.d_;
  if (!check(d->cuCtxSetCurrent(b_.ctx_), "cuCtxSetCurrent", err))
    return false;
  if (d->cuMemcpyHtoDAsync) // Pageable memory: staged before it returns.
    return check(d->cuMemcpyHtoDAsync(base_ + offset, src, bytes, stream_),
                 "cuMemcpyHtoDAsync", err);
  return check(d->cuMemcpyHtoD(base_ + offset, src, bytes), "cuMemcpyHtoD", err);
}

bool CudaContext::download(uint64_t offset, void *dst, size_t bytes,
                           std::string &err) {
  const Driver *d = b_.d_;
  if (!check(d->cuCtxSetCurrent(b_.ctx_), "cuCtxSetCurrent", err))
    return false;
  if (d->cuMemcpyDtoHAsync)
    return check(d->cuMemcpyDtoHAsync(dst, base_ + offset, bytes, stream_),
                 "cuMemcpyDtoHAsync", err) &&
           check(d->cuStreamSynchronize(stream_), "cuStreamSynchronize", err);
  return check(d->cuStreamSynchronize(stream_), "cuStreamSynchronize", err) &&
         check(d->cuMemcpyDtoH(dst, base_ + offset, bytes), "cuMemcpyDtoH", err);
}

bool CudaContext::run(Phase phase, std::string &err) {
  const Driver *d = b_.d_;
  if (!check(d->cuCtxSetCurrent(b_.ctx_), "cuCtxSetCurrent", err))
    return false;
  const char *what = phase == Phase::Init ? "init" : "forward";
  if (phase == Phase::Forward && useGraph_) {
    if (!graphExec_ && !capture(err))
      return false;
    if (!check(d->cuGraphLaunch(graphExec_, stream_), "cuGraphLaunch", err))
      return false;
  } else {
    for (CudaStep &s : phase == Phase::Init ? init_ : forward_)
      if (!launch(s, err))
        return false;
  }
  // Kernel faults surface here, not at launch.
  return check(d->cuStreamSynchronize(stream_),
               std::string("the ") + what + " pass (cuStreamSynchronize)", err);
}

bool CudaContext::profile(std::vector<double> &stepMs, std::string &err) {
  const Driver *d = b_.d_;
  if (!check(d->cuCtxSetCurrent(b_.ctx_), "cuCtxSetCurrent", err))
    return false;
  while (events_.size() < forward_.size() + 1) {
    CUevent e = nullptr;
    if (!check(d->cuEventCreate(&e, 0), "cuEventCreate", err))
      return false;
    events_.push_back(e);
  }
  for (size_t i = 0; i < forward_.size(); ++i)
    if (!check(d->cuEventRecord(events_[i], stream_), "cuEventRecord", err) ||
        !launch(forward_[i], err))
      return false;
  if (!check(d->cuEventRecord(events_[forward_.size()], stream_),
             "cuEventRecord", err) ||
      !check(d->cuEventSynchronize(events_[forward_.size()]),
             "the profiled forward pass (cuEventSynchronize)", err))
    return false;
  stepMs.clear();
  for (size_t i = 0; i < forward_.size(); ++i) {
    float ms = 0;
    if (!check(d->cuEventElapsedTime(&ms, events_[i], events_[i + 1]),
               "cuEventElapsedTime", err))
      return false;
    stepMs.push_back(ms);
  }
  return true;
}

std::string CudaContext::describe() const {
  return "cuda, " + b_.deviceText_ + ", " +
         (b_.jitFrom_.empty() ? b_.binName_ : "PTX JIT-compiled from " + b_.jitFrom_);
}

bool CudaContext::launch(CudaStep &s, std::string &err) {
  const StepPlan &p = *s.plan;
  return check(b_.d_->cuLaunchKernel(p.fn, p.grid[0], p.grid[1], p.grid[2],
                                     p.block[0], p.block[1], p.block[2],
                                     p.sharedBytes, stream_, s.params.data(),
                                     nullptr),
               p.where + ": cuLaunchKernel", err);
}

// Records the forward launches once; kernel arguments are fixed device
// addresses (the shared region and this context's), so the graph stays valid
// for the lifetime of the context (reloading weights only changes memory
// contents).
bool CudaContext::capture(std::string &err) {
  const Driver *d = b_.d_;
  if (!check(d->cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
             "cuStreamBeginCapture", err))
    return false;
  bool ok = true;
  for (CudaStep &s : forward_)
    if (!(ok = launch(s, err)))
      break;
  // End the capture even after a failed launch, so the stream is usable.
  CUresult r = d->cuStreamEndCapture(stream_, &graph_);
  if (!ok)
    return false;
  return check(r, "cuStreamEndCapture", err) &&
         check(d->cuGraphInstantiateWithFlags(&graphExec_, graph_, 0),
               "cuGraphInstantiate", err);
}

} // namespace

std::unique_ptr<Backend> createCudaBackend() {
  return std::make_unique<CudaBackend>();
}

} // namespace dlart
