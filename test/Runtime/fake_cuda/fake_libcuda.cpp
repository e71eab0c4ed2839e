//===- fake_libcuda.cpp - a fake CUDA driver for the runtime's tests ------===//
//
// Test-only. libdlart's cuda backend opens the driver with dlopen; with
// DLART_CUDA_DRIVER=/path/to/libdla_fake_cuda.so it opens this library
// instead, so the tests can produce the driver's failures on any machine,
// with or without a GPU. It implements exactly the entry points the backend
// resolves (runtime/lib/CudaDriver.cpp), with cuda.h's values, over host
// memory: "device" pointers are host allocations, kernels are not run (a
// launch checks its arguments and, with DLA_FAKE_CUDA_TRACE, prints itself).
//
// What it does is set by environment variables, read at cuInit:
//
//   DLA_FAKE_CUDA_DEVICES  number of devices (default 1); 0 makes cuInit
//                          return CUDA_ERROR_NO_DEVICE, as a driver without
//                          a GPU does
//   DLA_FAKE_CUDA_NAME     device name (default "Fake GPU")
//   DLA_FAKE_CUDA_CC       compute capability MAJOR.MINOR (default 9.0)
//   DLA_FAKE_CUDA_MEMORY   device memory in bytes (default 1 GiB);
//                          cuMemAlloc beyond it is CUDA_ERROR_OUT_OF_MEMORY
//   DLA_FAKE_CUDA_FAIL     ENTRY=ERROR[,ENTRY=ERROR...]: the entry point
//                          (without _v2, e.g. cuModuleLoadDataEx) returns
//                          that error (a CUDA_ERROR_* name or a number)
//   DLA_FAKE_CUDA_TRACE    1: print module loads and launches to stderr
//
// Module loading follows the real driver: a cubin (ELF, EM_CUDA) loads only
// on a device of its major version and at least its minor version (the SM
// version is read from e_flags); a fatbin loads if one of its cubins fits,
// else its PTX if that is not newer than the device; PTX text is
// "JIT-compiled" when its .target is not newer than the device, else the
// load fails with CUDA_ERROR_INVALID_PTX and an error log. Anything else is
// CUDA_ERROR_INVALID_IMAGE. cuModuleGetFunction finds a kernel when its name
// is in the image (a symbol name in a cubin/fatbin, an .entry in PTX).
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using CUresult = int;

struct ErrorInfo {
  CUresult code;
  const char *name, *text;
};
// The errors the fake returns or can be told to return (cuda.h values and
// the driver's texts).
const ErrorInfo kErrors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU",
     "no kernel image is available for execution on the device"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
     "the provided PTX was compiled with an unsupported toolchain."},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
     "too many resources requested for launch"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const ErrorInfo *findError(CUresult r) {
  for (const ErrorInfo &e : kErrors)
    if (e.code == r)
      return &e;
  return nullptr;
}

struct Module {
  enum Kind { Cubin, Fatbin, Ptx } kind;
  std::string bytes; // The image (up to its end as its headers say).
};
struct Function {
  std::string name;
  Module *module;
};

struct State {
  std::mutex mutex;
  bool initialised = false;
  int devices = 1;
  std::string name = "Fake GPU";
  int major = 9, minor = 0;
  uint64_t memory = uint64_t(1) << 30, used = 0;
  std::map<std::string, CUresult> fail;
  bool trace = false;
  std::map<uintptr_t, size_t> allocations; // base -> bytes
  int context = 0, stream = 0, event = 0, graph = 0, graphExec = 0;
};

State &state() {
  static State s;
  return s;
}

CUresult parseError(const std::string &text) {
  for (const ErrorInfo &e : kErrors)
    if (text == e.name)
      return e.code;
  return std::atoi(text.c_str());
}

