//===- dla-run.cpp - run a dlac bundle on the host or a GPU ---------------===//
//
// Loads a bundle, its weights and inputs (safetensors or .npy, or seeded
// random values), runs it through libdlart's C API, and writes, checks or
// benchmarks the outputs (TensorFiles.h: the tensor files). Links only libdlart: it can be copied with
// libdlart.so to a GPU machine that has no LLVM/MLIR and no CUDA toolkit.
//
//===----------------------------------------------------------------------===//

#include "Report.h"
#include "TensorFiles.h"

#include "dlart/Safetensors.h"
#include "dlart/dlart.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

// Exit statuses (documented in --help and docs/runtime.md).
constexpr int kExitError = 1, kExitUsage = 2, kExitMismatch = 3;

const char *kUsage =
    "usage: dla-run MODEL.dlab [options]\n"
    "\n"
    "Runs a bundle written by 'dlac -o MODEL.dlab' on the host (kernels.so)\n"
    "or on an NVIDIA GPU (the CUDA driver, libcuda.so.1, is needed; the CUDA\n"
    "toolkit is not).\n"
    "\n"
    "  --weights FILE      parameters (safetensors, PyTorch state-dict names);\n"
    "                      default: MODEL.dlab/weights.safetensors\n"
    "  --input FILE|DIR    inputs by name: a safetensors file, X.npy (a model\n"
    "                      with one input), or a directory of NAME.npy;\n"
    "                      default: random values in [-1, 1), the same for\n"
    "                      the same --seed\n"
    "  --seed N            seed of the random inputs (default 0)\n"
    "  --output FILE|DIR   write the outputs (F32): safetensors, Y.npy (a model\n"
    "                      with one output), or DIR/ (a directory of NAME.npy)\n"
    "  --device host|cuda|cuda-emu\n"
    "                      where to run (default host); cuda-emu runs the CUDA\n"
    "                      kernels on this CPU with GPU semantics (a checker)\n"
    "  --threads N         host threads (default: DLART_THREADS, else one per core)\n"
    "  --check FILE|DIR    compare every output with the tensor of the same\n"
    "                      name in FILE (as --input): |a - e| <= atol + rtol * |e|\n"
    "  --rtol R            relative tolerance of --check (default 1e-3)\n"
    "  --atol A            absolute tolerance of --check (default 1e-4)\n"
    "  --bench N           time N forward passes (inputs already on the\n"
    "                      device); print min/median/p90 ms and images/s\n"
    "  --warmup K          untimed passes before --bench (default 3)\n"
    "  --profile           time each forward step (CUDA events on cuda)\n"
    "  --json FILE         with --bench and/or --profile: also write every\n"
    "                      iteration's time, percentiles, mean, throughput\n"
    "                      and each step's time to FILE (JSON)\n"
    "  --graph             cuda: capture the forward pass once as a CUDA\n"
    "                      graph and replay it\n"
    "  --allow-nonfinite   accept weights and inputs holding NaN or Inf\n"
    "                      (refused by default, naming the first one)\n"
    "  -h, --help          this text\n"
    "\n"
    "Outputs holding NaN or Inf get a warning (stderr).\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 3 --check mismatch.\n";

struct Options {
  std::string bundle, weights, input, output, check, json;
  std::string device = "host";
  uint64_t seed = 0;
  int threads = 0; // 0: the runtime's default
  double rtol = 1e-3, atol = 1e-4;
  long bench = 0, warmup = 3;
  bool profile = false, graph = false, allowNonfinite = false;
};

int usageError(const std::string &msg) {
  std::fprintf(stderr, "dla-run: %s (see dla-run --help)\n", msg.c_str());
  return kExitUsage;
}

int error(const std::string &msg) {
  std::fprintf(stderr, "dla-run: error: %s\n", msg.c_str());
  return kExitError;
}

bool parseInt(const std::string &s, long min, long max, long &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (errno || *end || v < min || v > max)
    return false;
  out = v;
  return true;
}

bool parseReal(const std::string &s, double &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end || !std::isfinite(v) || v < 0)
    return false;
  out = v;
  return true;
}

