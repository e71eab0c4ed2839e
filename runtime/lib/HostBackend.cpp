//===- HostBackend.cpp - runs kernels.so on CPU threads -------------------===//
//
// Part of libdlart. Kernel ABI (docs/bundle-format.md):
//   void NAME(void *const *args, int64_t block_begin, int64_t block_end);
// Each step's blocks [0, host_blocks or gx*gy*gz) are handed out to the
// threads in chunks. Blocks write disjoint outputs, so the result does not
// depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "dlart/HostFeatures.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <functional>
#include <mutex>
#include <thread>

namespace dlart {
namespace {

using KernelFn = void (*)(void *const *args, int64_t blockBegin,
                          int64_t blockEnd);

/// A persistent pool: a forward pass of DLA-34 has ~100 steps, so starting
/// threads per step would cost more than small steps take.
///
/// Between steps the workers spin for a while (kSpin) before they sleep on
/// a condition variable, and so does the caller waiting for the last
/// worker: steps follow each other within microseconds, and waking a
/// sleeping thread (a futex, an inter-processor interrupt; more on a
/// virtual machine) costs tens of microseconds, as much as a small step.
/// After a pass the workers go to sleep once the spin is over.
class ThreadPool {
public:
  explicit ThreadPool(unsigned threads) {
    for (unsigned i = 1; i < threads; ++i)
      workers_.emplace_back([this, i] { loop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread &t : workers_)
      t.join();
  }
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls task(i) for each i in [0, size()), task(0) on the calling thread,
  /// and returns when all calls have returned.
  void runOnAll(const std::function<void(unsigned)> &task) {
    if (workers_.empty()) {
      task(0);
      return;
    }
    task_.store(&task, std::memory_order_relaxed);
    pending_.store(workers_.size(), std::memory_order_relaxed);
    // seq_cst: either a worker about to sleep sees the new generation, or
    // this thread sees it counted in sleepers_ and wakes it.
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    task(0);
    if (!spinUntil([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      callerSleeping_.store(true);
      done_.wait(lock, [this] { return pending_.load() == 0; });
      callerSleeping_.store(false);
    }
    task_.store(nullptr, std::memory_order_relaxed);
  }

private:
  /// Spins (pausing the core) until done() or about kSpin has passed.
  template <typename Done> static bool spinUntil(Done done) {
    constexpr auto kSpin = std::chrono::microseconds(500);
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 1;; ++i) {
      if (done())
        return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 256 == 0) {
        if (std::chrono::steady_clock::now() - start > kSpin)
          return false;
        std::this_thread::yield(); // more threads than cores: let them run
      }
    }
  }

  void loop(unsigned index) {
    uint64_t seen = 0;
    for (;;) {
      if (!spinUntil([&] {
            return stop_.load(std::memory_order_relaxed) ||
                   generation_.load(std::memory_order_acquire) != seen;
          })) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      if (stop_.load())
        return;
      seen = generation_.load(std::memory_order_acquire);
      (*task_.load(std::memory_order_relaxed))(index);
      if (pending_.fetch_sub(1) == 1 && callerSleeping_.load()) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<const std::function<void(unsigned)> *> task_{nullptr};
  std::atomic<size_t> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<unsigned> sleepers_{0};
  std::atomic<bool> callerSleeping_{false}, stop_{false};
};

struct HostStep {
  KernelFn fn = nullptr;
  std::vector<void *> args;
  int64_t blocks = 0;
  std::vector<int64_t> waves; ///< blocks per wave; one wave when empty
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

class HostBackend : public Backend {
public:
  explicit HostBackend(unsigned threads) : threads_(threads ? threads : 1) {}
  ~HostBackend() override {
    pool_.reset(); // Join the workers before the code they run goes away.
    std::free(block_);
    std::free(workspace_);
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

    size_ = layout.totalBytes;
    if (::posix_memalign(&block_, Layout::kAlign, size_ ? size_ : 1) != 0) {
      block_ = nullptr;
      err = m.dir + ": cannot allocate " + std::to_string(size_) +
            " bytes of host memory for the bundle's buffers";
      return DLART_ERROR_INTERNAL;
    }
    std::memset(block_, 0, size_);

    // One workspace for the steps that ask for one (they run one at a time).
    uint64_t workspace = 0;
    for (const auto *steps : {&m.init, &m.forward})
      for (const StepDesc &s : *steps)
        workspace = std::max(workspace, s.hostWorkspaceBytes);
    if (workspace &&
        ::posix_memalign(&workspace_, Layout::kAlign, workspace) != 0) {
      workspace_ = nullptr;
      err = m.dir + ": cannot allocate " + std::to_string(workspace) +
            " bytes of host memory for the kernels' workspace";
      return DLART_ERROR_INTERNAL;
    }
    if (!resolve(layout, lib, "init", m.init, init_, err) ||
        !resolve(layout, lib, "forward", m.forward, forward_, err))
      return DLART_ERROR_BUNDLE;
    pool_ = std::make_unique<ThreadPool>(threads_);
    return DLART_OK;
  }

  bool upload(uint64_t offset, const void *src, size_t bytes,
              std::string &) override {
    std::memcpy(static_cast<char *>(block_) + offset, src, bytes);
    return true;
  }
  bool download(uint64_t offset, void *dst, size_t bytes,
                std::string &) override {
    std::memcpy(dst, static_cast<const char *>(block_) + offset, bytes);
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

  std::string describe() const override {
    return "host, " + std::to_string(threads_) +
           (threads_ == 1 ? " thread, " : " threads, ") + libName_;
  }

  void setThreads(unsigned threads) override {
    threads_ = threads ? threads : 1;
    if (pool_ && pool_->size() != threads_)
      pool_ = std::make_unique<ThreadPool>(threads_);
  }

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

  // Looks up every kernel of `steps` and binds its arguments to the block.
  bool resolve(const Layout &layout, const std::string &lib, const char *phase,
               const std::vector<StepDesc> &steps, std::vector<HostStep> &out,
               std::string &err) {
    char *base = static_cast<char *>(block_);
    for (size_t i = 0; i < steps.size(); ++i) {
      const StepDesc &s = steps[i];
      HostStep h;
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
      for (uint32_t id : s.args)
        h.args.push_back(base + layout.offset[id]);
      if (s.hostWorkspaceBytes)
        h.args.push_back(workspace_);
      h.blocks = static_cast<int64_t>(s.numHostBlocks());
      h.waves.assign(s.hostWaves.begin(), s.hostWaves.end());
      out.push_back(std::move(h));
    }
    return true;
  }

  void runStep(const HostStep &s) {
    if (s.waves.empty()) {
      runBlocks(s, 0, s.blocks);
      return;
    }
    int64_t begin = 0;
    for (int64_t count : s.waves) {
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

  unsigned threads_;
  std::string libName_;
  void *library_ = nullptr;
  std::string libraryFile_; ///< The loader's name for library_ (link_map l_name).
  void *block_ = nullptr;
  void *workspace_ = nullptr;
  uint64_t size_ = 0;
  std::vector<HostStep> init_, forward_;
  std::unique_ptr<ThreadPool> pool_;
};

} // namespace

std::unique_ptr<Backend> createHostBackend(unsigned threads) {
  return std::make_unique<HostBackend>(threads);
}

} // namespace dlart
