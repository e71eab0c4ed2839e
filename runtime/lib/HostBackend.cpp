//===- HostBackend.cpp - runs kernels.so on CPU threads -------------------===//
//
// Part of libdlart. Kernel ABI (docs/bundle-format.md):
//   void NAME(void *const *args, int64_t block_begin, int64_t block_end);
// Each step's blocks [0, host_blocks or gx*gy*gz) are handed out to the
// threads in chunks. Blocks write disjoint outputs, so the result does not
// depend on the thread count. The backend holds the library, the resolved
// kernels and the shared region; each HostContext binds the steps to its own
// region and workspace and runs them on its own thread pool.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "ThreadPool.h"
#include "dlart/HostFeatures.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <link.h>

namespace dlart {
namespace {

using KernelFn = void (*)(void *const *args, int64_t blockBegin,
                          int64_t blockEnd);

/// A resolved step, not yet bound to a context's memory.
struct StepPlan {
  KernelFn fn = nullptr;
  std::vector<uint32_t> args; ///< Buffer ids.
  bool workspace = false;     ///< The context's workspace after the buffers.
  int64_t blocks = 0;
  std::vector<int64_t> waves; ///< blocks per wave; one wave when empty
};

/// A step bound to one context: argument pointers into its memory.
struct HostStep {
  KernelFn fn = nullptr;
  std::vector<void *> args;
  int64_t blocks = 0;
  const std::vector<int64_t> *waves = nullptr;
};

/// Whether this CPU has `feature` (a name of dlart::kHostFeatures). The
/// environment variable DLART_HOST_CPU_LACKS (comma-separated names) makes
/// the runtime treat features as absent, so that the refusal of a bundle
/// built for a larger CPU can be tested on any machine.
bool cpuHasFeature(const std::string &feature) {
  if (const char *lacks = std::getenv("DLART_HOST_CPU_LACKS")) {
    std::string list = std::string(",") + lacks + ",";
    if (list.find("," + feature + ",") != std::string::npos)
      return false;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#define DLART_FEATURE(name)                                                    \
  if (feature == name)                                                         \
    return __builtin_cpu_supports(name) != 0;
  DLART_HOST_FEATURES(DLART_FEATURE)
#undef DLART_FEATURE
#endif
  return false; // not x86, or a name the manifest parser would have refused
}

class HostBackend;

/// One execution context: the inputs, outputs and arena (`base`, the
/// Layout's context region), the kernels' workspace and a thread pool, all
/// its own.
class HostContext : public BackendContext {
public:
  HostContext(const HostBackend &backend, char *base, bool ownsBase,
              void *workspace, unsigned threads);
  ~HostContext() override {
    pool_.reset(); // Join the workers before the memory they use goes away.
    if (ownsBase_)
      std::free(base_);
    std::free(workspace_);
  }

  bool upload(uint64_t offset, const void *src, size_t bytes,
              std::string &) override {
    std::memcpy(base_ + offset, src, bytes);
    return true;
  }
  bool download(uint64_t offset, void *dst, size_t bytes,
                std::string &) override {
    std::memcpy(dst, base_ + offset, bytes);
    return true;
  }

  bool run(Phase phase, std::string &) override {
    for (const HostStep &s : phase == Phase::Init ? init_ : forward_)
      runStep(s);
    return true;
  }

  bool profile(std::vector<double> &stepMs, std::string &) override {
    stepMs.clear();
    for (const HostStep &s : forward_) {
      auto t0 = std::chrono::steady_clock::now();
      runStep(s);
      std::chrono::duration<double, std::milli> dt =
          std::chrono::steady_clock::now() - t0;
      stepMs.push_back(dt.count());
    }
    return true;
  }

  std::string describe() const override;

  void setThreads(unsigned threads) override {
    threads_ = threads ? threads : 1;
    if (pool_->size() != threads_)
      pool_ = std::make_unique<ThreadPool>(threads_);
  }

private:
  void runStep(const HostStep &s) {
    if (s.waves->empty()) {
      runBlocks(s, 0, s.blocks);
      return;
    }
    int64_t begin = 0;
    for (int64_t count : *s.waves) {
      runBlocks(s, begin, begin + count);
      begin += count;
    }
  }

  // Runs the blocks [begin, end) of a step on the pool.
  void runBlocks(const HostStep &s, int64_t begin, int64_t end) {
    unsigned n = pool_->size();
    int64_t blocks = end - begin;
    // Fewer blocks than threads: run on the caller alone rather than wake
    // threads with nothing to do.
    if (n == 1 || blocks < 2) {
      s.fn(s.args.data(), begin, end);
      return;
    }
    // Threads take chunks of blocks from a shared counter until none are
    // left: blocks differ in cost (image borders, DCN samples), so static
    // ranges would leave threads idle. Blocks write disjoint outputs, so
    // the result is the same whoever runs them.
    int64_t chunk = std::max<int64_t>(1, blocks / (8 * int64_t(n)));
    std::atomic<int64_t> next{begin};
    pool_->runOnAll([&](unsigned) {
      for (;;) {
        int64_t first = next.fetch_add(chunk, std::memory_order_relaxed);
        if (first >= end)
          return;
        s.fn(s.args.data(), first, std::min(first + chunk, end));
      }
    });
  }

  const HostBackend &backend_;
  char *base_;
  bool ownsBase_;
  void *workspace_;
  unsigned threads_;
  std::vector<HostStep> init_, forward_;
  std::unique_ptr<ThreadPool> pool_;
};

class HostBackend : public Backend {
public:
  ~HostBackend() override {
    std::free(block_);
    if (library_)
      ::dlclose(library_);
  }

  dlart_status load(const Manifest &m, const Layout &layout,
                    std::string &err) override {
    if (!m.hasHost) {
      err = m.dir + ": the bundle was not compiled for the host (manifest.json "
                    "has no 'host' section); compile it with --target host "
                    "or use --device cuda";
      return DLART_ERROR_BUNDLE;
    }
    std::string lib = m.path(m.hostLibrary);
    // The CPU must have what the kernels were compiled for: checked before
    // dlopen, so that a bundle from another machine is refused with a
    // message instead of dying on SIGILL in its first kernel.
    std::vector<std::string> lacking;
    for (const std::string &f : m.hostFeatures)
      if (!cpuHasFeature(f))
        lacking.push_back(f);
    if (!lacking.empty()) {
      std::string list;
      for (const std::string &f : lacking)
        list += (list.empty() ? "" : ", ") + f;
      err = lib + ": compiled for CPU '" +
            (m.hostCpu.empty() ? std::string("?") : m.hostCpu) +
            "', whose features " + list + " this CPU lacks; recompile with "
            "dlac --host-cpu=native on this machine, or a CPU level every "
            "deployment machine has (x86-64-v3: AVX2, x86-64-v4: AVX-512)";
      return DLART_ERROR_BUNDLE;
    }
    // RTLD_LOCAL: two bundles may define kernels of the same name.
    library_ = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    libName_ = m.hostLibrary;
    if (!library_) {
      const char *why = ::dlerror();
      err = lib + ": cannot load the kernel library: " +
            (why ? why : "unknown dlopen error");
      return DLART_ERROR_BUNDLE;
    }
    // The file the loader knows the library by, to tell its own symbols
    // from those of its dependencies (ownSymbol).
    struct link_map *self = nullptr;
    if (::dlinfo(library_, RTLD_DI_LINKMAP, &self) != 0 || !self || !self->l_name) {
      err = lib + ": cannot inspect the loaded kernel library";
      return DLART_ERROR_BUNDLE;
    }
    libraryFile_ = self->l_name;

    layout_ = layout;
    dir_ = m.dir;
    block_ = allocateHostMemory(layout.totalBytes(), m.dir, "the bundle's buffers", err);
    if (!block_)
      return DLART_ERROR_INTERNAL;

    // One workspace per context for the steps that ask for one (they run
    // one at a time).
    for (const auto *steps : {&m.init, &m.forward})
      for (const StepDesc &s : *steps)
        workspaceBytes_ = std::max(workspaceBytes_, s.hostWorkspaceBytes);
    if (!resolve(lib, "init", m.init, init_, err) ||
        !resolve(lib, "forward", m.forward, forward_, err))
      return DLART_ERROR_BUNDLE;
    return DLART_OK;
  }

  bool uploadShared(uint64_t offset, const void *src, size_t bytes,
                    std::string &) override {
    std::memcpy(block_ + offset, src, bytes);
    return true;
  }
  bool downloadShared(uint64_t offset, void *dst, size_t bytes,
                      std::string &) override {
    std::memcpy(dst, block_ + offset, bytes);
    return true;
  }

  std::unique_ptr<BackendContext> createContext(bool primary, unsigned threads,
                                                bool, dlart_status &status,
                                                std::string &err) override {
    char *base = primary ? block_ + layout_.sharedBytes : nullptr;
    if (!primary) {
      base = allocateHostMemory(layout_.contextBytes, dir_,
                                "an execution context (inputs, outputs and the activation "
                                "arena)",
                                err);
      if (!base) {
        status = DLART_ERROR_INTERNAL;
        return nullptr;
      }
    }
    void *workspace = nullptr;
    if (workspaceBytes_ &&
        !(workspace = allocateHostMemory(workspaceBytes_, dir_, "the kernels' workspace", err))) {
      if (!primary)
        std::free(base);
      status = DLART_ERROR_INTERNAL;
      return nullptr;
    }
    return std::make_unique<HostContext>(*this, base, !primary, workspace,
                                         threads);
  }

  /// The steps of `phase` bound to a context's region and workspace.
  std::vector<HostStep> bind(Phase phase, char *base, void *workspace) const {
    std::vector<HostStep> out;
    for (const StepPlan &p : phase == Phase::Init ? init_ : forward_) {
      HostStep h;
      h.fn = p.fn;
      for (uint32_t id : p.args)
        h.args.push_back((layout_.region[id] == Layout::Region::Shared ? block_ : base) +
                         layout_.offset[id]);
      if (p.workspace)
        h.args.push_back(workspace);
      h.blocks = p.blocks;
      h.waves = &p.waves;
      out.push_back(std::move(h));
    }
    return out;
  }

  const std::string &libName() const { return libName_; }

private:
  /// Whether `symbol` lies in kernels.so itself; `definedBy` names the file
  /// that defines it when dladdr knows.
  bool ownSymbol(const void *symbol, const char *&definedBy) const {
    Dl_info info{};
    if (!::dladdr(symbol, &info) || !info.dli_fname)
      return false;
    definedBy = info.dli_fname;
    return libraryFile_ == info.dli_fname;
  }

  // Looks up every kernel of `steps` and checks it against its signature.
  bool resolve(const std::string &lib, const char *phase,
               const std::vector<StepDesc> &steps, std::vector<StepPlan> &out,
               std::string &err) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const StepDesc &s = steps[i];
      StepPlan h;
      h.fn = reinterpret_cast<KernelFn>(::dlsym(library_, s.kernel.c_str()));
      if (!h.fn) {
        err = lib + ": kernel '" + s.kernel + "' (" + phase + "[" +
              std::to_string(i) + "]) is not defined in the library";
        return false;
      }
      // dlsym also finds the library's dependencies' symbols (abort, exit,
      // free from libc): a kernel must be defined by kernels.so itself.
      const char *definedBy = nullptr;
      if (!ownSymbol(reinterpret_cast<void *>(h.fn), definedBy)) {
        err = lib + ": '" + s.kernel + "' (" + phase + "[" + std::to_string(i) +
              "]) is not a kernel of the library" +
              (definedBy ? std::string(" (it is defined by ") + definedBy + ")"
                         : std::string());
        return false;
      }
      // dlac exports each kernel's signature beside it: the step must give
      // the kernel the pointers and the workspace it was compiled for.
      std::string where = std::string(phase) + "[" + std::to_string(i) + "]";
      if (auto *sig = static_cast<const int64_t *>(
              ::dlsym(library_, ("dla_signature_" + s.kernel).c_str()))) {
        const char *definedBy = nullptr;
        bool own = ownSymbol(sig, definedBy);
        int64_t given = static_cast<int64_t>(s.args.size()) + (s.hostWorkspaceBytes ? 1 : 0);
        if (own && sig[0] != given) {
          err = lib + ": kernel '" + s.kernel + "' (" + where + ") takes " +
                std::to_string(sig[0]) + " pointers, the manifest gives it " +
                std::to_string(given) + " (" + std::to_string(s.args.size()) + " args" +
                (s.hostWorkspaceBytes ? " and a workspace" : "") +
                "): the manifest does not belong to this kernels.so";
          return false;
        }
        if (own && static_cast<uint64_t>(sig[1]) != s.hostWorkspaceBytes) {
          err = lib + ": kernel '" + s.kernel + "' (" + where + ") needs " +
                std::to_string(sig[1]) + " bytes of host workspace, the manifest gives " +
                std::to_string(s.hostWorkspaceBytes) +
                ": the manifest does not belong to this kernels.so";
          return false;
        }
      }
      h.args.assign(s.args.begin(), s.args.end());
      h.workspace = s.hostWorkspaceBytes != 0;
      h.blocks = static_cast<int64_t>(s.numHostBlocks());
      h.waves.assign(s.hostWaves.begin(), s.hostWaves.end());
      out.push_back(std::move(h));
    }
    return true;
  }

  std::string libName_, dir_;
  void *library_ = nullptr;
  std::string libraryFile_; ///< The loader's name for library_ (link_map l_name).
  Layout layout_;
  char *block_ = nullptr; ///< The shared region, then the default context's.
  uint64_t workspaceBytes_ = 0;
  std::vector<StepPlan> init_, forward_;
};

HostContext::HostContext(const HostBackend &backend, char *base, bool ownsBase,
                         void *workspace, unsigned threads)
    : backend_(backend), base_(base), ownsBase_(ownsBase), workspace_(workspace),
      threads_(threads ? threads : 1),
      init_(backend.bind(Phase::Init, base, workspace)),
      forward_(backend.bind(Phase::Forward, base, workspace)),
      pool_(std::make_unique<ThreadPool>(threads_)) {}

std::string HostContext::describe() const {
  return "host, " + std::to_string(threads_) +
         (threads_ == 1 ? " thread, " : " threads, ") + backend_.libName();
}
} // namespace

std::unique_ptr<Backend> createHostBackend() {
  return std::make_unique<HostBackend>();
}

} // namespace dlart
