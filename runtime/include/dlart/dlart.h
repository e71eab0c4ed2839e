/*===- dlart.h - the C API of libdlart, the dlac runtime ------------------===*
 *
 * Runs a bundle written by `dlac -o model.dlab` (docs/bundle-format.md) on
 * the host (kernels.so) or on an NVIDIA GPU (libcuda.so.1, opened at run
 * time). Plain C so that any language can call it; see docs/runtime.md.
 *
 * Typical use:
 *
 *   dlart_model *m;
 *   if (dlart_open("model.dlab", &m) != DLART_OK ||
 *       dlart_set_device(m, DLART_DEVICE_HOST) != DLART_OK ||
 *       dlart_load_weights(m, "w.safetensors") != DLART_OK ||  // runs init
 *       dlart_forward(m, inputs, outputs) != DLART_OK)
 *     fprintf(stderr, "%s\n", dlart_last_error());
 *   dlart_close(m);
 *
 * Errors: every function that can fail returns a dlart_status; on failure
 * dlart_last_error() returns one message (several lines at most for weight
 * problems) that names the file, buffer or kernel concerned. No C++
 * exception and no abort crosses this API.
 *
 * Threads. A loaded model (kernels, parameters, the buffers init prepared)
 * is shared by its execution contexts (dlart_context_create), each with its
 * own inputs, outputs, activation arena and host threads or CUDA stream:
 *
 *   - different contexts of one model may run at the same time, each on any
 *     thread, and beside the model-level calls (dlart_forward, dlart_run,
 *     ..., which use the model's own default context);
 *   - one call at a time per context and per model: a call made while
 *     another thread is inside one on the same context (or, for the
 *     model-level calls, the same model) fails with DLART_ERROR_STATE; it
 *     does not wait;
 *   - dlart_set_device and dlart_load_weights change what the contexts
 *     share: they fail with DLART_ERROR_STATE while a context is inside a
 *     call, and a context call fails the same way while either runs;
 *   - the functions that only read the manifest (names, counts, shapes,
 *     steps) may be called from any thread at any time;
 *   - dlart_close may come before dlart_context_destroy: the model's memory
 *     lives until its last context is destroyed (but no model-level call may
 *     follow dlart_close). Never destroy a context another thread is using.
 *
 * Results do not depend on the context or the thread count: outputs are
 * bit-identical to a single-threaded run.
 *
 *===----------------------------------------------------------------------===*/

#ifndef DLART_DLART_H
#define DLART_DLART_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLART_FORMAT_VERSION 1 /* manifest.json "version" this runtime reads */

typedef enum dlart_status {
  DLART_OK = 0,
  DLART_ERROR_INVALID_ARGUMENT = 1, /* null pointer, index out of range, ... */
  DLART_ERROR_BUNDLE = 2,  /* missing/malformed manifest, kernels or cubin */
  DLART_ERROR_WEIGHTS = 3, /* weights file unreadable, missing or misshapen */
  DLART_ERROR_DEVICE = 4,  /* no driver/GPU, no fitting binary, CUDA error */
  DLART_ERROR_STATE = 5,   /* call out of order (forward before weights) */
  DLART_ERROR_INTERNAL = 6 /* out of memory, unexpected C++ exception */
} dlart_status;

typedef enum dlart_device {
  DLART_DEVICE_HOST = 0, /* kernels.so on CPU threads */
  DLART_DEVICE_CUDA = 1, /* kernels.cubin/.fatbin/.ptx through libcuda.so.1 */
  DLART_DEVICE_CUDA_EMU = 2 /* the CUDA kernels on the host with GPU semantics
                               (kernels-emu.so, each GPU thread a fiber): a
                               checker for machines without a GPU */
} dlart_device;

/* An opened bundle and, once a device is set, its memory and kernels. */
typedef struct dlart_model dlart_model;

