//===- Report.h - dla-run's machine-readable benchmark and profile --------===//
//
// --json FILE with --bench and/or --profile: every timed iteration, the
// figures derived from them, and each forward step's time, as one JSON
// object (schema "dla-run-report", version 1; docs/runtime.md).
//
//===----------------------------------------------------------------------===//

#ifndef DLA_TOOLS_DLARUN_REPORT_H
#define DLA_TOOLS_DLARUN_REPORT_H

#include <cstdint>
#include <string>
#include <vector>

namespace dlarun {

struct StepTime {
  std::string name, kernel;
  double ms = 0;
  uint64_t macs = 0; ///< 0: not recorded (GFLOP/s null)
};

struct Report {
  std::string model, bundle, device;
  int64_t batch = 1;
  bool haveBench = false;
  long warmup = 0;
  std::vector<double> iterationMs; ///< In the order they ran.
  /// Copying the inputs to the device and the outputs back, per iteration
  /// (dlart_set_inputs, dlart_get_outputs; host memory copies on host).
  std::vector<double> inputCopyMs, outputCopyMs;
  bool haveProfile = false;
  std::string clock; ///< "host clock" / "CUDA events".
  std::vector<StepTime> steps;
};

/// The p-quantile (0 < p <= 1) of `sorted` by the nearest-rank method.
double percentile(const std::vector<double> &sorted, double p);

/// Writes `r` as JSON to `path` (through a temporary file renamed over it).
bool writeReport(const std::string &path, const Report &r, std::string &err);

} // namespace dlarun

#endif // DLA_TOOLS_DLARUN_REPORT_H
