//===- ParameterCheck.cpp - a checkpoint against the model's parameters ---===//
//
// Part of libdlart, the dlac runtime. Plain C++17 + POSIX: no LLVM, no CUDA.
//
// checkParameters: every parameter the model needs in the checkpoint, with
// its shape and a float dtype, and the checkpoint's other tensors as
// warnings; and sameFile, which keeps an output path off the files a run
// reads.
//
//===----------------------------------------------------------------------===//

#include "dlart/Safetensors.h"
#include "SafetensorsUtil.h"

#include <set>
#include <sys/stat.h>

namespace dlart {

namespace {

// How many offenders a checkParameters message lists before "and N more".
constexpr size_t kMaxListed = 5;

// "'a', 'b', 'c', 'd', 'e', and 3 more"
std::string listFirstFew(const std::vector<std::string> &items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i)
    out += (i ? ", " : "") + items[i];
  if (items.size() > kMaxListed)
    out += ", and " + std::to_string(items.size() - kMaxListed) + " more";
  return out;
}

std::string countNoun(size_t n, const char *noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

} // namespace

//===----------------------------------------------------------------------===//
// Parameter check
//===----------------------------------------------------------------------===//

bool checkParameters(const SafetensorsFile &file,
                     const std::vector<ParamSpec> &required, std::string &err,
                     std::vector<std::string> &warnings) {
  const std::string prefix = file.path() + ": ";
  std::vector<std::string> missing, wrongShape, wrongDType;
  std::set<std::string> requiredNames;
  for (const ParamSpec &p : required) {
    if (!requiredNames.insert(p.name).second)
      continue; // Report a duplicated requirement once.
    const TensorInfo *t = file.find(p.name);
    if (!t) {
      missing.push_back(quote(p.name));
      continue;
    }
    if (t->shape != p.shape)
      wrongShape.push_back(quote(p.name) + " is " + formatShape(t->shape) +
                           " in the file, expected " + formatShape(p.shape));
    if (!isFloatDType(t->dtype))
      wrongDType.push_back(quote(p.name) + " is " + dtypeName(t->dtype));
  }

  for (const TensorInfo &t : file.tensors()) {
    static const std::string kIgnored = "num_batches_tracked";
    bool ignored = t.name.size() >= kIgnored.size() &&
                   t.name.compare(t.name.size() - kIgnored.size(),
                                  kIgnored.size(), kIgnored) == 0;
    if (!ignored && !requiredNames.count(t.name))
      warnings.push_back(prefix + "unexpected tensor " + quote(t.name) +
                         " is not a model parameter (ignored)");
  }

  std::vector<std::string> lines;
  if (!missing.empty())
    lines.push_back(prefix + countNoun(missing.size(), "parameter") +
                    " missing: " + listFirstFew(missing));
  if (!wrongShape.empty())
    lines.push_back(prefix + countNoun(wrongShape.size(), "parameter") +
                    " with the wrong shape: " + listFirstFew(wrongShape));
  if (!wrongDType.empty())
    lines.push_back(prefix + countNoun(wrongDType.size(), "parameter") +
                    " with a non-float dtype: " + listFirstFew(wrongDType));
  if (lines.empty())
    return true;
  err.clear();
  for (size_t i = 0; i < lines.size(); ++i)
    err += (i ? "\n" : "") + lines[i];
  return false;
}

bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

} // namespace dlart
