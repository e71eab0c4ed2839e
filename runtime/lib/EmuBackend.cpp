//===- EmuBackend.cpp - cuda-emu: the CUDA kernels on the host ------------===//
//
// Part of libdlart. Runs a bundle's CUDA kernels, compiled for the host
// with GPU semantics (cuda.emulator, docs/bundle-format.md), on any
// machine:
//  * every GPU thread of a block is a fiber (ucontext: its own stack and
//    registers), so values live across barriers as they do on the GPU;
//  * `__syncthreads()` (the library's __dla_emu_barrier) switches to the
//    block's next fiber; once every thread still running has arrived, all
//    go on (threads that have returned count as arrived, as on sm_70+);
//  * a block's shared memory is one buffer, filled with 0xff bytes (NaN as
//    f32) before the block starts, so that a read of memory no thread wrote
//    shows in the result instead of reading a neighbour's leftovers;
//  * blocks run in turn on the host threads, each with its own fibers.
// It is a checker, not a fast path (docs/runtime.md has its cost). Launches
// the real device would refuse (more than 1024 threads a block, or more
// shared memory than a Hopper block has) are refused at load.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "EmuFibers.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <dlfcn.h>
#include <sys/mman.h>
#include <mutex>
#include <thread>
#include <ucontext.h>
#include <unistd.h>

// AddressSanitizer must be told when a thread switches stacks (the
// sanitizer run of the test suite runs cuda-emu too).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DLART_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define DLART_ASAN 1
#endif
#ifdef DLART_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace dlart {
namespace {

/// What a CUDA block may have on the chips dlac targets (sm_90: 1024
/// threads, 227 KB of shared memory with the opt-in carve-out).
constexpr uint32_t kMaxThreadsPerBlock = 1024;
constexpr uint64_t kMaxSharedBytes = 227 * 1024;
/// A fiber's stack; the kernels' per-thread code keeps little on it.
constexpr size_t kFiberStack = 64 * 1024;

} // namespace

Fibers::~Fibers() {
  if (stacks)
    ::munmap(stacks, stacksBytes);
  std::free(shared);
}

bool Fibers::reserve(size_t threads, uint64_t sharedBytes) {
  if (fibers.size() < threads) {
    if (stacks)
      ::munmap(stacks, stacksBytes);
    size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    stacksBytes = threads * (kFiberStack + page);
    stacks = ::mmap(nullptr, stacksBytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stacks == MAP_FAILED) {
      stacks = nullptr;
      return false;
    }
    for (size_t i = 0; i < threads; ++i)
      ::mprotect(static_cast<char *>(stacks) + i * (kFiberStack + page), page, PROT_NONE);
    fibers.resize(threads);
  }
  std::free(shared);
  shared = std::malloc(std::max<uint64_t>(sharedBytes, 16));
  return shared != nullptr;
}

char *Fibers::stackOf(size_t i) const {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return static_cast<char *>(stacks) + i * (kFiberStack + page) + page;
}

size_t Fibers::blockThreads() const {
  if (!step)
    return fibers.size();
  return size_t(step->block[0]) * step->block[1] * step->block[2];
}

thread_local Fibers *currentFibers = nullptr;

