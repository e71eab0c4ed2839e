//===- Runtime.cpp - the C API of libdlart --------------------------------===//
//
// Part of libdlart: the model's entry points (the execution contexts' are
// in Context.cpp; the objects and the concurrency rules in RuntimeImpl.h).
// Every entry point catches everything: a C caller cannot handle a C++
// exception, so failures become a status code and a message in a
// thread-local string (dlart_last_error).
//
//===----------------------------------------------------------------------===//

#include "dlart/dlart.h"

#include "Backend.h"
#include "RuntimeImpl.h"
#include "StorageType.h"
#include "runtime/schema/Manifest.h"
#include "dlart/Safetensors.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/stat.h>
#include <thread>

using namespace dlart;

namespace {

thread_local std::string lastError;

unsigned hardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

/// The host thread count before dlart_set_threads: DLART_THREADS when it is
/// set (so that a whole test suite or service can be pinned to N threads
/// without a flag), else one per hardware thread. A malformed value is an
/// error rather than a silent fallback.
bool defaultThreads(unsigned &threads, std::string &err) {
  const char *env = std::getenv("DLART_THREADS");
  if (!env || !*env) {
    threads = hardwareThreads();
    return true;
  }
  char *end = nullptr;
  errno = 0;
  long n = std::strtol(env, &end, 10);
  if (errno || end == env || *end || n < 1 || n > 4096) {
    err = std::string("DLART_THREADS: expected an integer from 1 to 4096, got '") +
          env + "'";
    return false;
  }
  threads = static_cast<unsigned>(n);
  return true;
}

} // namespace

namespace dlart {

dlart_status fail(dlart_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

} // namespace dlart

dlart_status dlart_model::needDevice() const {
  if (!backend)
    return fail(DLART_ERROR_STATE,
                manifest.dir + ": no device chosen: call dlart_set_device "
                               "first");
  return DLART_OK;
}

dlart_status dlart_model::needInit() const {
  if (dlart_status s = needDevice())
    return s;
  if (!initialised.load())
    return fail(DLART_ERROR_STATE,
                manifest.dir + ": weights not loaded: call "
                               "dlart_load_weights first (it also runs init)");
  return DLART_OK;
}

namespace {

std::vector<dlart_tensor_info> describe(const std::vector<TensorDesc> &ts) {
  std::vector<dlart_tensor_info> out;
  for (const TensorDesc &t : ts)
    out.push_back({t.name.c_str(), static_cast<int32_t>(t.shape.size()),
                   t.shape.data(), static_cast<int64_t>(t.numElements),
                   t.numElements * 4});
  return out;
}

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

} // namespace

namespace {

/// Runs `body` (through guarded) as the model's only user (RuntimeImpl.h).
template <typename F>
dlart_status exclusive(dlart_model *model, const char *fn, F &&body) {
  if (!model)
    return guarded(body);
  return dlart::exclusive(
      model->user,
      std::string(fn) + ": the model is in use by another thread: a "
                        "dlart_model runs one call at a time (create an "
                        "execution context per thread, dlart_context_create, "
                        "to run concurrently)",
      body);
}

/// exclusive + a RunTicket: a call on the model's default context.
template <typename F>
dlart_status onDefault(dlart_model *model, const char *fn, F &&body) {
  return exclusive(model, fn, [&] {
    if (!model)
      return body();
    RunTicket ticket(*model);
    if (dlart_status s = ticket.acquire(fn))
      return s;
    return body();
  });
}

} // namespace

namespace {

/// Every prepared buffer an init step wrote holds finite values; else `err`
/// names the step, the element and the parameters the step read.
bool checkPrepared(dlart_model &model, std::string &err) {
  const Manifest &m = model.manifest;
  std::vector<std::string> paramOf(m.buffers.size());
  for (const TensorDesc &p : m.parameters)
    paramOf[p.buffer] = p.name;
  std::vector<float> values;
  std::vector<unsigned char> raw;
  for (size_t i = 0; i < m.init.size(); ++i) {
    const StepDesc &s = m.init[i];
    for (size_t j = s.args.size() - s.writes; j < s.args.size(); ++j) {
      uint32_t id = s.args[j];
      const BufferDesc &b = m.buffers[id];
      if (b.kind != BufferKind::Prepared)
        continue;
      size_t n = b.bytes / elementTypeSize(b.dtype);
      values.resize(n);
      raw.resize(b.bytes);
      if (!model.backend->downloadShared(model.layout.offset[id], raw.data(), b.bytes, err))
        return false;
      widenToF32(raw.data(), b.dtype, n, values.data());
      std::string detail;
      if (checkFinite("", "prepared buffer " + std::to_string(id), {int64_t(values.size())},
                      values.data(), values.size(), detail))
        continue;
      std::string params;
      for (size_t k = 0; k < s.args.size() - s.writes; ++k)
        if (!paramOf[s.args[k]].empty())
          params += (params.empty() ? "" : ", ") + paramOf[s.args[k]];
      err = m.dir + ": parameter folding overflowed: init step '" + s.stepName() + "' (init[" +
            std::to_string(i) + "]) wrote: " + detail + ", from the finite parameters " +
            (params.empty() ? std::string("(none)") : params) +
            " (e.g. a huge BatchNorm weight over a tiny running_var); dla-run "
            "--allow-nonfinite or dlart_set_allow_nonfinite accepts it";
      return false;
    }
  }
  return true;
}

} // namespace

extern "C" {

const char *dlart_last_error(void) { return lastError.c_str(); }

const char *dlart_device_name(dlart_device device) {
  switch (device) {
  case DLART_DEVICE_HOST: return "host";
  case DLART_DEVICE_CUDA: return "cuda";
  case DLART_DEVICE_CUDA_EMU: return "cuda-emu";
  }
  return nullptr;
}

dlart_status dlart_open(const char *bundle_dir, dlart_model **model) {
  return guarded([&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_open: model is null");
    *model = nullptr;
    if (!bundle_dir || !*bundle_dir)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_open: no bundle directory given");
    auto m = std::make_unique<dlart_model>();
    m->main.model = m.get();
    m->main.isDefault = true;
    std::string err;
    unsigned threads = 1;
    if (!defaultThreads(threads, err))
      return fail(DLART_ERROR_INVALID_ARGUMENT, err);
    m->threads = threads;
    if (!parseManifest(bundle_dir, m->manifest, err))
      return fail(DLART_ERROR_BUNDLE, err);
    m->layout = Layout::plan(m->manifest);
    m->inputInfo = describe(m->manifest.inputs);
    m->outputInfo = describe(m->manifest.outputs);
    *model = m.release();
    return DLART_OK;
  });
}

void dlart_close(dlart_model *model) {
  if (!model)
    return;
  try {
    // The default context's threads and memory go now; the rest when the
    // last context of the model is destroyed.
    model->main.exec.reset();
    model->main.own = OwnBuffers();
    model->release();
  } catch (...) {
  }
}

const char *dlart_model_name(const dlart_model *model) {
  return model ? model->manifest.model.c_str() : "";
}

const char *dlart_device_info(const dlart_model *model) {
  return model ? model->main.info.c_str() : "";
}

dlart_status dlart_set_threads(dlart_model *model, int threads) {
  return exclusive(model, "dlart_set_threads", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_set_threads: model is null");
    if (threads < 1 || threads > 4096)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_set_threads: " + std::to_string(threads) +
                      " threads: expected 1 to 4096");
    model->threads = static_cast<unsigned>(threads);
    if (model->main.exec) {
      model->main.exec->setThreads(model->threads);
      model->main.info = model->main.exec->describe();
    }
    return DLART_OK;
  });
}

