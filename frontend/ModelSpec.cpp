//===- ModelSpec.cpp - The resolved model and the parsing entry points ----===//
//
// The data model's helpers (names, outputs, summary) and parseModelSpec(),
// which runs the frontend's three layers in order:
//   1. the JSON source with positions (frontend/Json.h),
//   2. the Validator: every field read and checked (frontend/Validator.cpp),
//   3. the Resolver: derived values and cross-field checks
//      (frontend/Resolver.cpp).
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

#include "frontend/Json.h"
#include "frontend/Validator.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dla::frontend {

//===----------------------------------------------------------------------===//
// Small public helpers
//===----------------------------------------------------------------------===//

std::optional<Precision> parsePrecision(std::string_view name) {
  for (Precision p : {Precision::F32, Precision::TF32, Precision::F16, Precision::BF16})
    if (toString(p) == name)
      return p;
  return std::nullopt;
}

std::string_view toString(Precision precision) {
  switch (precision) {
  case Precision::F32: return "f32";
  case Precision::TF32: return "tf32";
  case Precision::F16: return "f16";
  case Precision::BF16: return "bf16";
  }
  return "?";
}

std::string_view toString(BlockKind block) {
  switch (block) {
  case BlockKind::Basic: return "basic";
  case BlockKind::Bottleneck: return "bottleneck";
  case BlockKind::BottleneckX: return "bottleneckx";
  }
  return "?";
}

std::string_view toString(StageKind kind) {
  return kind == StageKind::Conv ? "conv" : "tree";
}

std::string Diagnostic::str() const {
  std::string result = file;
  if (line != 0)
    result += ":" + std::to_string(line) + ":" + std::to_string(column);
  result += ": error: ";
  if (!path.empty())
    result += path + ": ";
  return result + message;
}

int64_t bottleneckWidth(const Stage &stage) {
  switch (stage.block) {
  case BlockKind::Basic: return stage.out;
  case BlockKind::Bottleneck: return stage.out / 2; // Bottleneck.expansion
  case BlockKind::BottleneckX: return stage.out * stage.cardinality / 32;
  }
  return 0;
}

int64_t ModelSpec::totalStride() const {
  int64_t product = 1;
  for (const Stage &stage : stages)
    product *= stage.stride;
  return product;
}

std::vector<TensorSpec> ModelSpec::outputs() const {
  std::vector<TensorSpec> result;
  const int64_t n = input.batch;
  if (centerNet) {
    const Stage &fused = stages[neck->firstLevel];
    for (const HeadOutput &head : centerNet->outputs)
      result.push_back(
          {head.name, {n, head.classes, fused.outHeight, fused.outWidth}});
  } else if (classifier) {
    // AvgPool2d(k) has stride k; `fc` keeps the pooled size and forward()
    // flattens everything but the batch.
    const Stage &last = stages[5];
    int64_t pooledH = (last.outHeight - classifier->poolSize) / classifier->poolSize + 1;
    int64_t pooledW = (last.outWidth - classifier->poolSize) / classifier->poolSize + 1;
    result.push_back({"logits", {n, classifier->numClasses * pooledH * pooledW}});
  } else {
    for (std::size_t i = 0; i < stages.size(); ++i)
      result.push_back({"level" + std::to_string(i),
                        {n, stages[i].out, stages[i].outHeight, stages[i].outWidth}});
  }
  return result;
}

std::string joinShape(const std::vector<int64_t> &shape) {
  std::string result;
  for (std::size_t i = 0; i < shape.size(); ++i)
    result += (i ? "x" : "") + std::to_string(shape[i]);
  return result;
}

namespace {
const char *boolText(bool value) { return value ? "true" : "false"; }
} // namespace