namespace {

// Stack switches, announced to AddressSanitizer when it is on: the
// scheduler's stack (learnt when a fiber first runs) and the fibers'.
#ifdef DLART_ASAN
thread_local const void *schedulerStack = nullptr;
thread_local size_t schedulerStackSize = 0;
#endif
void enterFiber(Fibers &f, size_t t, void **fake) {
#ifdef DLART_ASAN
  __sanitizer_start_switch_fiber(fake, f.stackOf(t), kFiberStack);
#else
  (void)f, (void)t, (void)fake;
#endif
}
void enteredScheduler(void *fake) {
#ifdef DLART_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  (void)fake;
#endif
}
void enteredFiber(void *fake) {
#ifdef DLART_ASAN
  __sanitizer_finish_switch_fiber(fake, &schedulerStack, &schedulerStackSize);
#else
  (void)fake;
#endif
}
/// `fake`: where to keep the fiber's fake stack; null when it ends.
void leaveFiber(void **fake) {
#ifdef DLART_ASAN
  __sanitizer_start_switch_fiber(fake, schedulerStack, schedulerStackSize);
#else
  (void)fake;
#endif
}

/// The entry of every fiber: its thread of the current block.
void fiberMain() {
  enteredFiber(nullptr);
  Fibers &f = *currentFibers;
  Fibers::Fiber &me = f.fibers[f.current];
  f.step->fn(f.step->args.data(), f.shared, me.ids);
  // Copies still in flight land (nothing can wait for them any more).
  completeCopies(me, me.pending.size());
  me.done = true;
  leaveFiber(nullptr);
  // uc_link returns to the scheduler.
}

/// An access of the current thread outside its buffer (the kernel skipped
/// it): the first of the block is reported when the block has run.
void fault(int32_t write, int32_t buffer, int64_t element, int64_t elements) {
  Fibers &f = *currentFibers;
  if (f.fault.any)
    return;
  f.fault.any = true;
  f.fault.write = write != 0;
  f.fault.buffer = buffer;
  f.fault.element = element;
  f.fault.elements = elements;
  std::memcpy(f.fault.ids, f.fibers[f.current].ids, sizeof(f.fault.ids));
}

/// "step 'S' (kernel 'K'), block (x, y, z), thread (x, y, z): out-of-bounds
/// read of kernel argument #2 (element 1234 of 1024)".
std::string describeFault(const Fibers::Fault &fault, const EmuStep &s) {
  auto triple = [&](int base) {
    return "(" + std::to_string(fault.ids[base]) + ", " + std::to_string(fault.ids[base + 1]) +
           ", " + std::to_string(fault.ids[base + 2]) + ")";
  };
  if (!fault.detail.empty())
    return "step '" + s.name + "' (kernel '" + s.kernel + "'), block " + triple(3) +
           ", thread " + triple(0) + ": " + fault.detail;
  std::string what = fault.buffer >= 0      ? "kernel argument #" + std::to_string(fault.buffer)
                     : fault.buffer > -1000 ? "shared-memory array #" +
                                                  std::to_string(-1 - fault.buffer)
                                            : std::string("thread-private memory");
  return "step '" + s.name + "' (kernel '" + s.kernel + "'), block " + triple(3) +
         ", thread " + triple(0) + ": out-of-bounds " + (fault.write ? "write" : "read") +
         " of " + what + " (element " + std::to_string(fault.element) + " of " +
         std::to_string(fault.elements) + "); the access was not made";
}

/// __syncthreads(): back to the scheduler until the block has arrived.
void barrier() {
  Fibers &f = *currentFibers;
  f.fibers[f.current].waiting = true;
  yieldToScheduler();
}

} // namespace

void yieldToScheduler() {
  Fibers &f = *currentFibers;
  Fibers::Fiber &me = f.fibers[f.current];
  leaveFiber(&me.fakeStack);
  ::swapcontext(&me.context, &f.scheduler);
  enteredFiber(me.fakeStack);
}

void recordFault(const std::string &detail) {
  Fibers &f = *currentFibers;
  if (f.fault.any)
    return;
  f.fault.any = true;
  f.fault.detail = detail;
  std::memcpy(f.fault.ids, f.fibers[f.current].ids, sizeof(f.fault.ids));
}