// Returns -1 when parsing succeeded, else the exit status (0 for --help).
int parseArgs(int argc, char **argv, Options &o) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
      if (arg.size() > 1 && arg[0] == '-')
        return usageError("unknown option '" + arg + "'");
      positional.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool inlineValue = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inlineValue = true;
    }
    if (name == "--profile" || name == "--graph" ||
        name == "--allow-nonfinite") {
      if (inlineValue)
        return usageError(name + " takes no value");
      (name == "--profile" ? o.profile
       : name == "--graph" ? o.graph
                           : o.allowNonfinite) = true;
      continue;
    }
    static const char *withValue[] = {
        "--weights", "--input", "--output", "--device", "--threads", "--check",
        "--rtol",    "--atol",  "--bench",  "--warmup", "--seed",   "--json"};
    if (std::find_if(std::begin(withValue), std::end(withValue),
                     [&](const char *n) { return name == n; }) ==
        std::end(withValue))
      return usageError("unknown option '" + name + "'");
    if (!inlineValue) {
      if (i + 1 >= argc)
        return usageError(name + " needs a value");
      value = argv[++i];
    }
    long n = 0;
    if (name == "--weights")
      o.weights = value;
    else if (name == "--input")
      o.input = value;
    else if (name == "--output")
      o.output = value;
    else if (name == "--check")
      o.check = value;
    else if (name == "--json")
      o.json = value;
    else if (name == "--device") {
      if (value != "host" && value != "cuda" && value != "cuda-emu")
        return usageError("--device: expected 'host', 'cuda' or 'cuda-emu', got '" +
                          value + "'");
      o.device = value;
    } else if (name == "--threads") {
      if (!parseInt(value, 1, 4096, n))
        return usageError("--threads: expected an integer from 1 to 4096, "
                          "got '" + value + "'");
      o.threads = static_cast<int>(n);
    } else if (name == "--bench" || name == "--warmup") {
      if (!parseInt(value, name == "--bench" ? 1 : 0, 1000000, n))
        return usageError(name + ": expected an integer from " +
                          (name == "--bench" ? "1" : "0") +
                          " to 1000000, got '" + value + "'");
      (name == "--bench" ? o.bench : o.warmup) = n;
    } else if (name == "--seed") {
      if (!parseInt(value, 0, 0x7fffffffffffffffl, n))
        return usageError("--seed: expected a non-negative integer, got '" +
                          value + "'");
      o.seed = static_cast<uint64_t>(n);
    } else { // --rtol, --atol
      if (!parseReal(value, name == "--rtol" ? o.rtol : o.atol))
        return usageError(name + ": expected a non-negative number, got '" +
                          value + "'");
    }
  }
  if (positional.empty())
    return usageError("no bundle given");
  if (positional.size() > 1)
    return usageError("one bundle expected, got '" + positional[0] +
                      "' and '" + positional[1] + "'");
  o.bundle = positional[0];
  if (!o.json.empty() && o.bench == 0 && !o.profile)
    return usageError("--json needs --bench N or --profile (it reports their times)");
  if (!o.json.empty())
    for (const std::string *path : {&o.check, &o.weights, &o.input, &o.output})
      if (!path->empty() && dlart::sameFile(o.json, *path))
        return usageError("--json " + o.json + " is a file this run reads or writes (" +
                          *path + "); refusing to overwrite it");
  // --output must not destroy a file this run reads (and a --check against
  // the file just written would pass trivially).
  if (!o.output.empty())
    for (auto [flag, path] : {std::pair<const char *, const std::string *>{"--check", &o.check},
                              {"--weights", &o.weights},
                              {"--input", &o.input}})
      if (!path->empty() && dlart::sameFile(o.output, *path))
        return usageError("--output " + o.output + " is the " + flag +
                          " file; refusing to overwrite it");
  if (!o.output.empty() && dlart::sameFile(o.output, o.bundle + "/weights.safetensors"))
    return usageError("--output " + o.output +
                      " is the bundle's weights.safetensors; refusing to overwrite it");
  return -1;
}

std::vector<int64_t> shapeOf(const dlart_tensor_info &t) {
  return std::vector<int64_t>(t.shape, t.shape + t.rank);
}

std::vector<std::string> namesOf(const std::vector<dlart_tensor_info> &ts) {
  std::vector<std::string> names;
  for (const dlart_tensor_info &t : ts)
    names.push_back(t.name);
  return names;
}

// Uniform values in [-1, 1) from splitmix64: the same on every platform,
// unlike the distributions of <random>.
void fillRandom(float *out, int64_t n, uint64_t seed) {
  uint64_t state = seed;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    out[i] = static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
  }
}

