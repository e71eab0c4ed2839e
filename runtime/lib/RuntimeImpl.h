//===- RuntimeImpl.h - the model and context objects of the C API ---------===//
//
// Part of libdlart (internal), shared by Runtime.cpp (the model's entry
// points) and Context.cpp (the execution contexts'). A dlart_model holds
// what its contexts share (the manifest, the backend: kernels, parameters,
// prepared buffers) and its default context, which the model-level calls
// (dlart_forward, dlart_run, ...) use; each dlart_context holds its own
// memory and threads or stream (BackendContext). Concurrency:
//
//  * one call at a time per model and per context (`user`): a second thread
//    is refused with DLART_ERROR_STATE, never made to wait or to race;
//  * `running` counts the contexts (the default one included) inside a call
//    that reads the shared state; dlart_set_device and dlart_load_weights,
//    which write it, set it to -1 and run only when it was 0. Each side
//    refuses the other with DLART_ERROR_STATE;
//  * `refs`: the model's handle and each of its contexts hold one, so a
//    model closed before its contexts lives on until the last is destroyed.
//
//===----------------------------------------------------------------------===//

#ifndef DLART_LIB_RUNTIMEIMPL_H
#define DLART_LIB_RUNTIMEIMPL_H

#include "Backend.h"
#include "dlart/dlart.h"
#include "runtime/schema/Manifest.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace dlart {

/// Sets dlart_last_error() of this thread and returns `status`.
dlart_status fail(dlart_status status, std::string message);

// Runs `body`, turning any escaping exception into a status.
template <typename F> dlart_status guarded(F &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(DLART_ERROR_INTERNAL, "out of memory");
  } catch (const std::exception &e) {
    return fail(DLART_ERROR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(DLART_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

/// A zero-filled, 64-byte aligned host buffer.
struct HostBuffer {
  float *data = nullptr;
  explicit HostBuffer(uint64_t bytes) {
    void *p = nullptr;
    if (::posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
      throw std::bad_alloc();
    std::memset(p, 0, bytes);
    data = static_cast<float *>(p);
  }
  ~HostBuffer() { std::free(data); }
  HostBuffer(const HostBuffer &) = delete;
  HostBuffer &operator=(const HostBuffer &) = delete;
};

/// The runtime's own host buffers for inputs and outputs, allocated when
/// first asked for (dlart_input_buffer, dlart_context_input_buffer).
struct OwnBuffers {
  std::vector<std::unique_ptr<HostBuffer>> inputs, outputs;
  float *get(bool input, size_t i, const std::vector<dlart_tensor_info> &info) {
    auto &bufs = input ? inputs : outputs;
    if (bufs.empty())
      bufs.resize(info.size());
    if (!bufs[i])
      bufs[i] = std::make_unique<HostBuffer>(info[i].bytes);
    return bufs[i]->data;
  }
};

/// Runs `body` (through guarded) as the only user of an object (`user`): a
/// call made while another thread is inside one fails with
/// DLART_ERROR_STATE and `busy` instead of racing it (or deadlocking the
/// host thread pool). The same thread may nest calls (dlart_forward).
template <typename F>
dlart_status exclusive(std::atomic<std::thread::id> &user,
                       const std::string &busy, F &&body) {
  std::thread::id me = std::this_thread::get_id(), none{};
  if (user.load() == me)
    return guarded(body);
  if (!user.compare_exchange_strong(none, me))
    return fail(DLART_ERROR_STATE, busy);
  dlart_status s = guarded(body);
  user.store(std::thread::id{});
  return s;
}

} // namespace dlart

struct dlart_context {
  dlart_model *model = nullptr; ///< Holds one of model->refs (not the default).
  bool isDefault = false;
  /// The thread inside a call on this context (none: idle).
  std::atomic<std::thread::id> user{};
  std::unique_ptr<dlart::BackendContext> exec; ///< Null before a device.
  dlart::OwnBuffers own;
  std::string info; ///< exec->describe(), for dlart_context_info.
};

struct dlart_model {
  std::atomic<int> refs{1};
  /// The thread inside a model-level call (none: idle).
  std::atomic<std::thread::id> user{};
  /// Contexts inside a call that reads the shared state; -1 while
  /// dlart_set_device or dlart_load_weights writes it.
  std::atomic<int64_t> running{0};
  dlart::Manifest manifest;
  dlart::Layout layout;
  std::unique_ptr<dlart::Backend> backend;
  /// The model-level calls' context (destroyed before the backend).
  dlart_context main;
  std::atomic<unsigned> threads{1}; ///< Set by dlart_open (defaultThreads).
  std::atomic<bool> graph{false};
  bool allowNonfinite = false;           ///< Accept NaN/Inf in weights.
  std::atomic<bool> initialised{false};  ///< Weights loaded and init run.
  std::string warnings;
  std::vector<dlart_tensor_info> inputInfo, outputInfo;

  dlart_status needDevice() const;
  dlart_status needInit() const;
  /// Drops one reference; the last one frees the model.
  void release() {
    if (refs.fetch_sub(1) == 1)
      delete this;
  }
};

namespace dlart {

/// A reader of the shared state for the duration of a call (`running` + 1);
/// refused while the model is being changed.
class RunTicket {
public:
  explicit RunTicket(dlart_model &m) : m_(m) {}
  ~RunTicket() {
    if (held_)
      m_.running.fetch_sub(1);
  }
  dlart_status acquire(const char *fn) {
    int64_t n = m_.running.load();
    do {
      if (n < 0)
        return fail(DLART_ERROR_STATE,
                    std::string(fn) + ": the model is being changed by another "
                                      "thread (dlart_set_device or "
                                      "dlart_load_weights); run it when that "
                                      "call has returned");
    } while (!m_.running.compare_exchange_weak(n, n + 1));
    held_ = true;
    return DLART_OK;
  }

private:
  dlart_model &m_;
  bool held_ = false;
};

/// The one writer of the shared state (`running` -1); refused while any
/// context of the model is inside a call.
class ChangeTicket {
public:
  explicit ChangeTicket(dlart_model &m) : m_(m) {}
  ~ChangeTicket() {
    if (held_)
      m_.running.store(0);
  }
  dlart_status acquire(const char *fn) {
    int64_t idle = 0;
    if (!m_.running.compare_exchange_strong(idle, -1))
      return fail(DLART_ERROR_STATE,
                  std::string(fn) + ": " + std::to_string(idle) +
                      " execution context(s) of the model are running on "
                      "other threads; the device and the weights change only "
                      "while none runs");
    held_ = true;
    return DLART_OK;
  }

private:
  dlart_model &m_;
  bool held_ = false;
};

// The calls shared by the model (its default context) and the contexts;
// the caller is the context's only user and holds a RunTicket. `fn` names
// the entry point in messages.
dlart_status contextSetInputs(dlart_context &c, const float *const *inputs,
                              const char *fn);
dlart_status contextRun(dlart_context &c, const char *fn);
dlart_status contextGetOutputs(dlart_context &c, float *const *outputs,
                               const char *fn);
dlart_status contextProfile(dlart_context &c, double *stepMs);

} // namespace dlart

#endif // DLART_LIB_RUNTIMEIMPL_H