namespace {

/// Runs block (bx, by, bz) of `s` on this host thread's fibers; false with
/// `err` when its threads can go no further (a warp operation some lanes
/// never reach, or a barrier some threads never reach while others wait at
/// a warp operation): on the GPU, a hang or undefined behaviour.
bool runBlock(Fibers &f, const EmuStep &s, uint32_t bx, uint32_t by, uint32_t bz,
              std::string &err) {
  size_t threads = size_t(s.block[0]) * s.block[1] * s.block[2];
  std::memset(f.shared, 0xff, std::max<uint64_t>(s.sharedBytes, 16));
  f.step = &s;
  f.sharedBytes = s.sharedBytes;
  f.fault = Fibers::Fault();
  for (size_t t = 0; t < threads; ++t) {
    Fibers::Fiber &fib = f.fibers[t];
    int64_t tx = t % s.block[0], ty = (t / s.block[0]) % s.block[1],
            tz = t / (size_t(s.block[0]) * s.block[1]);
    int64_t ids[12] = {tx, ty, tz, bx, by, bz, s.block[0], s.block[1], s.block[2],
                       s.grid[0], s.grid[1], s.grid[2]};
    std::memcpy(fib.ids, ids, sizeof(ids));
    fib.waiting = fib.done = fib.warpWaiting = false;
    fib.warpOp = WarpOp::None;
    fib.pending.clear();
    fib.groupEnds.clear();
    ::getcontext(&fib.context);
    fib.context.uc_stack.ss_sp = f.stackOf(t);
    fib.context.uc_stack.ss_size = kFiberStack;
    fib.context.uc_link = &f.scheduler;
    ::makecontext(&fib.context, fiberMain, 0);
  }
  size_t running = threads;
  while (running > 0) {
    // Every thread that can runs to its next barrier, warp operation or end.
    bool ran = false;
    for (size_t t = 0; t < threads; ++t) {
      Fibers::Fiber &fib = f.fibers[t];
      if (fib.done || fib.waiting || fib.warpWaiting)
        continue;
      f.current = t;
      void *fake = nullptr;
      enterFiber(f, t, &fake);
      ::swapcontext(&f.scheduler, &fib.context);
      enteredScheduler(fake);
      ran = true;
      if (fib.done)
        --running;
    }
    if (ran || running == 0)
      continue;
    // No thread can go on: the barrier opens if every one has arrived.
    size_t atWarp = threads;
    for (size_t t = 0; t < threads && atWarp == threads; ++t)
      if (f.fibers[t].warpWaiting)
        atWarp = t;
    if (atWarp != threads && f.fault.any) {
      // A warp operation misused earlier left the lanes apart: that is the
      // error to report.
      err = describeFault(f.fault, s);
      return false;
    }
    if (atWarp != threads) {
      err = "step '" + s.name + "', block (" + std::to_string(bx) + ", " + std::to_string(by) +
            ", " + std::to_string(bz) + "): thread " + std::to_string(atWarp) +
            " waits at a warp operation (" + warpOpName(f.fibers[atWarp].warpOp) +
            ") that other threads of its warp never reach; they wait at a barrier or have returned (on a GPU: undefined behaviour)";
      return false;
    }
    for (size_t t = 0; t < threads; ++t)
      f.fibers[t].waiting = false;
  }
  if (f.fault.any) {
    err = describeFault(f.fault, s);
    return false;
  }
  return true;
}

/// A step resolved in the library, not yet bound to a context's memory.
struct EmuPlan {
  EmuKernelFn fn = nullptr;
  std::string name, kernel;
  std::vector<uint32_t> args; ///< Buffer ids.
  std::array<uint32_t, 3> grid{}, block{};
  uint64_t sharedBytes = 0;
};

/// Runs the blocks of `s` on `threads` host threads, each with its own
/// fibers.
bool runStep(const EmuStep &s, unsigned threadsWanted, std::string &err) {
  uint64_t blocks = uint64_t(s.grid[0]) * s.grid[1] * s.grid[2];
  size_t threads = size_t(s.block[0]) * s.block[1] * s.block[2];
  unsigned workers = static_cast<unsigned>(std::min<uint64_t>(threadsWanted, blocks));
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex errorMutex;
  std::string error;
  auto work = [&] {
    Fibers fibers;
    if (!fibers.reserve(threads, s.sharedBytes)) {
      std::lock_guard<std::mutex> lock(errorMutex);
      if (!failed.exchange(true))
        error = "step '" + s.name + "': cannot allocate the fibers of a block of " +
                std::to_string(threads) + " threads";
      return;
    }
    Fibers *outer = currentFibers;
    currentFibers = &fibers;
    std::string why;
    for (uint64_t b; !failed && (b = next.fetch_add(1)) < blocks;)
      if (!runBlock(fibers, s, b % s.grid[0], (b / s.grid[0]) % s.grid[1],
                    b / (uint64_t(s.grid[0]) * s.grid[1]), why)) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (!failed.exchange(true))
          error = why;
      }
    currentFibers = outer;
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < workers; ++i)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();
  if (failed) {
    err = error;
    return false;
  }
  return true;
}

