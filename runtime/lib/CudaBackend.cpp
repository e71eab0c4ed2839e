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
// Memory: one cuMemAlloc holds every buffer (Layout). Kernels: the bundle's
// cubin/fatbin, with its PTX JIT-compiled by the driver when no SASS fits
// the device. forward: one cuLaunchKernel per step on one stream, optionally
// captured once into a CUDA graph and replayed.
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

struct CudaStep {
  CUfunction fn = nullptr;
  std::array<uint32_t, 3> grid{}, block{};
  uint32_t sharedBytes = 0;
  std::vector<CUdeviceptr> ptrs;
  std::vector<void *> params; ///< &ptrs[i], as cuLaunchKernel wants.
  std::string where;          ///< "forward[3] kernel 'x'", for messages.
};

class CudaBackend : public Backend {
public:
  ~CudaBackend() override {
    if (!d_)
      return;
    if (ctx_)
      d_->cuCtxSetCurrent(ctx_);
    if (graphExec_)
      d_->cuGraphExecDestroy(graphExec_);
    if (graph_)
      d_->cuGraphDestroy(graph_);
    for (CUevent e : events_)
      d_->cuEventDestroy(e);
    if (stream_)
      d_->cuStreamDestroy(stream_);
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
    if (!resolve(m, layout, binPath, err))
      return DLART_ERROR_DEVICE;
    if (!check(d_->cuStreamCreate(&stream_, 0), "cuStreamCreate", err))
      return DLART_ERROR_DEVICE;
    return DLART_OK;
  }

  bool upload(uint64_t offset, const void *src, size_t bytes,
              std::string &err) override {
    return check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err) &&
           check(d_->cuMemcpyHtoD(block_ + offset, src, bytes),
                 "cuMemcpyHtoD", err);
  }
  bool download(uint64_t offset, void *dst, size_t bytes,
                std::string &err) override {
    return check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err) &&
           check(d_->cuStreamSynchronize(stream_), "cuStreamSynchronize",
                 err) &&
           check(d_->cuMemcpyDtoH(dst, block_ + offset, bytes),
                 "cuMemcpyDtoH", err);
  }

  bool run(Phase phase, std::string &err) override {
    if (!check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err))
      return false;
    const char *what = phase == Phase::Init ? "init" : "forward";
    if (phase == Phase::Forward && useGraph_) {
      if (!graphExec_ && !capture(err))
        return false;
      if (!check(d_->cuGraphLaunch(graphExec_, stream_), "cuGraphLaunch", err))
        return false;
    } else {
      for (CudaStep &s : phase == Phase::Init ? init_ : forward_)
        if (!launch(s, err))
          return false;
    }
    // Kernel faults surface here, not at launch.
    return check(d_->cuStreamSynchronize(stream_),
                 std::string("the ") + what + " pass (cuStreamSynchronize)",
                 err);
  }

  bool profile(std::vector<double> &stepMs, std::string &err) override {
    if (!check(d_->cuCtxSetCurrent(ctx_), "cuCtxSetCurrent", err))
      return false;
    while (events_.size() < forward_.size() + 1) {
      CUevent e = nullptr;
      if (!check(d_->cuEventCreate(&e, 0), "cuEventCreate", err))
        return false;
      events_.push_back(e);
    }
    for (size_t i = 0; i < forward_.size(); ++i)
      if (!check(d_->cuEventRecord(events_[i], stream_), "cuEventRecord",
                 err) ||
          !launch(forward_[i], err))
        return false;
    if (!check(d_->cuEventRecord(events_[forward_.size()], stream_),
               "cuEventRecord", err) ||
        !check(d_->cuEventSynchronize(events_[forward_.size()]),
               "the profiled forward pass (cuEventSynchronize)", err))
      return false;
    stepMs.clear();
    for (size_t i = 0; i < forward_.size(); ++i) {
      float ms = 0;
      if (!check(d_->cuEventElapsedTime(&ms, events_[i], events_[i + 1]),
                 "cuEventElapsedTime", err))
        return false;
      stepMs.push_back(ms);
    }
    return true;
  }

  void setGraph(bool enable) override { useGraph_ = enable; }

  std::string describe() const override {
    return "cuda, " + deviceText_ + ", " +
           (jitFrom_.empty() ? binName_ : "PTX JIT-compiled from " + jitFrom_);
  }

