//===- Context.cpp - execution contexts: concurrent runs of one model -----===//
//
// Part of libdlart. A dlart_context runs a loaded model with memory and
// threads (or a CUDA stream) of its own: the inputs, the outputs and the
// activation arena are per context, the kernels, parameters and prepared
// buffers shared (RuntimeImpl.h has the rules). The model-level calls
// (dlart_forward, ...) use the same functions on the model's default
// context.
//
//===----------------------------------------------------------------------===//

#include "RuntimeImpl.h"

#include <algorithm>

using namespace dlart;

namespace dlart {

dlart_status contextSetInputs(dlart_context &c, const float *const *inputs,
                              const char *fn) {
  dlart_model &model = *c.model;
  if (dlart_status s = model.needDevice())
    return s;
  std::string err;
  for (size_t i = 0; i < model.inputInfo.size(); ++i) {
    const float *src = inputs ? inputs[i] : c.own.get(true, i, model.inputInfo);
    if (!src)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  std::string(fn) + ": input " + std::to_string(i) + " '" +
                      model.inputInfo[i].name + "' is null");
    if (!c.exec->upload(model.layout.offset[model.manifest.inputs[i].buffer],
                        src, model.inputInfo[i].bytes, err))
      return fail(DLART_ERROR_DEVICE, err);
  }
  return DLART_OK;
}

dlart_status contextRun(dlart_context &c, const char *) {
  if (dlart_status s = c.model->needInit())
    return s;
  std::string err;
  if (!c.exec->run(Phase::Forward, err))
    return fail(DLART_ERROR_DEVICE, err);
  return DLART_OK;
}

dlart_status contextGetOutputs(dlart_context &c, float *const *outputs,
                               const char *fn) {
  dlart_model &model = *c.model;
  if (dlart_status s = model.needDevice())
    return s;
  std::string err;
  for (size_t i = 0; i < model.outputInfo.size(); ++i) {
    float *dst = outputs ? outputs[i] : c.own.get(false, i, model.outputInfo);
    if (!dst)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  std::string(fn) + ": output " + std::to_string(i) + " '" +
                      model.outputInfo[i].name + "' is null");
    if (!c.exec->download(model.layout.offset[model.manifest.outputs[i].buffer],
                          dst, model.outputInfo[i].bytes, err))
      return fail(DLART_ERROR_DEVICE, err);
  }
  return DLART_OK;
}

dlart_status contextProfile(dlart_context &c, double *stepMs) {
  if (dlart_status s = c.model->needInit())
    return s;
  std::string err;
  std::vector<double> ms;
  if (!c.exec->profile(ms, err))
    return fail(DLART_ERROR_DEVICE, err);
  std::copy(ms.begin(), ms.end(), stepMs);
  return DLART_OK;
}

} // namespace dlart

namespace {

/// Runs `body` as the context's only user, holding a RunTicket on its
/// model; a null context is refused naming `fn`.
template <typename F>
dlart_status onContext(dlart_context *ctx, const char *fn, F &&body) {
  if (!ctx)
    return fail(DLART_ERROR_INVALID_ARGUMENT, std::string(fn) + ": context is null");
  return dlart::exclusive(
      ctx->user,
      std::string(fn) + ": the context is in use by another thread: a "
                        "dlart_context runs one call at a time (create one "
                        "per thread)",
      [&] {
        RunTicket ticket(*ctx->model);
        if (dlart_status s = ticket.acquire(fn))
          return s;
        return body();
      });
}

float *ownBuffer(dlart_context *ctx, bool input, size_t index) {
  const char *fn = input ? "dlart_context_input_buffer" : "dlart_context_output_buffer";
  if (!ctx) {
    fail(DLART_ERROR_INVALID_ARGUMENT, std::string(fn) + ": context is null");
    return nullptr;
  }
  const auto &info = input ? ctx->model->inputInfo : ctx->model->outputInfo;
  if (index >= info.size()) {
    fail(DLART_ERROR_INVALID_ARGUMENT,
         std::string(fn) + ": index " + std::to_string(index) +
             " out of range (the model has " + std::to_string(info.size()) + ")");
    return nullptr;
  }
  try {
    return ctx->own.get(input, index, info);
  } catch (...) {
    fail(DLART_ERROR_INTERNAL, "out of memory");
    return nullptr;
  }
}

} // namespace