class EmuBackend;

/// One execution context: the inputs, outputs and arena (`base`, the
/// Layout's context region) and its host threads.
class EmuContext : public BackendContext {
public:
  EmuContext(const EmuBackend &backend, char *base, bool ownsBase, unsigned threads);
  ~EmuContext() override {
    if (ownsBase_)
      std::free(base_);
  }
  bool upload(uint64_t offset, const void *src, size_t bytes, std::string &) override {
    std::memcpy(base_ + offset, src, bytes);
    return true;
  }
  bool download(uint64_t offset, void *dst, size_t bytes, std::string &) override {
    std::memcpy(dst, base_ + offset, bytes);
    return true;
  }
  bool run(Phase phase, std::string &err) override {
    for (const EmuStep &s : phase == Phase::Init ? init_ : forward_)
      if (!runStep(s, threads_, err))
        return false;
    return true;
  }
  bool profile(std::vector<double> &stepMs, std::string &err) override {
    stepMs.clear();
    for (const EmuStep &s : forward_) {
      auto t0 = std::chrono::steady_clock::now();
      if (!runStep(s, threads_, err))
        return false;
      std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
      stepMs.push_back(dt.count());
    }
    return true;
  }
  std::string describe() const override {
    return "cuda-emu, " + std::to_string(threads_) +
           (threads_ == 1 ? " thread, " : " threads, ") + "kernels-emu.so";
  }
  void setThreads(unsigned threads) override { threads_ = threads ? threads : 1; }

private:
  char *base_;
  bool ownsBase_;
  unsigned threads_;
  std::vector<EmuStep> init_, forward_;
};

class EmuBackend : public Backend {
public:
  ~EmuBackend() override {
    std::free(block_);
    if (library_)
      ::dlclose(library_);
  }

  dlart_status load(const Manifest &m, const Layout &layout, std::string &err) override {
    if (!m.hasCuda || m.cudaEmulator.empty()) {
      err = m.dir + (m.hasCuda ? ": the bundle has no emulated CUDA kernels (manifest.json "
                                 "'cuda' has no 'emulator'; a bundle from an older dlac): "
                                 "compile it again to run it on cuda-emu"
                               : ": the bundle was not compiled for CUDA (manifest.json has "
                                 "no 'cuda' section); compile it with --target cuda or all "
                                 "to run it on cuda-emu");
      return DLART_ERROR_BUNDLE;
    }
    dir_ = m.dir;
    lib_ = m.path(m.cudaEmulator);
    if (!checkHostLibrary(lib_, err))
      return DLART_ERROR_BUNDLE;
    library_ = ::dlopen(lib_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library_) {
      const char *why = ::dlerror();
      err = lib_ + ": cannot load the emulated CUDA kernels: " +
            (why ? why : "unknown dlopen error");
      return DLART_ERROR_BUNDLE;
    }
    auto *barrierFn = static_cast<void (**)()>(::dlsym(library_, "__dla_emu_barrier_fn"));
    if (!barrierFn) {
      err = lib_ + ": not a cuda-emu kernel library (no __dla_emu_barrier_fn)";
      return DLART_ERROR_BUNDLE;
    }
    *barrierFn = barrier;
    if (!bindWarpOps(library_, lib_, err))
      return DLART_ERROR_BUNDLE;
    auto *faultFn = static_cast<void (**)(int32_t, int32_t, int64_t, int64_t)>(
        ::dlsym(library_, "__dla_emu_fault_fn"));
    if (!faultFn) {
      err = lib_ + ": not a cuda-emu kernel library (no __dla_emu_fault_fn)";
      return DLART_ERROR_BUNDLE;
    }
    *faultFn = fault;
    layout_ = layout;
    block_ = allocateHostMemory(layout.totalBytes(), m.dir, "the bundle's buffers", err);
    if (!block_)
      return DLART_ERROR_INTERNAL;
    if (!resolve("init", m.init, init_, err) || !resolve("forward", m.forward, forward_, err))
      return DLART_ERROR_BUNDLE;
    return DLART_OK;
  }