void configure(State &s) {
  if (const char *v = std::getenv("DLA_FAKE_CUDA_DEVICES"))
    s.devices = std::atoi(v);
  if (const char *v = std::getenv("DLA_FAKE_CUDA_NAME"))
    s.name = v;
  if (const char *v = std::getenv("DLA_FAKE_CUDA_CC"))
    std::sscanf(v, "%d.%d", &s.major, &s.minor);
  if (const char *v = std::getenv("DLA_FAKE_CUDA_MEMORY"))
    s.memory = std::strtoull(v, nullptr, 10);
  if (const char *v = std::getenv("DLA_FAKE_CUDA_TRACE"))
    s.trace = std::strcmp(v, "1") == 0;
  if (const char *v = std::getenv("DLA_FAKE_CUDA_FAIL")) {
    std::string all = v;
    size_t at = 0;
    while (at <= all.size()) {
      size_t comma = all.find(',', at);
      std::string item = all.substr(at, comma == std::string::npos
                                            ? std::string::npos
                                            : comma - at);
      size_t eq = item.find('=');
      if (eq != std::string::npos)
        s.fail[item.substr(0, eq)] = parseError(item.substr(eq + 1));
      if (comma == std::string::npos)
        break;
      at = comma + 1;
    }
  }
}

// The error DLA_FAKE_CUDA_FAIL injects into `entry`, or 0.
CUresult injected(const char *entry) {
  State &s = state();
  auto it = s.fail.find(entry);
  return it == s.fail.end() ? 0 : it->second;
}

#define ENTRY(name)                                                           \
  State &s = state();                                                         \
  std::lock_guard<std::mutex> lock(s.mutex);                                  \
  if (CUresult injectedError = injected(name))                                \
    return injectedError;

#define NEED_INIT()                                                           \
  if (!s.initialised)                                                         \
    return 3; /* CUDA_ERROR_NOT_INITIALIZED */

// Whether [p, p + n) lies inside one allocation.
bool inside(const State &s, uintptr_t p, size_t n) {
  auto it = s.allocations.upper_bound(p);
  if (it == s.allocations.begin())
    return false;
  --it;
  return p >= it->first && n <= it->second && p - it->first <= it->second - n;
}

template <typename T> T readLE(const unsigned char *b) {
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

bool fits(const State &s, int sm) {
  return sm / 10 == s.major && sm % 10 <= s.minor;
}
bool ptxFits(const State &s, int sm) { return sm <= s.major * 10 + s.minor; }

// The SM version of a cubin (from e_flags) and its size from its headers.
bool readCubin(const unsigned char *b, int &sm, size_t &size) {
  if (std::memcmp(b, "\x7f" "ELF", 4) != 0 || b[4] != 2 ||
      readLE<uint16_t>(b + 18) != 190)
    return false;
  uint32_t flags = readLE<uint32_t>(b + 48);
  sm = b[8] >= 8 ? int((flags >> 8) & 0xff) : int(flags & 0xff);
  uint64_t shoff = readLE<uint64_t>(b + 40), phoff = readLE<uint64_t>(b + 32);
  uint64_t shentsize = readLE<uint16_t>(b + 58), shnum = readLE<uint16_t>(b + 60);
  uint64_t phentsize = readLE<uint16_t>(b + 54), phnum = readLE<uint16_t>(b + 56);
  uint64_t end = 64;
  end = std::max<uint64_t>(end, shoff + shentsize * shnum);
  end = std::max<uint64_t>(end, phoff + phentsize * phnum);
  for (uint64_t i = 0; i < shnum && shentsize >= 40; ++i) {
    const unsigned char *h = b + shoff + i * shentsize;
    if (readLE<uint32_t>(h + 4) != 8 /* SHT_NOBITS */)
      end = std::max<uint64_t>(end, readLE<uint64_t>(h + 24) +
                                        readLE<uint64_t>(h + 32));
  }
  size = end;
  return true;
}

// The .target of PTX text ("sm_90" -> 90), or -1.
int ptxTarget(const char *text) {
  const char *t = std::strstr(text, ".target");
  if (!t)
    return -1;
  t += 7;
  while (*t == ' ' || *t == '\t')
    ++t;
  int sm = -1;
  if (std::sscanf(t, "sm_%d", &sm) != 1)
    return -1;
  return sm;
}

void writeLog(unsigned n, const int *opts, void **vals, const std::string &msg) {
  char *buf = nullptr;
  size_t size = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (opts[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
      buf = static_cast<char *>(vals[i]);
    else if (opts[i] == 6) // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
      size = reinterpret_cast<uintptr_t>(vals[i]);
  }
  if (buf && size) {
    std::strncpy(buf, msg.c_str(), size - 1);
    buf[size - 1] = '\0';
  }
}

} // namespace

extern "C" {

CUresult cuInit(unsigned flags) {
  ENTRY("cuInit");
  if (flags != 0)
    return 1;
  configure(s);
  if (s.devices <= 0)
    return 100; // CUDA_ERROR_NO_DEVICE
  s.initialised = true;
  return 0;
}

CUresult cuGetErrorName(CUresult r, const char **out) {
  const ErrorInfo *e = findError(r);
  *out = e ? e->name : nullptr;
  return e ? 0 : 1;
}

CUresult cuGetErrorString(CUresult r, const char **out) {
  const ErrorInfo *e = findError(r);
  *out = e ? e->text : nullptr;
  return e ? 0 : 1;
}

CUresult cuDeviceGetCount(int *count) {
  ENTRY("cuDeviceGetCount");
  NEED_INIT();
  *count = s.devices;
  return 0;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  ENTRY("cuDeviceGet");
  NEED_INIT();
  if (ordinal < 0 || ordinal >= s.devices)
    return 101;
  *device = ordinal;
  return 0;
}

CUresult cuDeviceGetName(char *name, int len, int device) {
  ENTRY("cuDeviceGetName");
  NEED_INIT();
  if (device < 0 || device >= s.devices || len < 1)
    return 101;
  std::strncpy(name, s.name.c_str(), size_t(len) - 1);
  name[len - 1] = '\0';
  return 0;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  ENTRY("cuDeviceGetAttribute");
  NEED_INIT();
  if (device < 0 || device >= s.devices)
    return 101;
  switch (attribute) {
  case 75: *value = s.major; return 0;  // COMPUTE_CAPABILITY_MAJOR
  case 76: *value = s.minor; return 0;  // COMPUTE_CAPABILITY_MINOR
  case 97: *value = 232448; return 0;   // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
  default: return 1;
  }
}

CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  ENTRY("cuDevicePrimaryCtxRetain");
  NEED_INIT();
  if (device < 0 || device >= s.devices)
    return 101;
  *ctx = &s.context;
  return 0;
}

CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  ENTRY("cuDevicePrimaryCtxRelease");
  NEED_INIT();
  return device >= 0 && device < s.devices ? 0 : 101;
}