dlart_status dlart_set_device(dlart_model *model, dlart_device device) {
  return exclusive(model, "dlart_set_device", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_set_device: model is null");
    if (!dlart_device_name(device))
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_set_device: unknown device " + std::to_string(device));
    if (model->backend)
      return fail(DLART_ERROR_STATE,
                  model->manifest.dir + ": the device is already chosen (" +
                      model->main.info + "); open the bundle again for "
                      "another device");
    ChangeTicket ticket(*model);
    if (dlart_status s = ticket.acquire("dlart_set_device"))
      return s;
    std::string err;
    // A truncated kernels.so would raise SIGBUS inside dlopen: check it
    // first (the host backend reports every other problem of the library).
    if (device == DLART_DEVICE_HOST && model->manifest.hasHost &&
        !checkHostLibrary(model->manifest.path(model->manifest.hostLibrary),
                          err))
      return fail(DLART_ERROR_BUNDLE, err);
    std::unique_ptr<Backend> b = device == DLART_DEVICE_HOST       ? createHostBackend()
                                 : device == DLART_DEVICE_CUDA_EMU ? createEmuBackend()
                                     : createCudaBackend();
    if (dlart_status s = b->load(model->manifest, model->layout, err))
      return fail(s, err);
    dlart_status status = DLART_OK;
    auto exec = b->createContext(true, model->threads, model->graph, status, err);
    if (!exec)
      return fail(status, err);
    model->main.info = exec->describe();
    model->main.exec = std::move(exec);
    model->backend = std::move(b);
    return DLART_OK;
  });
}

