//===- RunModel.cpp - A model run by the reference executor ---------------===//

#include "reference/RunModel.h"

#include "dialects/DLA/IR/DLAOps.h"
#include "dlart/Safetensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
namespace ref = ::dla::ref;

namespace {

bool failWith(std::string &err, const std::string &message) {
  err = message;
  return false;
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}

/// Loads a safetensors tensor as f32.
bool loadTensor(const dlart::SafetensorsFile &file, const dlart::TensorInfo &info,
                bool allowNonfinite, ref::Tensor &out, std::string &err) {
  std::vector<float> data;
  if (!file.readAsF32(info.name, data, err))
    return false;
  // NaN or Inf in a weight or the input makes every output it reaches
  // meaningless without any error later on: refuse it here, saying where.
  if (!allowNonfinite &&
      (!dlart::checkFinite(file.path(), info.name, info.shape, data.data(), data.size(),
                           err) ||
       !dlart::checkVariance(file.path(), info.name, info.shape, data.data(), data.size(),
                             err)))
    return false;
  out = ref::Tensor(info.shape, std::move(data));
  return true;
}

} // namespace

bool mlir::dla::runReferenceModel(ModuleOp expanded, ModuleOp module,
                                  const ReferenceRun &run, llvm::raw_ostream &notes,
                                  std::string &err) {
  const std::string &weightsFile = run.weights, &inputTensors = run.input,
                    &outputFile = run.output;
  for (auto [flag, path] :
       {std::pair<const char *, const std::string *>{"--weights", &weightsFile},
        {"--input", &inputTensors}})
    if (dlart::sameFile(outputFile, *path))
      return failWith(err, "-o " + outputFile + " is the " + flag +
                               " file; refusing to overwrite it");
  auto forward = module.lookupSymbol<func::FuncOp>(mlir::dla::kForwardFunction);
  auto accepted = mlir::dla::collectParams(expanded);
  auto required = mlir::dla::collectParams(module);

  auto weights = dlart::SafetensorsFile::open(weightsFile, err);
  if (!weights)
    return false;
  std::vector<dlart::ParamSpec> specs;
  for (const auto &p : required)
    specs.push_back({p.name, p.shape});
  std::vector<std::string> ignored;
  if (!dlart::checkParameters(*weights, specs, err, ignored))
    return false;
  llvm::StringSet<> known;
  for (const auto &p : accepted)
    known.insert(p.name);
  for (const auto &name : weights->names())
    if (!known.contains(name) && !llvm::StringRef(name).ends_with("num_batches_tracked"))
      notes << "dlac: warning: " << weightsFile << ": tensor '" << name
            << "' is not a parameter of this model (ignored)\n";

  std::map<std::string, ref::Tensor> params;
  for (const auto &p : required)
    if (!loadTensor(*weights, *weights->find(p.name), run.allowNonfinite, params[p.name],
                    err))
      return false;

  auto inputs = dlart::SafetensorsFile::open(inputTensors, err);
  if (!inputs)
    return false;
  const dlart::TensorInfo *info = inputs->find("input");
  if (!info && inputs->tensors().size() == 1)
    info = &inputs->tensors().front();
  if (!info)
    return failWith(err, inputTensors +
                             ": expected a tensor named 'input' (or exactly one tensor)");
  ref::Tensor input;
  if (!loadTensor(*inputs, *info, run.allowNonfinite, input, err))
    return false;

  std::vector<ref::Tensor> outputs;
  auto source = [&](const std::string &name) -> const ref::Tensor * {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  if (!mlir::dla::evaluate(module, {input}, source, outputs, err))
    return failWith(err, inputTensors + ": " + err);

  std::vector<dlart::TensorData> entries;
  for (auto [i, t] : llvm::enumerate(outputs)) {
    auto name = forward.getResultAttrOfType<StringAttr>(i, mlir::dla::kNameAttr);
    entries.push_back({name ? name.str() : "output" + std::to_string(i),
                       dlart::DType::F32, t.shape, t.data.data(),
                       t.data.size() * sizeof(float)});
  }
  if (!dlart::writeSafetensors(outputFile, entries,
                               {{"producer", "dlac reference executor"}}, err))
    return false;
  for (const auto &e : entries)
    notes << "dlac: wrote " << e.name << " " << formatShape(e.shape) << "\n";
  return true;
}