CUresult cuCtxSetCurrent(void *ctx) {
  ENTRY("cuCtxSetCurrent");
  NEED_INIT();
  return ctx == &s.context ? 0 : 201;
}

CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n,
                            int *opts, void **vals) {
  ENTRY("cuModuleLoadDataEx");
  NEED_INIT();
  const unsigned char *b = static_cast<const unsigned char *>(image);
  auto *m = new Module();
  int sm = -1;
  size_t size = 0;
  std::string how;
  if (std::memcmp(b, "\x7f" "ELF", 4) == 0) {
    if (!readCubin(b, sm, size)) {
      delete m;
      return 200; // CUDA_ERROR_INVALID_IMAGE
    }
    if (!fits(s, sm)) {
      delete m;
      return 209; // CUDA_ERROR_NO_BINARY_FOR_GPU
    }
    m->kind = Module::Cubin;
    how = "cubin sm_" + std::to_string(sm);
  } else if (readLE<uint32_t>(b) == 0xBA55ED50u) {
    // struct { u32 magic; u16 version; u16 headerSize; u64 fatSize; }, then
    // entries { u16 kind (1 PTX, 2 ELF); u16; u32 headerSize; u64 size; ...
    // u32 arch at byte 28 }.
    uint64_t header = readLE<uint16_t>(b + 6), total = readLE<uint64_t>(b + 8);
    size = header + total;
    int best = -1, bestPtx = -1;
    for (uint64_t at = header; at + 32 <= size;) {
      uint16_t kind = readLE<uint16_t>(b + at);
      uint32_t entryHeader = readLE<uint32_t>(b + at + 4);
      uint64_t entrySize = readLE<uint64_t>(b + at + 8);
      int arch = int(readLE<uint32_t>(b + at + 28));
      if (kind == 2 && fits(s, arch))
        best = std::max(best, arch);
      if (kind == 1 && ptxFits(s, arch))
        bestPtx = std::max(bestPtx, arch);
      if (entryHeader == 0)
        break;
      at += entryHeader + entrySize;
    }
    if (best < 0 && bestPtx < 0) {
      delete m;
      return 209;
    }
    m->kind = Module::Fatbin;
    how = best >= 0 ? "fatbin, cubin sm_" + std::to_string(best)
                    : "fatbin, PTX sm_" + std::to_string(bestPtx) + " JIT";
  } else {
    const char *text = static_cast<const char *>(image);
    if (!std::strstr(text, ".version")) {
      delete m;
      return 200;
    }
    sm = ptxTarget(text);
    if (sm < 0 || !ptxFits(s, sm)) {
      writeLog(n, opts, vals,
               sm < 0 ? "ptxas fatal   : no .target directive\n"
                      : "ptxas fatal   : SM version specified by .target "
                        "(sm_" + std::to_string(sm) +
                            ") is higher than the device's (sm_" +
                            std::to_string(s.major * 10 + s.minor) + ")\n");
      delete m;
      return 218; // CUDA_ERROR_INVALID_PTX
    }
    size = std::strlen(text);
    m->kind = Module::Ptx;
    how = "PTX sm_" + std::to_string(sm) + " JIT";
  }
  m->bytes.assign(reinterpret_cast<const char *>(b), size);
  if (s.trace)
    std::fprintf(stderr, "fake_libcuda: module loaded (%s)\n", how.c_str());
  *module = m;
  return 0;
}