dlart_status dlart_set_cuda_graph(dlart_model *model, int enable) {
  return exclusive(model, "dlart_set_cuda_graph", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_set_cuda_graph: model is null");
    model->graph = enable != 0;
    if (model->main.exec)
      model->main.exec->setGraph(model->graph);
    return DLART_OK;
  });
}

dlart_status dlart_load_weights(dlart_model *model, const char *path) {
  return exclusive(model, "dlart_load_weights", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_load_weights: model is null");
    if (dlart_status s = model->needDevice())
      return s;
    ChangeTicket ticket(*model);
    if (dlart_status s = ticket.acquire("dlart_load_weights"))
      return s;
    const Manifest &m = model->manifest;
    model->initialised = false;
    model->warnings.clear();
    std::string err;
    std::string file = path ? path : m.path("weights.safetensors");
    bool haveFile = path || fileExists(file);
    if (!haveFile && !m.parameters.empty())
      return fail(DLART_ERROR_WEIGHTS,
                  m.dir + ": no weights given and the bundle has no "
                          "weights.safetensors");
    if (haveFile) {
      // The bundle's own checkpoint must be the one its manifest lists.
      if (!path && !verifyFile(m, "weights.safetensors", err))
        return fail(DLART_ERROR_WEIGHTS, err);
      auto st = SafetensorsFile::open(file, err);
      if (!st)
        return fail(DLART_ERROR_WEIGHTS, err);
      std::vector<ParamSpec> specs;
      for (const TensorDesc &p : m.parameters)
        specs.push_back({p.name, p.shape});
      std::vector<std::string> warnings;
      bool ok = checkParameters(*st, specs, err, warnings);
      // Keys the model accepts without reading (manifest
      // "ignored_parameters") are expected in a checkpoint: no warning.
      auto ignored = [&](const std::string &w) {
        for (const std::string &name : m.ignoredParameters)
          if (w.find("'" + name + "'") != std::string::npos)
            return true;
        return false;
      };
      for (const std::string &w : warnings)
        if (!ignored(w))
          model->warnings += (model->warnings.empty() ? "" : "\n") + w;
      if (!ok)
        return fail(DLART_ERROR_WEIGHTS, err);
      std::vector<float> values;
      std::vector<uint16_t> narrow;
      for (const TensorDesc &p : m.parameters) {
        ElementType storage = p.roundTo != ElementType::F32 ? p.roundTo : p.dtype;
        if (!checkParameterDType(file, *st->find(p.name), storage, err))
          return fail(DLART_ERROR_WEIGHTS, err);
        if (!st->readAsF32(p.name, values, err))
          return fail(DLART_ERROR_WEIGHTS, err);
        // NaN/Inf would reach every output without an error on the way.
        if (!model->allowNonfinite &&
            !checkFinite(file, p.name, p.shape, values.data(), values.size(),
                         err))
          return fail(DLART_ERROR_WEIGHTS,
                      err + "; weights must be finite (dla-run "
                            "--allow-nonfinite or dlart_set_allow_nonfinite "
                            "accepts them)");
        if (!model->allowNonfinite &&
            !checkVariance(file, p.name, p.shape, values.data(), values.size(), err))
          return fail(DLART_ERROR_WEIGHTS,
                      err + " (dla-run --allow-nonfinite or "
                            "dlart_set_allow_nonfinite accepts it)");
        const void *bytes = values.data();
        if (storage == ElementType::TF32) {
          // Rounded once to tf32, kept in f32 words.
          if (!roundToTF32InPlace(values, file, p, model->allowNonfinite, err))
            return fail(DLART_ERROR_WEIGHTS, err);
        } else if (storage != ElementType::F32) {
          // Rounded once to the storage type; finite values past its range
          // (65504 for f16) are refused like NaN/Inf. Kept widened
          // (round_to): the rounded values, as f32.
          if (!toStorageType(values, storage, narrow, file, p, model->allowNonfinite, err))
            return fail(DLART_ERROR_WEIGHTS, err);
          if (p.dtype == ElementType::F32)
            widenToF32(narrow.data(), storage, narrow.size(), values.data());
          else
            bytes = narrow.data();
        }
        if (!model->backend->uploadShared(model->layout.offset[p.buffer], bytes,
                                          p.numElements * elementTypeSize(p.dtype), err))
          return fail(DLART_ERROR_DEVICE, err);
      }
    }
    if (!model->main.exec->run(Phase::Init, err))
      return fail(DLART_ERROR_DEVICE, err);
    // Finite parameters can still fold into infinities (a huge BatchNorm
    // gamma over a tiny variance): check what init wrote, naming the step
    // and the parameters it read.
    if (!model->allowNonfinite && !checkPrepared(*model, err))
      return fail(DLART_ERROR_WEIGHTS, err);
    model->initialised = true;
    return DLART_OK;
  });
}