  bool uploadShared(uint64_t offset, const void *src, size_t bytes, std::string &) override {
    std::memcpy(block_ + offset, src, bytes);
    return true;
  }
  bool downloadShared(uint64_t offset, void *dst, size_t bytes, std::string &) override {
    std::memcpy(dst, block_ + offset, bytes);
    return true;
  }

  std::unique_ptr<BackendContext> createContext(bool primary, unsigned threads, bool,
                                                dlart_status &status,
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
    return std::make_unique<EmuContext>(*this, base, !primary, threads ? threads : 1);
  }

  /// The steps of `phase` bound to a context's region.
  std::vector<EmuStep> bind(Phase phase, char *base) const {
    std::vector<EmuStep> out;
    for (const EmuPlan &p : phase == Phase::Init ? init_ : forward_) {
      EmuStep e;
      e.fn = p.fn;
      e.name = p.name;
      e.kernel = p.kernel;
      for (uint32_t id : p.args)
        e.args.push_back((layout_.region[id] == Layout::Region::Shared ? block_ : base) +
                         layout_.offset[id]);
      e.grid = p.grid;
      e.block = p.block;
      e.sharedBytes = p.sharedBytes;
      out.push_back(std::move(e));
    }
    return out;
  }

private:
  bool resolve(const char *phase, const std::vector<StepDesc> &steps,
               std::vector<EmuPlan> &out, std::string &err) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const StepDesc &s = steps[i];
      std::string where = "'" + s.stepName() + "' (" + phase + "[" + std::to_string(i) + "])";
      EmuPlan e;
      e.name = s.stepName();
      e.kernel = s.kernel;
      e.fn = reinterpret_cast<EmuKernelFn>(::dlsym(library_, s.kernel.c_str()));
      auto *sig = static_cast<const int64_t *>(
          ::dlsym(library_, ("dla_emu_signature_" + s.kernel).c_str()));
      if (!e.fn || !sig) {
        err = lib_ + ": kernel '" + s.kernel + "' of step " + where +
              " is not defined in the library";
        return false;
      }
      if (sig[0] != static_cast<int64_t>(s.args.size())) {
        err = lib_ + ": kernel '" + s.kernel + "' of step " + where + " takes " +
              std::to_string(sig[0]) + " buffers, the manifest gives it " +
              std::to_string(s.args.size()) + ": the manifest does not belong to this library";
        return false;
      }
      uint64_t threads = uint64_t(s.block[0]) * s.block[1] * s.block[2];
      if (threads == 0 || threads > kMaxThreadsPerBlock) {
        err = "step " + where + ": a block of " + std::to_string(threads) +
              " threads; a CUDA block has 1 to " + std::to_string(kMaxThreadsPerBlock);
        return false;
      }
      e.sharedBytes = std::max<uint64_t>(s.sharedBytes, static_cast<uint64_t>(sig[1]));
      if (e.sharedBytes > kMaxSharedBytes) {
        err = "step " + where + ": " + std::to_string(e.sharedBytes) +
              " bytes of shared memory a block, more than the " +
              std::to_string(kMaxSharedBytes) + " a CUDA block can have";
        return false;
      }
      e.args = s.args;
      e.grid = s.grid;
      e.block = s.block;
      out.push_back(std::move(e));
    }
    return true;
  }

  std::string dir_, lib_;
  void *library_ = nullptr;
  char *block_ = nullptr;
  Layout layout_;
  std::vector<EmuPlan> init_, forward_;
};

EmuContext::EmuContext(const EmuBackend &backend, char *base, bool ownsBase, unsigned threads)
    : base_(base), ownsBase_(ownsBase), threads_(threads),
      init_(backend.bind(Phase::Init, base)), forward_(backend.bind(Phase::Forward, base)) {}

} // namespace

std::unique_ptr<Backend> createEmuBackend() { return std::make_unique<EmuBackend>(); }

} // namespace dlart