CUresult cuModuleUnload(void *module) {
  ENTRY("cuModuleUnload");
  NEED_INIT();
  delete static_cast<Module *>(module);
  return 0;
}

CUresult cuModuleGetFunction(void **fn, void *module, const char *name) {
  ENTRY("cuModuleGetFunction");
  NEED_INIT();
  auto *m = static_cast<Module *>(module);
  if (!m)
    return 400;
  std::string needle = m->kind == Module::Ptx
                           ? ".entry " + std::string(name) + "("
                           : std::string(1, '\0') + name + std::string(1, '\0');
  if (m->bytes.find(needle) == std::string::npos)
    return 500; // CUDA_ERROR_NOT_FOUND
  *fn = new Function{name, m};
  // Functions live as long as the module in the real driver; here they leak
  // into a list freed at exit.
  static std::vector<std::unique_ptr<Function>> all;
  all.emplace_back(static_cast<Function *>(*fn));
  return 0;
}

CUresult cuFuncSetAttribute(void *fn, int attribute, int value) {
  ENTRY("cuFuncSetAttribute");
  NEED_INIT();
  if (!fn || attribute != 8 || value < 0 || value > 232448)
    return 1;
  return 0;
}

CUresult cuMemAlloc_v2(uintptr_t *ptr, size_t bytes) {
  ENTRY("cuMemAlloc");
  NEED_INIT();
  if (bytes == 0)
    return 1;
  if (bytes > s.memory - s.used)
    return 2; // CUDA_ERROR_OUT_OF_MEMORY
  void *p = std::malloc(bytes);
  if (!p)
    return 2;
  s.used += bytes;
  s.allocations[reinterpret_cast<uintptr_t>(p)] = bytes;
  *ptr = reinterpret_cast<uintptr_t>(p);
  return 0;
}

CUresult cuMemFree_v2(uintptr_t ptr) {
  ENTRY("cuMemFree");
  NEED_INIT();
  auto it = s.allocations.find(ptr);
  if (it == s.allocations.end())
    return 1;
  s.used -= it->second;
  s.allocations.erase(it);
  std::free(reinterpret_cast<void *>(ptr));
  return 0;
}

CUresult cuMemGetInfo_v2(size_t *freeBytes, size_t *totalBytes) {
  ENTRY("cuMemGetInfo");
  NEED_INIT();
  *freeBytes = s.memory - s.used;
  *totalBytes = s.memory;
  return 0;
}

CUresult cuMemsetD8_v2(uintptr_t ptr, unsigned char value, size_t n) {
  ENTRY("cuMemsetD8");
  NEED_INIT();
  if (!inside(s, ptr, n))
    return 1;
  std::memset(reinterpret_cast<void *>(ptr), value, n);
  return 0;
}