// Compares one output; prints its line and returns whether it matched.
bool checkOutput(const dlart_tensor_info &t, const float *actual,
                 const std::vector<float> &expected, const Options &o) {
  double maxAbs = 0, maxRel = 0, worstExcess = -1;
  int64_t bad = 0, worst = -1;
  for (int64_t i = 0; i < t.num_elements; ++i) {
    double a = actual[i], e = expected[i];
    if (std::isnan(a) && std::isnan(e))
      continue; // NaN where the reference has NaN is agreement.
    double diff = std::fabs(a - e), tol = o.atol + o.rtol * std::fabs(e);
    if (!(diff <= tol)) { // Also true when only one side is NaN.
      ++bad;
      double excess = std::isnan(diff) ? INFINITY : diff - tol;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
    if (std::isnan(diff)) {
      maxAbs = maxRel = NAN;
      continue;
    }
    maxAbs = std::isnan(maxAbs) ? maxAbs : std::max(maxAbs, diff);
    if (e != 0)
      maxRel = std::isnan(maxRel) ? maxRel : std::max(maxRel, diff / std::fabs(e));
  }
  std::printf("check %s: %s, max abs err %.3g, max rel err %.3g (%" PRId64
              " values)\n",
              t.name, bad ? "MISMATCH" : "ok", maxAbs, maxRel, t.num_elements);
  if (bad)
    std::printf("  %" PRId64 " of %" PRId64 " values outside |a - e| <= %g + "
                "%g * |e|; worst at %s: got %.9g, expected %.9g\n",
                bad, t.num_elements, o.atol, o.rtol, dlart::formatIndex(static_cast<uint64_t>(worst), shapeOf(t)).c_str(),
                actual[worst], expected[worst]);
  return bad == 0;
}

// Before anything runs: --output Y.npy needs a model with one output, and
// no file --output writes may be one the run reads.
int checkOutputPath(const Options &o, const std::vector<dlart_tensor_info> &ins,
                    const std::vector<dlart_tensor_info> &outs) {
  if (o.output.empty())
    return 0;
  if (dlarun::outputKind(o.output) == dlarun::OutputKind::NpyFile && outs.size() != 1) {
    std::string list;
    for (const dlart_tensor_info &t : outs)
      list += (list.empty() ? "'" : ", '") + std::string(t.name) + "'";
    return error("--output " + o.output + ": one .npy file holds one array, the model has " +
                 std::to_string(outs.size()) + " outputs (" + list +
                 "); give a directory (--output DIR/) for NAME.npy each, or a "
                 "safetensors file");
  }
  std::vector<std::pair<std::string, std::string>> read = {
      {"--weights", o.weights}, {"--input", o.input}, {"--check", o.check}};
  for (const dlart_tensor_info &t : ins)
    if (!o.input.empty())
      read.push_back({"--input", o.input + "/" + t.name + ".npy"});
  for (const dlart_tensor_info &t : outs)
    if (!o.check.empty())
      read.push_back({"--check", o.check + "/" + t.name + ".npy"});
  for (const dlart_tensor_info &t : outs) {
    std::string file = dlarun::outputFile(o.output, t.name);
    for (const auto &[flag, path] : read)
      if (!path.empty() && dlart::sameFile(file, path))
        return usageError("--output " + o.output + " would overwrite " + path +
                          ", a file of " + flag + "; refusing");
  }
  return 0;
}

int run(const Options &o) {
  dlart_model *model = nullptr;
  if (dlart_open(o.bundle.c_str(), &model) != DLART_OK)
    return error(dlart_last_error());
  // Closed on every path out of here.
  std::unique_ptr<dlart_model, void (*)(dlart_model *)> guard(model,
                                                              dlart_close);
  size_t nIn = dlart_num_inputs(model), nOut = dlart_num_outputs(model);
  std::vector<dlart_tensor_info> ins(nIn), outs(nOut);
  for (size_t i = 0; i < nIn; ++i)
    dlart_input_info(model, i, &ins[i]);
  for (size_t i = 0; i < nOut; ++i)
    dlart_output_info(model, i, &outs[i]);
  if (int status = checkOutputPath(o, ins, outs))
    return status;

  if ((o.threads && dlart_set_threads(model, o.threads) != DLART_OK) ||
      dlart_set_cuda_graph(model, o.graph) != DLART_OK ||
      dlart_set_allow_nonfinite(model, o.allowNonfinite) != DLART_OK ||
      dlart_set_device(model, o.device == "cuda"       ? DLART_DEVICE_CUDA
                              : o.device == "cuda-emu" ? DLART_DEVICE_CUDA_EMU
                                                       : DLART_DEVICE_HOST) != DLART_OK)
    return error(dlart_last_error());
  const char *name = dlart_model_name(model);
  std::printf("model: %s (%zu input%s, %zu output%s, %zu forward steps)\n",
              *name ? name : o.bundle.c_str(), nIn, nIn == 1 ? "" : "s", nOut,
              nOut == 1 ? "" : "s", dlart_num_forward_steps(model));
  std::printf("device: %s%s\n", dlart_device_info(model),
              o.graph && o.device == "cuda" ? ", CUDA graph" : "");

  dlart_status st =
      dlart_load_weights(model, o.weights.empty() ? nullptr : o.weights.c_str());
  if (*dlart_warnings(model))
    std::fprintf(stderr, "dla-run: warning: %s\n", dlart_warnings(model));
  if (st != DLART_OK)
    return error(dlart_last_error());

  // Inputs go into the runtime's own buffers.
  if (!o.input.empty()) {
    std::string err;
    auto file = dlarun::TensorSource::open(o.input, namesOf(ins), "input", err);
    if (!file)
      return error(err);
    std::vector<float> values;
    for (const dlart_tensor_info &t : ins) {
      std::vector<int64_t> shape;
      if (!file->find(t.name, shape, err))
        return error(!err.empty() ? err
                                  : file->missing(t.name, "for the model input of that name"));
      if (shape != shapeOf(t))
        return error(file->file(t.name) + ": input '" + t.name + "' is " +
                     dlart::formatShape(shape) +
                     ", the model expects " + dlart::formatShape(shapeOf(t)));
      if (!file->readAsF32(t.name, values, err))
        return error(err);
      if (!o.allowNonfinite &&
          !dlart::checkFinite(file->file(t.name), t.name, shapeOf(t), values.data(),
                              values.size(), err))
        return error(err + "; inputs must be finite (--allow-nonfinite "
                           "accepts them)");
      std::memcpy(dlart_input_buffer(model, &t - ins.data()), values.data(),
                  t.bytes);
    }
    std::printf("input: %s\n", o.input.c_str());
  } else {
    for (size_t i = 0; i < nIn; ++i)
      fillRandom(dlart_input_buffer(model, i), ins[i].num_elements,
                 o.seed * 1000003 + i);
    std::printf("input: random, seed %" PRIu64 "\n", o.seed);
  }

  if (dlart_forward(model, nullptr, nullptr) != DLART_OK)
    return error(dlart_last_error());
  // NaN/Inf in an output: a warning (the run itself worked), one per output.
  for (size_t i = 0; i < nOut; ++i) {
    std::string what;
    if (!dlart::checkFinite("", outs[i].name, shapeOf(outs[i]),
                            dlart_output_buffer(model, i),
                            static_cast<size_t>(outs[i].num_elements), what))
      std::fprintf(stderr, "dla-run: warning: output %s\n",
                   what.substr(std::string("tensor ").size()).c_str());
  }

  int status = 0;
  if (!o.output.empty()) {
    std::vector<std::vector<int64_t>> shapes;
    std::vector<const float *> data;
    for (size_t i = 0; i < nOut; ++i) {
      shapes.push_back(shapeOf(outs[i]));
      data.push_back(dlart_output_buffer(model, i));
    }
    std::string err;
    if (!dlarun::writeTensors(o.output, namesOf(outs), shapes, data, err))
      return error(err);
    std::printf("output: %s\n", o.output.c_str());
  }

  if (!o.check.empty()) {
    std::string err;
    auto file = dlarun::TensorSource::open(o.check, namesOf(outs), "output", err);
    if (!file)
      return error(err);
    std::vector<float> expected;
    size_t mismatches = 0;
    for (size_t i = 0; i < nOut; ++i) {
      const dlart_tensor_info &t = outs[i];
      std::vector<int64_t> shape;
      if (!file->find(t.name, shape, err))
        return error(!err.empty() ? err
                                  : file->missing(t.name, "to check the model output "
                                                          "of that name against"));
      if (shape != shapeOf(t))
        return error(file->file(t.name) + ": '" + t.name + "' is " +
                     dlart::formatShape(shape) + ", the model output is " +
                     dlart::formatShape(shapeOf(t)));
      if (!file->readAsF32(t.name, expected, err))
        return error(err);
      if (!checkOutput(t, dlart_output_buffer(model, i), expected, o))
        ++mismatches;
    }
    if (mismatches) {
      std::printf("check: %zu of %zu outputs MISMATCH\n", mismatches, nOut);
      status = kExitMismatch;
    } else {
      std::printf("check: all %zu outputs match (rtol %g, atol %g)\n", nOut,
                  o.rtol, o.atol);
    }
  } else if (o.output.empty()) {
    // Nothing asked for: a short summary shows the run did something.
    for (size_t i = 0; i < nOut; ++i) {
      const float *v = dlart_output_buffer(model, i);
      double sum = 0, sumAbs = 0;
      for (int64_t j = 0; j < outs[i].num_elements; ++j) {
        sum += v[j];
        sumAbs += std::fabs(v[j]);
      }
      std::printf("output %s %s: mean %.6g, mean |x| %.6g\n", outs[i].name,
                  dlart::formatShape(shapeOf(outs[i])).c_str(),
                  sum / outs[i].num_elements, sumAbs / outs[i].num_elements);
    }
  }

  dlarun::Report report;
  report.model = *name ? name : o.bundle;
  report.bundle = o.bundle;
  report.device = dlart_device_info(model);
  report.batch = ins.empty() || ins[0].rank == 0 ? 1 : ins[0].shape[0];
  if (o.bench > 0) {
    using Clock = std::chrono::steady_clock;
    for (long i = 0; i < o.warmup; ++i)
      if (dlart_run(model) != DLART_OK)
        return error(dlart_last_error());
    std::vector<double> ms;
    for (long i = 0; i < o.bench; ++i) {
      auto t0 = Clock::now();
      if (dlart_run(model) != DLART_OK)
        return error(dlart_last_error());
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0)
                       .count());
    }
    // The copies around the computation, timed on their own.
    std::vector<const float *> inPtr;
    std::vector<float *> outPtr;
    for (size_t i = 0; i < ins.size(); ++i)
      inPtr.push_back(dlart_input_buffer(model, i));
    for (size_t i = 0; i < nOut; ++i)
      outPtr.push_back(dlart_output_buffer(model, i));
    for (long i = 0; i < o.bench; ++i) {
      auto t0 = Clock::now();
      if (dlart_set_inputs(model, inPtr.data()) != DLART_OK)
        return error(dlart_last_error());
      auto t1 = Clock::now();
      if (dlart_get_outputs(model, outPtr.data()) != DLART_OK)
        return error(dlart_last_error());
      auto t2 = Clock::now();
      report.inputCopyMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      report.outputCopyMs.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    report.haveBench = true;
    report.warmup = o.warmup;
    report.iterationMs = ms;
    std::sort(ms.begin(), ms.end());
    double median = dlarun::percentile(ms, 0.5);
    int64_t batch = ins[0].rank > 0 ? ins[0].shape[0] : 1;
    std::printf("bench: %ld runs after %ld warm-up: min %.3f ms, median %.3f "
                "ms, p90 %.3f ms, %.1f images/s (batch %" PRId64 ")\n",
                o.bench, o.warmup, ms.front(), median, dlarun::percentile(ms, 0.9),
                batch * 1000.0 / median, batch);
  }

  if (o.profile) {
    size_t n = dlart_num_forward_steps(model);
    std::vector<double> stepMs(n);
    if (dlart_profile(model, stepMs.data()) != DLART_OK)
      return error(dlart_last_error());
    double total = 0;
    for (double t : stepMs)
      total += t;
    std::printf("profile: %zu forward steps, %.3f ms in total (%s)\n", n, total,
                o.device == "cuda" ? "CUDA events" : "host clock");
    for (size_t i = 0; i < n; ++i)
      std::printf("  %4zu  %-48s %10.3f ms %6.1f%%\n", i,
                  dlart_forward_step_name(model, i), stepMs[i],
                  total > 0 ? 100.0 * stepMs[i] / total : 0.0);
    report.haveProfile = true;
    report.clock = o.device == "cuda" ? "CUDA events" : "host clock";
    for (size_t i = 0; i < n; ++i)
      report.steps.push_back({dlart_forward_step_name(model, i),
                              dlart_forward_step_kernel(model, i), stepMs[i],
                              dlart_forward_step_macs(model, i)});
  }
  if (!o.json.empty()) {
    std::string err;
    if (!dlarun::writeReport(o.json, report, err))
      return error(err);
    std::printf("json: %s\n", o.json.c_str());
  }
  return status;
}

} // namespace

int main(int argc, char **argv) {
  // Line-buffered, so progress and errors interleave in order in logs.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  int parsed = parseArgs(argc, argv, o);
  if (parsed >= 0)
    return parsed;
  return run(o);
}
