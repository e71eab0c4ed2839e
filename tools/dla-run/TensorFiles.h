//===- TensorFiles.h - dla-run's tensor files: safetensors and .npy -------===//
//
// Where dla-run reads inputs and expected outputs and writes outputs, by
// tensor name: a safetensors file, one .npy file (for a model with one
// tensor of that role), or a directory of NAME.npy files.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_TOOLS_DLARUN_TENSORFILES_H
#define DLA_TOOLS_DLARUN_TENSORFILES_H

#include <memory>
#include <string>
#include <vector>

namespace dlarun {

/// A set of tensors to read, by name.
class TensorSource {
public:
  /// Opens `path`: a directory (NAME.npy inside), a file ending in ".npy"
  /// (then `names`, the model's tensors of this role, must be one), else a
  /// safetensors file. `role`: "input" / "output", for messages.
  static std::unique_ptr<TensorSource> open(const std::string &path,
                                            const std::vector<std::string> &names,
                                            const std::string &role,
                                            std::string &err);
  virtual ~TensorSource() = default;
  /// The shape of tensor `name`; false with `err` empty when it is absent.
  virtual bool find(const std::string &name, std::vector<int64_t> &shape,
                    std::string &err) = 0;
  virtual bool readAsF32(const std::string &name, std::vector<float> &out,
                         std::string &err) = 0;
  /// The file tensor `name` is (or would be) read from, to start messages.
  virtual std::string file(const std::string &name) const = 0;
  /// "FILE: no tensor 'name' " + `purpose` for an absent tensor.
  virtual std::string missing(const std::string &name,
                              const std::string &purpose) const = 0;
};

/// How --output FILE is written: one .npy file, a directory of NAME.npy,
/// or a safetensors file.
enum class OutputKind { Safetensors, NpyFile, NpyDirectory };
OutputKind outputKind(const std::string &path);

/// Writes float32 tensors `data[i]` of `shapes[i]` named `names[i]` to `path`
/// as outputKind(path) says (a directory is created if absent; a .npy file
/// needs exactly one tensor).
bool writeTensors(const std::string &path, const std::vector<std::string> &names,
                  const std::vector<std::vector<int64_t>> &shapes,
                  const std::vector<const float *> &data, std::string &err);

/// The file writeTensors would write tensor `name` to (for the checks that
/// an output overwrites no file the run reads).
std::string outputFile(const std::string &path, const std::string &name);

} // namespace dlarun

#endif // DLA_TOOLS_DLARUN_TENSORFILES_H