CUresult cuMemcpyHtoD_v2(uintptr_t dst, const void *src, size_t n) {
  ENTRY("cuMemcpyHtoD");
  NEED_INIT();
  if (!inside(s, dst, n))
    return 1;
  std::memcpy(reinterpret_cast<void *>(dst), src, n);
  return 0;
}

CUresult cuMemcpyDtoH_v2(void *dst, uintptr_t src, size_t n) {
  ENTRY("cuMemcpyDtoH");
  NEED_INIT();
  if (!inside(s, src, n))
    return 1;
  std::memcpy(dst, reinterpret_cast<const void *>(src), n);
  return 0;
}

CUresult cuStreamCreate(void **stream, unsigned) {
  ENTRY("cuStreamCreate");
  NEED_INIT();
  *stream = &s.stream;
  return 0;
}

CUresult cuStreamDestroy_v2(void *stream) {
  ENTRY("cuStreamDestroy");
  NEED_INIT();
  return stream == &s.stream ? 0 : 400;
}

CUresult cuStreamSynchronize(void *stream) {
  ENTRY("cuStreamSynchronize");
  NEED_INIT();
  return stream == &s.stream ? 0 : 400;
}

CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **extra) {
  ENTRY("cuLaunchKernel");
  NEED_INIT();
  auto *f = static_cast<Function *>(fn);
  if (!f || stream != &s.stream || !gx || !gy || !gz || !bx || !by || !bz ||
      uint64_t(bx) * by * bz > 1024 || shared > 232448 || extra)
    return 1;
  (void)params;
  if (s.trace)
    std::fprintf(stderr,
                 "fake_libcuda: launch %s grid [%u, %u, %u] block [%u, %u, "
                 "%u] shared %u\n",
                 f->name.c_str(), gx, gy, gz, bx, by, bz, shared);
  return 0;
}

CUresult cuStreamBeginCapture_v2(void *stream, int) {
  ENTRY("cuStreamBeginCapture");
  NEED_INIT();
  if (stream != &s.stream)
    return 400;
  if (s.trace)
    std::fprintf(stderr, "fake_libcuda: capture begins\n");
  return 0;
}

CUresult cuStreamEndCapture(void *stream, void **graph) {
  ENTRY("cuStreamEndCapture");
  NEED_INIT();
  if (stream != &s.stream)
    return 400;
  *graph = &s.graph;
  return 0;
}

CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long) {
  ENTRY("cuGraphInstantiateWithFlags");
  NEED_INIT();
  if (graph != &s.graph)
    return 400;
  *exec = &s.graphExec;
  return 0;
}

CUresult cuGraphLaunch(void *exec, void *stream) {
  ENTRY("cuGraphLaunch");
  NEED_INIT();
  if (exec != &s.graphExec || stream != &s.stream)
    return 400;
  if (s.trace)
    std::fprintf(stderr, "fake_libcuda: graph launch\n");
  return 0;
}

CUresult cuGraphDestroy(void *graph) {
  ENTRY("cuGraphDestroy");
  NEED_INIT();
  return graph == &s.graph ? 0 : 400;
}

CUresult cuGraphExecDestroy(void *exec) {
  ENTRY("cuGraphExecDestroy");
  NEED_INIT();
  return exec == &s.graphExec ? 0 : 400;
}

CUresult cuEventCreate(void **event, unsigned) {
  ENTRY("cuEventCreate");
  NEED_INIT();
  *event = &s.event;
  return 0;
}

CUresult cuEventRecord(void *event, void *stream) {
  ENTRY("cuEventRecord");
  NEED_INIT();
  return event == &s.event && stream == &s.stream ? 0 : 400;
}

CUresult cuEventSynchronize(void *event) {
  ENTRY("cuEventSynchronize");
  NEED_INIT();
  return event == &s.event ? 0 : 400;
}

CUresult cuEventElapsedTime_v2(float *ms, void *start, void *end) {
  ENTRY("cuEventElapsedTime");
  NEED_INIT();
  if (start != &s.event || end != &s.event)
    return 400;
  *ms = 0.0f;
  return 0;
}

CUresult cuEventDestroy_v2(void *event) {
  ENTRY("cuEventDestroy");
  NEED_INIT();
  return event == &s.event ? 0 : 400;
}

} // extern "C"
