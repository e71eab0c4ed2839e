//===- Report.cpp - dla-run's machine-readable benchmark and profile ------===//
//
// Report.h. Times are milliseconds; a step's GFLOP/s is 2 x its
// multiply-accumulates (the manifest's "macs") / its time, null for a step
// whose bundle does not record them.
//
//===----------------------------------------------------------------------===//

#include "Report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <unistd.h>

namespace dlarun {

double percentile(const std::vector<double> &sorted, double p) {
  size_t k = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::min(sorted.size(), std::max<size_t>(k, 1)) - 1];
}

bool writeReport(const std::string &path, const Report &r, std::string &err) {
  using nlohmann::json;
  json j = {{"schema", "dla-run-report"}, {"version", 1},
            {"model", r.model},           {"bundle", r.bundle},
            {"device", r.device},         {"batch", r.batch}};
  if (r.haveBench) {
    std::vector<double> sorted = r.iterationMs;
    std::sort(sorted.begin(), sorted.end());
    double n = double(sorted.size());
    double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / n;
    double var = 0;
    for (double t : sorted)
      var += (t - mean) * (t - mean);
    double median = percentile(sorted, 0.5);
    j["bench"] = {{"iterations", r.iterationMs.size()},
                  {"warmup", r.warmup},
                  {"what", "dlart_run: the forward steps, inputs already on the device"},
                  {"iteration_ms", r.iterationMs},
                  {"min_ms", sorted.front()},
                  {"max_ms", sorted.back()},
                  {"mean_ms", mean},
                  {"stddev_ms", sorted.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0},
                  {"median_ms", median},
                  {"p90_ms", percentile(sorted, 0.9)},
                  {"p95_ms", percentile(sorted, 0.95)},
                  {"p99_ms", percentile(sorted, 0.99)},
                  {"images_per_s", median > 0 ? double(r.batch) * 1000.0 / median : 0.0},
                  {"images_per_s_mean", mean > 0 ? double(r.batch) * 1000.0 / mean : 0.0}};
    auto copies = [](std::vector<double> t) {
      std::sort(t.begin(), t.end());
      return json{{"median_ms", t.empty() ? 0.0 : percentile(t, 0.5)},
                  {"min_ms", t.empty() ? 0.0 : t.front()},
                  {"max_ms", t.empty() ? 0.0 : t.back()}};
    };
    j["bench"]["input_copy"] = copies(r.inputCopyMs);
    j["bench"]["output_copy"] = copies(r.outputCopyMs);
  }
  if (r.haveProfile) {
    json steps = json::array();
    double total = 0;
    for (const StepTime &s : r.steps)
      total += s.ms;
    for (size_t i = 0; i < r.steps.size(); ++i)
      steps.push_back({{"index", i},
                       {"name", r.steps[i].name},
                       {"kernel", r.steps[i].kernel},
                       {"ms", r.steps[i].ms},
                       {"percent", total > 0 ? 100.0 * r.steps[i].ms / total : 0.0},
                       {"macs", r.steps[i].macs ? json(r.steps[i].macs) : json(nullptr)},
                       {"gflops", r.steps[i].macs && r.steps[i].ms > 0
                                      ? json(2.0 * double(r.steps[i].macs) / (r.steps[i].ms * 1e6))
                                      : json(nullptr)}});
    j["profile"] = {{"clock", r.clock}, {"total_ms", total}, {"steps", steps}};
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) {
      err = path + ": cannot create '" + tmp + "': " + std::strerror(errno);
      return false;
    }
    out << j.dump(2) << "\n";
    out.close();
    if (!out) {
      err = path + ": cannot write '" + tmp + "'";
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = path + ": cannot write: " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

} // namespace dlarun