std::string ModelSpec::summary() const {
  std::ostringstream os;
  os << "model " << name;
  if (!preset.empty())
    os << " (preset " << preset << ")";
  os << ", " << toString(precision) << ", param prefix \"" << paramPrefix << "\"\n";
  os << "input: " << joinShape({input.batch, input.channels, input.height, input.width})
     << "\n";
  os << "base: out=" << base.out << " kernel=" << base.kernel << " -> "
     << input.height << "x" << input.width << "\n";
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const Stage &s = stages[i];
    os << "level" << i << ": " << toString(s.kind);
    if (s.kind == StageKind::Conv)
      os << " convs=" << s.convs;
    else
      os << " levels=" << s.levels << " block=" << toString(s.block);
    os << " in=" << s.in << " out=" << s.out << " stride=" << s.stride
       << " dilation=" << s.dilation;
    if (s.kind == StageKind::Tree)
      os << " level_root=" << boolText(s.levelRoot)
         << " root_residual=" << boolText(s.rootResidual)
         << " root_kernel_size=" << s.rootKernelSize
         << " cardinality=" << s.cardinality;
    os << " -> " << s.outHeight << "x" << s.outWidth << "\n";
  }
  if (neck) {
    const Stage &fused = stages[neck->firstLevel];
    os << "neck: down_ratio=" << neck->downRatio << " first_level=" << neck->firstLevel
       << " last_level=" << neck->lastLevel << " out_channel=" << neck->outChannel
       << " -> " << fused.outHeight << "x" << fused.outWidth << "\n";
  }
  if (centerNet) {
    os << "heads: head_conv=" << centerNet->headConv
       << " final_kernel=" << centerNet->finalKernel;
    for (const HeadOutput &head : centerNet->outputs)
      os << " " << head.name << "=" << head.classes;
    os << "\n";
  }
  if (classifier)
    os << "classifier: num_classes=" << classifier->numClasses
       << " pool_size=" << classifier->poolSize << "\n";
  os << "outputs:";
  for (const TensorSpec &output : outputs())
    os << " " << output.name << " " << joinShape(output.shape);
  os << "\n";
  return os.str();
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

std::optional<ModelSpec> parseModelSpec(const std::string &text,
                                        const std::string &filename,
                                        std::vector<Diagnostic> &diags) {
  json::LineTable lines(text);
  std::optional<json::Document> document = json::parse(text, filename, lines, diags);
  if (!document)
    return std::nullopt;
  json::Reporter reporter(filename, lines, diags);
  Blames blames;
  std::optional<ModelSpec> spec = validate(document->rootNode(), text, reporter, blames);
  // Cross-field checks would only repeat the consequences of a bad field.
  if (!spec || !resolve(*spec, blames, reporter))
    return std::nullopt;
  auto locate = [&](const std::string &what, const json::Loc &loc) {
    spec->sourceLocations[what] = lines.lineColumn(loc.offset);
  };
  locate("backbone.base", blames.baseOut);
  for (std::size_t i = 0; i < blames.stages.size(); ++i)
    locate("backbone.stages[" + std::to_string(i) + "]", blames.stages[i].out);
  if (spec->neck)
    locate("neck", blames.neck);
  if (spec->classifier)
    locate("heads.classifier", blames.heads);
  if (spec->centerNet)
    for (std::size_t i = 0; i < spec->centerNet->outputs.size() && i < blames.headOutputs.size();
         ++i)
      locate("heads.outputs." + spec->centerNet->outputs[i].name, blames.headOutputs[i]);
  return spec;
}

std::optional<ModelSpec> parseModelSpecFile(const std::string &path,
                                            std::vector<Diagnostic> &diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.push_back(Diagnostic{path, 0, 0, "", "cannot open file: " +
                                                   std::string(std::strerror(errno))});
    return std::nullopt;
  }
  // Read at most one byte more than allowed, so that a huge file (or an
  // endless device) is never read whole.
  std::string text(limits::kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    diags.push_back(Diagnostic{path, 0, 0, "", "cannot read file"});
    return std::nullopt;
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parseModelSpec(text, path, diags);
}

} // namespace dla::frontend