dlart_status dlart_set_allow_nonfinite(dlart_model *model, int allow) {
  return exclusive(model, "dlart_set_allow_nonfinite", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_set_allow_nonfinite: model is null");
    model->allowNonfinite = allow != 0;
    return DLART_OK;
  });
}

const char *dlart_warnings(const dlart_model *model) {
  return model ? model->warnings.c_str() : "";
}

size_t dlart_num_inputs(const dlart_model *model) {
  return model ? model->inputInfo.size() : 0;
}
size_t dlart_num_outputs(const dlart_model *model) {
  return model ? model->outputInfo.size() : 0;
}

static dlart_status tensorInfo(const dlart_model *model, bool input,
                               size_t index, dlart_tensor_info *info) {
  const char *fn = input ? "dlart_input_info" : "dlart_output_info";
  if (!model || !info)
    return fail(DLART_ERROR_INVALID_ARGUMENT,
                std::string(fn) + ": model or info is null");
  const auto &list = input ? model->inputInfo : model->outputInfo;
  if (index >= list.size())
    return fail(DLART_ERROR_INVALID_ARGUMENT,
                std::string(fn) + ": index " + std::to_string(index) +
                    " out of range (the model has " +
                    std::to_string(list.size()) + ")");
  *info = list[index];
  return DLART_OK;
}

dlart_status dlart_input_info(const dlart_model *model, size_t index,
                              dlart_tensor_info *info) {
  return tensorInfo(model, true, index, info);
}
dlart_status dlart_output_info(const dlart_model *model, size_t index,
                               dlart_tensor_info *info) {
  return tensorInfo(model, false, index, info);
}

static float *ownBuffer(dlart_model *model, bool input, size_t index) {
  dlart_tensor_info info;
  if (tensorInfo(model, input, index, &info) != DLART_OK)
    return nullptr;
  try {
    return model->main.own.get(input, index, input ? model->inputInfo
                                                  : model->outputInfo);
  } catch (...) {
    fail(DLART_ERROR_INTERNAL, "out of memory");
    return nullptr;
  }
}

float *dlart_input_buffer(dlart_model *model, size_t index) {
  return ownBuffer(model, true, index);
}
float *dlart_output_buffer(dlart_model *model, size_t index) {
  return ownBuffer(model, false, index);
}

dlart_status dlart_set_inputs(dlart_model *model, const float *const *inputs) {
  return onDefault(model, "dlart_set_inputs", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_set_inputs: model is null");
    return contextSetInputs(model->main, inputs, "dlart_set_inputs");
  });
}

dlart_status dlart_run(dlart_model *model) {
  return onDefault(model, "dlart_run", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_run: model is null");
    return contextRun(model->main, "dlart_run");
  });
}

dlart_status dlart_get_outputs(dlart_model *model, float *const *outputs) {
  return onDefault(model, "dlart_get_outputs", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_get_outputs: model is null");
    return contextGetOutputs(model->main, outputs, "dlart_get_outputs");
  });
}

dlart_status dlart_forward(dlart_model *model, const float *const *inputs,
                           float *const *outputs) {
  // One exclusive call: no other thread's inputs between these three.
  return onDefault(model, "dlart_forward", [&] {
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_set_inputs: model is null");
    if (dlart_status s = model->needInit())
      return s; // Before touching inputs: the clearer message.
    if (dlart_status s = contextSetInputs(model->main, inputs, "dlart_set_inputs"))
      return s;
    if (dlart_status s = contextRun(model->main, "dlart_run"))
      return s;
    return contextGetOutputs(model->main, outputs, "dlart_get_outputs");
  });
}

size_t dlart_num_forward_steps(const dlart_model *model) {
  return model ? model->manifest.forward.size() : 0;
}

const char *dlart_forward_step_kernel(const dlart_model *model, size_t step) {
  if (!model || step >= model->manifest.forward.size())
    return nullptr;
  return model->manifest.forward[step].kernel.c_str();
}

const char *dlart_forward_step_name(const dlart_model *model, size_t step) {
  if (!model || step >= model->manifest.forward.size())
    return nullptr;
  return model->manifest.forward[step].stepName().c_str();
}

uint64_t dlart_forward_step_macs(const dlart_model *model, size_t step) {
  if (!model || step >= model->manifest.forward.size())
    return 0;
  return model->manifest.forward[step].macs;
}

dlart_status dlart_profile(dlart_model *model, double *step_ms) {
  return onDefault(model, "dlart_profile", [&] {
    if (!model || !step_ms)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_profile: model or step_ms is null");
    return contextProfile(model->main, step_ms);
  });
}

} // extern "C"