/* An execution context of a model: its own inputs, outputs and activation
 * arena (and host thread pool or CUDA stream); see "Threads" above. */
typedef struct dlart_context dlart_context;

/* A model input or output (always f32, NCHW). Pointers stay valid until
 * dlart_close. */
typedef struct dlart_tensor_info {
  const char *name;
  int32_t rank;
  const int64_t *shape;
  int64_t num_elements;
  uint64_t bytes; /* num_elements * 4 */
} dlart_tensor_info;

/* The message of the last failed call on this thread ("" if none). Valid
 * until the next dlart call on this thread. */
const char *dlart_last_error(void);

/* "host" / "cuda"; NULL for an unknown value. */
const char *dlart_device_name(dlart_device device);

/* Opens the bundle directory `bundle_dir`: parses and validates
 * manifest.json (format "dlab", version 1, every field's type, buffer ids,
 * offsets within the arena and prepared sizes, step arguments) and checks
 * that the files it names exist. Loads no kernel and touches no device. */
dlart_status dlart_open(const char *bundle_dir, dlart_model **model);

/* Frees everything; NULL is allowed. */
void dlart_close(dlart_model *model);

/* manifest.json "model" ("" if absent). */
const char *dlart_model_name(const dlart_model *model);

/* Host threads that run each step's blocks (default: the environment
 * variable DLART_THREADS when set, 1 to 4096, read by dlart_open, which
 * fails on a malformed value; else the hardware concurrency). Any count
 * gives bit-identical results. May be called at any
 * time; ignored by the cuda device. */
dlart_status dlart_set_threads(dlart_model *model, int threads);

/* Chooses the device, once per model: loads the kernels (dlopen of
 * kernels.so, or cuModuleLoadData of the cubin/fatbin with PTX JIT as
 * fallback) and allocates all buffers in one block (zero-filled). */
dlart_status dlart_set_device(dlart_model *model, dlart_device device);

/* What dlart_set_device chose, for logs: "host, 4 threads, kernels.so" or
 * "cuda, NVIDIA H200 (sm_90), kernels.cubin" ("" before). */
const char *dlart_device_info(const dlart_model *model);

/* cuda only: when enabled, the forward steps are captured once into a CUDA
 * graph and replayed by dlart_run (profiled runs stay eager). No effect on
 * the host device. */
dlart_status dlart_set_cuda_graph(dlart_model *model, int enable);

/* Loads every parameter of the manifest from a safetensors file (NULL: the
 * bundle's weights.safetensors), converting F16/BF16/F64 to f32, then runs
 * the init steps once. Tensors not needed are reported by dlart_warnings;
 * "*num_batches_tracked" is ignored. A parameter holding NaN or an infinity
 * (F64 values beyond the float range count as infinities) is refused with
 * DLART_ERROR_WEIGHTS naming it and its first such element, unless
 * dlart_set_allow_nonfinite. May be called again to reload. */
dlart_status dlart_load_weights(dlart_model *model, const char *path);

/* Whether dlart_load_weights accepts parameters holding NaN or infinities
 * (default 0: they are refused). */
dlart_status dlart_set_allow_nonfinite(dlart_model *model, int allow);

/* Newline-separated warnings of the last dlart_load_weights ("" if none). */
const char *dlart_warnings(const dlart_model *model);

size_t dlart_num_inputs(const dlart_model *model);
size_t dlart_num_outputs(const dlart_model *model);
dlart_status dlart_input_info(const dlart_model *model, size_t index,
                              dlart_tensor_info *info);
dlart_status dlart_output_info(const dlart_model *model, size_t index,
                               dlart_tensor_info *info);

/* The runtime's own host buffers for input/output `index` (zero-filled,
 * `bytes` long, 64-byte aligned), for callers that do not keep their own.
 * Valid until dlart_close; NULL on a bad index (see dlart_last_error). */
float *dlart_input_buffer(dlart_model *model, size_t index);
float *dlart_output_buffer(dlart_model *model, size_t index);