extern "C" {

dlart_status dlart_context_create(dlart_model *model, dlart_context **context) {
  return guarded([&] {
    if (!context)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_context_create: context is null");
    *context = nullptr;
    if (!model)
      return fail(DLART_ERROR_INVALID_ARGUMENT, "dlart_context_create: model is null");
    RunTicket ticket(*model);
    if (dlart_status s = ticket.acquire("dlart_context_create"))
      return s;
    if (!model->backend)
      return fail(DLART_ERROR_STATE,
                  model->manifest.dir + ": no device chosen: call "
                                        "dlart_set_device before "
                                        "dlart_context_create");
    auto c = std::make_unique<dlart_context>();
    c->model = model;
    dlart_status status = DLART_OK;
    std::string err;
    c->exec = model->backend->createContext(false, model->threads, model->graph,
                                            status, err);
    if (!c->exec)
      return fail(status, err);
    c->info = c->exec->describe();
    model->refs.fetch_add(1);
    *context = c.release();
    return DLART_OK;
  });
}

void dlart_context_destroy(dlart_context *context) {
  if (!context || context->isDefault)
    return;
  try {
    dlart_model *model = context->model;
    context->exec.reset(); // Before the backend it uses can go.
    delete context;
    model->release();
  } catch (...) {
  }
}

const char *dlart_context_info(const dlart_context *context) {
  return context ? context->info.c_str() : "";
}

dlart_status dlart_context_set_threads(dlart_context *context, int threads) {
  return onContext(context, "dlart_context_set_threads", [&] {
    if (threads < 1 || threads > 4096)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_context_set_threads: " + std::to_string(threads) +
                      " threads: expected 1 to 4096");
    context->exec->setThreads(static_cast<unsigned>(threads));
    context->info = context->exec->describe();
    return DLART_OK;
  });
}

float *dlart_context_input_buffer(dlart_context *context, size_t index) {
  return ownBuffer(context, true, index);
}
float *dlart_context_output_buffer(dlart_context *context, size_t index) {
  return ownBuffer(context, false, index);
}

dlart_status dlart_context_set_inputs(dlart_context *context,
                                      const float *const *inputs) {
  return onContext(context, "dlart_context_set_inputs", [&] {
    return contextSetInputs(*context, inputs, "dlart_context_set_inputs");
  });
}

dlart_status dlart_context_run(dlart_context *context) {
  return onContext(context, "dlart_context_run", [&] {
    return contextRun(*context, "dlart_context_run");
  });
}

dlart_status dlart_context_get_outputs(dlart_context *context,
                                       float *const *outputs) {
  return onContext(context, "dlart_context_get_outputs", [&] {
    return contextGetOutputs(*context, outputs, "dlart_context_get_outputs");
  });
}

dlart_status dlart_context_forward(dlart_context *context,
                                   const float *const *inputs,
                                   float *const *outputs) {
  return onContext(context, "dlart_context_forward", [&] {
    if (dlart_status s = context->model->needInit())
      return s; // Before touching inputs: the clearer message.
    if (dlart_status s = contextSetInputs(*context, inputs, "dlart_context_forward"))
      return s;
    if (dlart_status s = contextRun(*context, "dlart_context_forward"))
      return s;
    return contextGetOutputs(*context, outputs, "dlart_context_forward");
  });
}

dlart_status dlart_context_profile(dlart_context *context, double *step_ms) {
  return onContext(context, "dlart_context_profile", [&] {
    if (!step_ms)
      return fail(DLART_ERROR_INVALID_ARGUMENT,
                  "dlart_context_profile: step_ms is null");
    return contextProfile(*context, step_ms);
  });
}

} // extern "C"
