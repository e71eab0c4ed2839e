//===- TensorFiles.cpp - dla-run's tensor files: safetensors and .npy -----===//
//
// TensorFiles.h. The readers are libdlart's (dlart/Safetensors.h,
// dlart/Npy.h), which validate every file; this file maps tensor names to
// files and says which file a message is about.
//
//===----------------------------------------------------------------------===//

#include "TensorFiles.h"

#include "dlart/Npy.h"
#include "dlart/Safetensors.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <sys/stat.h>

namespace dlarun {

namespace {

bool endsWith(const std::string &s, const std::string &tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join(const std::string &dir, const std::string &name) {
  return endsWith(dir, "/") ? dir + name : dir + "/" + name;
}

/// A name that is one plain file name once ".npy" is added.
bool plainName(const std::string &name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." &&
         name != ".." && name.find('\0') == std::string::npos;
}

class SafetensorsSource : public TensorSource {
public:
  explicit SafetensorsSource(std::unique_ptr<dlart::SafetensorsFile> f)
      : file_(std::move(f)) {}
  bool find(const std::string &name, std::vector<int64_t> &shape,
            std::string &err) override {
    err.clear();
    const dlart::TensorInfo *t = file_->find(name);
    if (!t)
      return false;
    shape = t->shape;
    return true;
  }
  bool readAsF32(const std::string &name, std::vector<float> &out,
                 std::string &err) override {
    return file_->readAsF32(name, out, err);
  }
  std::string file(const std::string &) const override { return file_->path(); }
  std::string missing(const std::string &name,
                      const std::string &purpose) const override {
    return file_->path() + ": no tensor '" + name + "' " + purpose;
  }

private:
  std::unique_ptr<dlart::SafetensorsFile> file_;
};

/// One .npy file for the one tensor `name_`, or a directory of NAME.npy.
class NpySource : public TensorSource {
public:
  NpySource(std::string path, bool directory, std::string only, std::string role)
      : path_(std::move(path)), directory_(directory), only_(std::move(only)),
        role_(std::move(role)) {}
  bool find(const std::string &name, std::vector<int64_t> &shape,
            std::string &err) override {
    err.clear();
    const dlart::NpyArray *a = load(name, err);
    if (!a)
      return false;
    shape = a->shape;
    return true;
  }
  bool readAsF32(const std::string &name, std::vector<float> &out,
                 std::string &err) override {
    const dlart::NpyArray *a = load(name, err);
    if (!a) {
      if (err.empty())
        err = missing(name, "");
      return false;
    }
    dlart::npyToF32(*a, out);
    return true;
  }
  std::string file(const std::string &name) const override {
    return directory_ ? join(path_, name + ".npy") : path_;
  }
  std::string missing(const std::string &name,
                      const std::string &purpose) const override {
    if (directory_ && !plainName(name))
      return path_ + ": the model " + role_ + " '" + name +
             "' cannot be a file name in a directory of NAME.npy; use a "
             "safetensors file";
    return file(name) + ": no such file: no tensor '" + name + "' " + purpose +
           " (a directory of NAME.npy files holds one per model " + role_ + ")";
  }

private:
  // The array for `name`: null with `err` empty when the file is absent.
  const dlart::NpyArray *load(const std::string &name, std::string &err) {
    auto it = cache_.find(name);
    if (it != cache_.end())
      return &it->second;
    if (directory_ && !plainName(name))
      return nullptr;
    if (!directory_ && name != only_)
      return nullptr;
    std::string f = file(name);
    struct stat st;
    if (directory_ && ::stat(f.c_str(), &st) != 0 && errno == ENOENT)
      return nullptr;
    dlart::NpyArray a;
    if (!dlart::readNpy(f, a, err))
      return nullptr;
    return &cache_.emplace(name, std::move(a)).first->second;
  }

  std::string path_;
  bool directory_;
  std::string only_, role_;
  std::map<std::string, dlart::NpyArray> cache_;
};

} // namespace

std::unique_ptr<TensorSource> TensorSource::open(const std::string &path,
                                                 const std::vector<std::string> &names,
                                                 const std::string &role,
                                                 std::string &err) {
  if (isDirectory(path))
    return std::make_unique<NpySource>(path, true, "", role);
  if (endsWith(path, ".npy")) {
    if (names.size() != 1) {
      std::string list;
      for (const std::string &n : names)
        list += (list.empty() ? "'" : ", '") + n + "'";
      err = path + ": one .npy file holds one array, the model has " +
            std::to_string(names.size()) + " " + role + "s (" + list +
            "); give a directory of NAME.npy files or a safetensors file";
      return nullptr;
    }
    return std::make_unique<NpySource>(path, false, names[0], role);
  }
  auto f = dlart::SafetensorsFile::open(path, err);
  if (!f)
    return nullptr;
  return std::make_unique<SafetensorsSource>(std::move(f));
}

OutputKind outputKind(const std::string &path) {
  if (endsWith(path, ".npy"))
    return OutputKind::NpyFile;
  if (endsWith(path, "/") || isDirectory(path))
    return OutputKind::NpyDirectory;
  return OutputKind::Safetensors;
}

std::string outputFile(const std::string &path, const std::string &name) {
  return outputKind(path) == OutputKind::NpyDirectory ? join(path, name + ".npy")
                                                      : path;
}

bool writeTensors(const std::string &path, const std::vector<std::string> &names,
                  const std::vector<std::vector<int64_t>> &shapes,
                  const std::vector<const float *> &data, std::string &err) {
  switch (outputKind(path)) {
  case OutputKind::Safetensors: {
    std::vector<dlart::TensorData> tensors;
    for (size_t i = 0; i < names.size(); ++i) {
      uint64_t n = 1;
      for (int64_t d : shapes[i])
        n *= uint64_t(d);
      tensors.push_back({names[i], dlart::DType::F32, shapes[i], data[i],
                         static_cast<size_t>(n * 4)});
    }
    return dlart::writeSafetensors(path, tensors, {}, err);
  }
  case OutputKind::NpyFile:
    if (names.size() != 1) {
      err = path + ": one .npy file holds one array, the model has " +
            std::to_string(names.size()) +
            " outputs; give a directory (--output DIR/) for NAME.npy each, or "
            "a safetensors file";
      return false;
    }
    return dlart::writeNpy(path, shapes[0], data[0], err);
  case OutputKind::NpyDirectory:
    break;
  }
  for (const std::string &n : names)
    if (!plainName(n)) {
      err = path + ": the model output '" + n +
            "' cannot be a file name in a directory of NAME.npy; use a "
            "safetensors file";
      return false;
    }
  if (!isDirectory(path) && ::mkdir(path.c_str(), 0755) != 0) {
    err = path + ": cannot create the directory: " + std::strerror(errno);
    return false;
  }
  for (size_t i = 0; i < names.size(); ++i)
    if (!dlart::writeNpy(join(path, names[i] + ".npy"), shapes[i], data[i], err))
      return false;
  return true;
}

} // namespace dlarun