/* One inference: dlart_set_inputs + dlart_run + dlart_get_outputs.
 * `inputs[i]` / `outputs[i]` are host buffers of dlart_input_info(i).bytes
 * (no alignment needed); a NULL array means the runtime's own buffers. */
dlart_status dlart_forward(dlart_model *model, const float *const *inputs,
                           float *const *outputs);

/* The three parts of dlart_forward, for timing the computation alone:
 * copy the inputs to the device, run the forward steps (synchronously), copy
 * the outputs back. */
dlart_status dlart_set_inputs(dlart_model *model, const float *const *inputs);
dlart_status dlart_run(dlart_model *model);
dlart_status dlart_get_outputs(dlart_model *model, float *const *outputs);

/* Number of forward steps and their kernel names. */
size_t dlart_num_forward_steps(const dlart_model *model);
const char *dlart_forward_step_kernel(const dlart_model *model, size_t step);
/// The step's own name (the op it computes, e.g. "base_level2_tree2_conv1"),
/// which differs from its kernel's when the step runs a kernel built for an
/// earlier step of the same shape; NULL for a step out of range.
const char *dlart_forward_step_name(const dlart_model *model, size_t step);
/* The step's multiply-accumulates as PyTorch counts them (the manifest's
 * "macs"), for GFLOP/s; 0 when the bundle does not record them or the step
 * is out of range. */
uint64_t dlart_forward_step_macs(const dlart_model *model, size_t step);

/* Runs the forward steps once, timing each one (CUDA events on cuda, a
 * steady clock around each step on host), and writes dlart_num_forward_steps
 * times in milliseconds to `step_ms`. Inputs are those already set. */
dlart_status dlart_profile(dlart_model *model, double *step_ms);

/* ---- Execution contexts ------------------------------------------------ */

/* A new execution context of `model` (after dlart_set_device; weights may
 * be loaded before or after): its inputs, outputs and activation arena
 * (zero-filled), the kernels' workspace, and a host thread pool of the
 * model's current dlart_set_threads count, or a CUDA stream (and, with
 * dlart_set_cuda_graph set at this time, a CUDA graph of its own). Costs
 * one arena of memory (the manifest's memory.arena_bytes plus the inputs
 * and outputs). May be called while other contexts run. */
dlart_status dlart_context_create(dlart_model *model, dlart_context **context);

/* Frees the context (not while a call is inside it); NULL is allowed. The
 * last context of a closed model frees the model too. */
void dlart_context_destroy(dlart_context *context);

/* Host threads of this context (1 to 4096; ignored by the cuda device). */
dlart_status dlart_context_set_threads(dlart_context *context, int threads);

/* As dlart_device_info, for this context ("host, 2 threads, kernels.so"). */
const char *dlart_context_info(const dlart_context *context);

/* The context's own host buffers for input/output `index`, as
 * dlart_input_buffer; valid until dlart_context_destroy. */
float *dlart_context_input_buffer(dlart_context *context, size_t index);
float *dlart_context_output_buffer(dlart_context *context, size_t index);

/* As dlart_forward, dlart_set_inputs, dlart_run, dlart_get_outputs and
 * dlart_profile, on the context's memory (a NULL array: the context's own
 * buffers). DLART_ERROR_STATE before dlart_load_weights, while another
 * thread is inside a call on this context, or while the model is inside
 * dlart_load_weights. */
dlart_status dlart_context_forward(dlart_context *context,
                                   const float *const *inputs,
                                   float *const *outputs);
dlart_status dlart_context_set_inputs(dlart_context *context,
                                      const float *const *inputs);
dlart_status dlart_context_run(dlart_context *context);
dlart_status dlart_context_get_outputs(dlart_context *context,
                                       float *const *outputs);
dlart_status dlart_context_profile(dlart_context *context, double *step_ms);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DLART_DLART_H */
