//===- CudaDriver.cpp - opens libcuda.so.1 and resolves its entry points --===//
//
// Part of libdlart. The CUDA driver is opened with dlopen("libcuda.so.1") the
// first time a model asks for the cuda device (or the library
// DLART_CUDA_DRIVER names, e.g. the tests' fake driver), its entry points
// are bound to the Driver table of CudaDriver.h, newest ABI first, and
// cuInit is called, once per process.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <initializer_list>
#include <mutex>
#include <type_traits>

namespace dlart {

const Driver *loadDriver(std::string &err) {
  static std::once_flag once;
  static Driver driver;
  static std::string loadError;
  std::call_once(once, [] {
    // DLART_CUDA_DRIVER: another driver library (a path or a soname).
    const char *env = std::getenv("DLART_CUDA_DRIVER");
    bool custom = env && *env;
    std::string name = custom ? env : "libcuda.so.1";
    void *lib = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = ::dlerror();
      std::string w = why ? why : "";
      if (custom)
        loadError = "no CUDA driver: cannot load " + name +
                    " (named by DLART_CUDA_DRIVER): " +
                    (w.empty() ? "unknown dlopen error" : w) +
                    "; use --device host";
      else if (w.find("No such file") != std::string::npos || w.empty())
        loadError = "no CUDA driver: libcuda.so.1 not found (this machine has "
                    "no NVIDIA driver); use --device host";
      else
        loadError = "no CUDA driver: cannot load libcuda.so.1: " + w +
                    "; use --device host";
      return;
    }
    // Newest ABI first: cuda.h maps e.g. cuMemAlloc to cuMemAlloc_v2.
    auto bind = [&](auto &fn, std::initializer_list<const char *> names) {
      for (const char *n : names)
        if (void *p = ::dlsym(lib, n)) {
          fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
          return true;
        }
      loadError = name + ": the driver has no " + *names.begin() +
                  " (driver too old: the runtime needs a CUDA 12 driver or "
                  "newer); use --device host";
      return false;
    };
    Driver &d = driver;
    bool ok =
        bind(d.cuInit, {"cuInit"}) &&
        bind(d.cuGetErrorName, {"cuGetErrorName"}) &&
        bind(d.cuGetErrorString, {"cuGetErrorString"}) &&
        bind(d.cuDeviceGetCount, {"cuDeviceGetCount"}) &&
        bind(d.cuDeviceGet, {"cuDeviceGet"}) &&
        bind(d.cuDeviceGetName, {"cuDeviceGetName"}) &&
        bind(d.cuDeviceGetAttribute, {"cuDeviceGetAttribute"}) &&
        bind(d.cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"}) &&
        bind(d.cuDevicePrimaryCtxRelease,
             {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"}) &&
        bind(d.cuCtxSetCurrent, {"cuCtxSetCurrent"}) &&
        bind(d.cuModuleLoadDataEx, {"cuModuleLoadDataEx"}) &&
        bind(d.cuModuleUnload, {"cuModuleUnload"}) &&
        bind(d.cuModuleGetFunction, {"cuModuleGetFunction"}) &&
        bind(d.cuFuncSetAttribute, {"cuFuncSetAttribute"}) &&
        bind(d.cuMemAlloc, {"cuMemAlloc_v2"}) &&
        bind(d.cuMemFree, {"cuMemFree_v2"}) &&
        bind(d.cuMemsetD8, {"cuMemsetD8_v2"}) &&
        bind(d.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}) &&
        bind(d.cuMemcpyDtoH, {"cuMemcpyDtoH_v2"}) &&
        bind(d.cuStreamCreate, {"cuStreamCreate"}) &&
        bind(d.cuStreamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"}) &&
        bind(d.cuStreamSynchronize, {"cuStreamSynchronize"}) &&
        bind(d.cuLaunchKernel, {"cuLaunchKernel"}) &&
        bind(d.cuStreamBeginCapture,
             {"cuStreamBeginCapture_v2", "cuStreamBeginCapture"}) &&
        bind(d.cuStreamEndCapture, {"cuStreamEndCapture"}) &&
        bind(d.cuGraphInstantiateWithFlags, {"cuGraphInstantiateWithFlags"}) &&
        bind(d.cuGraphLaunch, {"cuGraphLaunch"}) &&
        bind(d.cuGraphDestroy, {"cuGraphDestroy"}) &&
        bind(d.cuGraphExecDestroy, {"cuGraphExecDestroy"}) &&
        bind(d.cuEventCreate, {"cuEventCreate"}) &&
        bind(d.cuEventRecord, {"cuEventRecord"}) &&
        bind(d.cuEventSynchronize, {"cuEventSynchronize"}) &&
        bind(d.cuEventElapsedTime,
             {"cuEventElapsedTime_v2", "cuEventElapsedTime"}) &&
        bind(d.cuEventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"});
    if (!ok)
      return;
    if (void *p = ::dlsym(lib, "cuMemGetInfo_v2"))
      d.cuMemGetInfo = reinterpret_cast<decltype(d.cuMemGetInfo)>(p);
    void *htod = ::dlsym(lib, "cuMemcpyHtoDAsync_v2");
    void *dtoh = ::dlsym(lib, "cuMemcpyDtoHAsync_v2");
    if (htod && dtoh) {
      d.cuMemcpyHtoDAsync = reinterpret_cast<decltype(d.cuMemcpyHtoDAsync)>(htod);
      d.cuMemcpyDtoHAsync = reinterpret_cast<decltype(d.cuMemcpyDtoHAsync)>(dtoh);
    }
    CUresult r = d.cuInit(0);
    if (r == CUDA_ERROR_NO_DEVICE)
      loadError = "no CUDA device: the NVIDIA driver is installed but finds no "
                  "GPU (cuInit: " + d.describe(r) + "); use --device host";
    else if (r != CUDA_SUCCESS)
      loadError = "the CUDA driver failed to initialise (cuInit: " +
                  d.describe(r) + "); use --device host";
  });
  if (!loadError.empty()) {
    err = loadError;
    return nullptr;
  }
  return &driver;
}

} // namespace dlart
