//===- HostBackend.cpp - runs kernels.so on CPU threads -------------------===//
//
// Part of libdlart. Kernel ABI (docs/bundle-format.md):
//   void NAME(void *const *args, int64_t block_begin, int64_t block_end);
// Each step's blocks [0, gx*gy*gz) are cut into one contiguous range per
// thread. Blocks write disjoint outputs, so the result does not depend on
// the thread count.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <mutex>
#include <thread>

namespace dlart {
namespace {

using KernelFn = void (*)(void *const *args, int64_t blockBegin,
                          int64_t blockEnd);

/// A persistent pool: a forward pass of DLA-34 has ~100 steps, so starting
/// threads per step would cost more than small steps take.
class ThreadPool {
public:
  explicit ThreadPool(unsigned threads) {
    for (unsigned i = 1; i < threads; ++i)
      workers_.emplace_back([this, i] { loop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      pending_ = workers_.size();
      ++generation_;
    }
    wake_.notify_all();
    task(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
  }

private:
  void loop(unsigned index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(unsigned)> *task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_)
          return;
        seen = generation_;
        task = task_;
      }
      (*task)(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0)
        done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(unsigned)> *task_ = nullptr;
  size_t pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

struct HostStep {
  KernelFn fn = nullptr;
  std::vector<void *> args;
  int64_t blocks = 0;
};

class HostBackend : public Backend {
public:
  explicit HostBackend(unsigned threads) : threads_(threads ? threads : 1) {}
  ~HostBackend() override {
    pool_.reset(); // Join the workers before the code they run goes away.
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
    // RTLD_LOCAL: two bundles may define kernels of the same name.
    library_ = ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    libName_ = m.hostLibrary;
    if (!library_) {
      const char *why = ::dlerror();
      err = lib + ": cannot load the kernel library: " +
            (why ? why : "unknown dlopen error");
      return DLART_ERROR_BUNDLE;
    }

    size_ = layout.totalBytes;
    if (::posix_memalign(&block_, Layout::kAlign, size_ ? size_ : 1) != 0) {
      block_ = nullptr;
      err = m.dir + ": cannot allocate " + std::to_string(size_) +
            " bytes of host memory for the bundle's buffers";
      return DLART_ERROR_INTERNAL;
    }
    std::memset(block_, 0, size_);

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
      for (uint32_t id : s.args)
        h.args.push_back(base + layout.offset[id]);
      h.blocks = static_cast<int64_t>(s.numBlocks());
      out.push_back(std::move(h));
    }
    return true;
  }

  void runStep(const HostStep &s) {
    unsigned n = pool_->size();
    // Fewer blocks than threads: run on the caller alone rather than wake
    // threads with nothing to do.
    if (n == 1 || s.blocks < 2) {
      s.fn(s.args.data(), 0, s.blocks);
      return;
    }
    // Thread t gets q blocks, plus one if t < r: contiguous, balanced ranges.
    int64_t parts = std::min<int64_t>(n, s.blocks);
    int64_t q = s.blocks / parts, r = s.blocks % parts;
    pool_->runOnAll([&](unsigned t) {
      if (t >= parts)
        return;
      int64_t begin = q * t + std::min<int64_t>(t, r);
      s.fn(s.args.data(), begin, begin + q + (t < r ? 1 : 0));
    });
  }

  unsigned threads_;
  std::string libName_;
  void *library_ = nullptr;
  void *block_ = nullptr;
  uint64_t size_ = 0;
  std::vector<HostStep> init_, forward_;
  std::unique_ptr<ThreadPool> pool_;
};

} // namespace

std::unique_ptr<Backend> createHostBackend(unsigned threads) {
  return std::make_unique<HostBackend>(threads);
}

} // namespace dlart
