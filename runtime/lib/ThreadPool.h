//===- ThreadPool.h - the host backend's persistent thread pool -----------===//
//
// Part of libdlart (internal). One pool per execution context: the threads
// of a context run only its steps, so contexts on different threads never
// wait for each other's pools.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_LIB_THREADPOOL_H
#define DLART_LIB_THREADPOOL_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dlart {

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

} // namespace dlart

#endif // DLART_LIB_THREADPOOL_H
