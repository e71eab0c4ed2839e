//===- EmuFibers.h - cuda-emu: a block's threads as fibers ------*- C++ -*-===//
//
// Part of libdlart, internal. The state cuda-emu keeps for the block a host
// thread runs (EmuBackend.cpp runs the blocks; EmuWarpOps.cpp has the warp
// operations and the asynchronous copies the kernels call back into).
//
//===----------------------------------------------------------------------===//

#ifndef DLART_EMUFIBERS_H
#define DLART_EMUFIBERS_H

#include <array>
#include <cstdint>
#include <string>
#include <ucontext.h>
#include <vector>

namespace dlart {

using EmuKernelFn = void (*)(void *const *args, void *shared, const int64_t *ids);

struct EmuStep {
  EmuKernelFn fn = nullptr;
  std::string name, kernel;
  std::vector<void *> args;
  std::array<uint32_t, 3> grid{}, block{};
  uint64_t sharedBytes = 0;
};

/// The warp operations, as a fiber waiting at one names it.
enum class WarpOp : int32_t { None = 0, Shuffle, Mma, Ldmatrix };
const char *warpOpName(WarpOp op);

/// The fibers of one host thread: the block it runs now, one fiber per GPU
/// thread, and the scheduler context they return to.
struct Fibers {
  /// One cp.async: `bytes` to shared memory at `dst`, the first `srcBytes`
  /// of them from `src`, the rest zero.
  struct AsyncCopy {
    char *dst;
    const char *src;
    int32_t bytes, srcBytes;
  };
  struct Fiber {
    ucontext_t context;
    int64_t ids[12];
    bool waiting = false, done = false;
    void *fakeStack = nullptr; ///< AddressSanitizer's, while switched out
    /// At a warp operation: which, and its operands and results (the
    /// operation's own struct, on the fiber's stack).
    bool warpWaiting = false;
    WarpOp warpOp = WarpOp::None;
    int32_t warpVariant = 0; ///< what the lanes must agree on (shape, count)
    void *warpArgs = nullptr;
    /// cp.async copies not yet made, in issue order, and where each
    /// committed group ends (its index in `pending`).
    std::vector<AsyncCopy> pending;
    std::vector<size_t> groupEnds;
  };
  static constexpr size_t kWarp = 32;
  std::vector<Fiber> fibers;
  void *stacks = nullptr;
  size_t stacksBytes = 0;
  ucontext_t scheduler;
  size_t current = 0;
  const EmuStep *step = nullptr;
  void *shared = nullptr;
  uint64_t sharedBytes = 0; ///< of the step running now
  /// The first access outside its buffer in the block (none happens), or
  /// the first misuse of a warp operation or an asynchronous copy
  /// (`detail` says what).
  struct Fault {
    bool any = false, write = false;
    int32_t buffer = 0;
    int64_t element = 0, elements = 0;
    int64_t ids[12] = {};
    std::string detail;
  } fault;

  ~Fibers();
  /// Stacks for `threads` fibers, each below a guard page (an overflow is a
  /// fault, not a neighbour's stack overwritten).
  bool reserve(size_t threads, uint64_t sharedBytes);
  char *stackOf(size_t i) const;
  /// The number of GPU threads of the block running now.
  size_t blockThreads() const;
};

extern thread_local Fibers *currentFibers;

/// The current fiber gives way to the scheduler until it is run again.
void yieldToScheduler();
/// Records `detail` as the block's fault (the first is kept), naming the
/// current thread; the operation it describes is not made.
void recordFault(const std::string &detail);
/// The first `count` of `fiber`'s cp.async copies not yet made are made
/// (at a wait; at the thread's end, all).
void completeCopies(Fibers::Fiber &fiber, size_t count);
/// Sets the library's pointers to the warp operations and the asynchronous
/// copies; false with `err` when `library` is not a cuda-emu one.
bool bindWarpOps(void *library, const std::string &path, std::string &err);

} // namespace dlart

#endif // DLART_EMUFIBERS_H