private:
  bool check(CUresult r, const std::string &what, std::string &err) const {
    if (r == CUDA_SUCCESS)
      return true;
    err = "cuda: " + what + " failed: " + d_->describe(r);
    return false;
  }

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
    CUresult r = d_->cuMemAlloc(&block_, layout.totalBytes ? layout.totalBytes : 1);
    if (r != CUDA_SUCCESS) {
      block_ = 0;
      if (r == CUDA_ERROR_OUT_OF_MEMORY) {
        err = outOfMemory(m, layout, r);
        return false;
      }
      return check(r, "cuMemAlloc of " + std::to_string(layout.totalBytes) +
                          " bytes", err);
    }
    if (!check(d_->cuMemsetD8(block_, 0, layout.totalBytes), "cuMemsetD8", err))
      return false;
    int optin = 0;
    d_->cuDeviceGetAttribute(
        &optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device_);
    for (auto [phase, steps, out] :
         {std::tuple<const char *, const std::vector<StepDesc> *,
                     std::vector<CudaStep> *>{"init", &m.init, &init_},
          {"forward", &m.forward, &forward_}}) {
      out->resize(steps->size());
      for (size_t i = 0; i < steps->size(); ++i) {
        const StepDesc &s = (*steps)[i];
        CudaStep &c = (*out)[i];
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
        for (uint32_t id : s.args)
          c.ptrs.push_back(block_ + layout.offset[id]);
        for (CUdeviceptr &p : c.ptrs)
          c.params.push_back(&p);
      }
    }
    return true;
  }

  // "m.dlab: out of GPU memory: the model needs N bytes (1.5 GiB) ...".
  std::string outOfMemory(const Manifest &m, const Layout &layout,
                          CUresult r) const {
    auto size = [](uint64_t bytes) {
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
    };
    std::string text = m.dir + ": out of GPU memory: the model needs " +
                       size(layout.totalBytes) + " in one block (" +
                       size(m.preparedBytes) + " prepared, " +
                       size(m.arenaBytes) +
                       " activation arena, the rest parameters, inputs and "
                       "outputs)";
    size_t freeBytes = 0, totalBytes = 0;
    if (d_->cuMemGetInfo &&
        d_->cuMemGetInfo(&freeBytes, &totalBytes) == CUDA_SUCCESS)
      text += "; the device '" + deviceName_ + "' has " + size(freeBytes) +
              " free of " + size(totalBytes);
    return text + " (cuMemAlloc: " + d_->describe(r) +
           "); free GPU memory or use --device host";
  }

  bool launch(CudaStep &s, std::string &err) {
    return check(d_->cuLaunchKernel(s.fn, s.grid[0], s.grid[1], s.grid[2],
                                    s.block[0], s.block[1], s.block[2],
                                    s.sharedBytes, stream_, s.params.data(),
                                    nullptr),
                 s.where + ": cuLaunchKernel", err);
  }

  // Records the forward launches once; kernel arguments are fixed device
  // addresses inside the one block, so the graph stays valid for the
  // lifetime of the model (reloading weights only changes memory contents).
  bool capture(std::string &err) {
    if (!check(d_->cuStreamBeginCapture(stream_,
                                        CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
               "cuStreamBeginCapture", err))
      return false;
    bool ok = true;
    for (CudaStep &s : forward_)
      if (!(ok = launch(s, err)))
        break;
    // End the capture even after a failed launch, so the stream is usable.
    CUresult r = d_->cuStreamEndCapture(stream_, &graph_);
    if (!ok)
      return false;
    return check(r, "cuStreamEndCapture", err) &&
           check(d_->cuGraphInstantiateWithFlags(&graphExec_, graph_, 0),
                 "cuGraphInstantiate", err);
  }

  const Driver *d_ = nullptr;
  CUdevice device_ = 0;
  CUcontext ctx_ = nullptr;
  CUmodule module_ = nullptr;
  CUstream stream_ = nullptr;
  CUdeviceptr block_ = 0;
  std::vector<CudaStep> init_, forward_;
  std::vector<CUevent> events_;
  CUgraph graph_ = nullptr;
  CUgraphExec graphExec_ = nullptr;
  bool useGraph_ = false;
  std::string deviceName_; ///< "NVIDIA H200"
  std::string deviceText_; ///< "NVIDIA H200 (sm_90)"
  std::string binName_, jitFrom_;
};

} // namespace

std::unique_ptr<Backend> createCudaBackend() {
  return std::make_unique<CudaBackend>();
}

} // namespace dlart
