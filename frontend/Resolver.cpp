//===- Resolver.cpp - Derived quantities and cross-field checks -----------===//
//
// After the Validator: the values a ModelSpec derives from its fields (stage
// input channels, spatial sizes, the neck's output channels, the parameter
// prefix) and the checks that relate several fields to each other, each
// reported at the field the Validator recorded in the Blames.
//
//===----------------------------------------------------------------------===//

#include "frontend/Validator.h"

#include <algorithm>

namespace dla::frontend {

using json::Loc;
using json::singleQuoted;

bool checkElements(json::Reporter &reporter, const Loc &loc, const std::string &what,
                   const std::vector<int64_t> &shape) {
  // Every factor is at most 2^16 (batch 2^10) and there are at most four, so
  // the product cannot overflow int64.
  int64_t elements = 1;
  for (int64_t dim : shape)
    elements *= dim;
  if (elements <= limits::kMaxTensorElements)
    return true;
  reporter.error(loc, what + " (" + joinShape(shape) + ") has " + std::to_string(elements) +
                          " elements; at most 2147483647 (2^31 - 1) are supported");
  return false;
}

namespace {

class Resolver {
public:
  Resolver(const Blames &blames, json::Reporter &reporter)
      : blames(blames), reporter(reporter) {}

  void resolveChannels(ModelSpec &spec);
  void resolveSpatialSizes(ModelSpec &spec);
  void checkNeckAndHeads(ModelSpec &spec);

private:
  void error(const Loc &loc, std::string message) {
    reporter.error(loc, std::move(message));
  }
  bool failed() const { return reporter.failed(); }
  bool checkElements(const Loc &loc, const std::string &what,
                     const std::vector<int64_t> &shape) {
    return frontend::checkElements(reporter, loc, what, shape);
  }

  const Blames &blames;
  json::Reporter &reporter;
};

void Resolver::resolveChannels(ModelSpec &spec) {
  int64_t in = spec.base.out;
  for (std::size_t i = 0; i < 6; ++i) {
    Stage &stage = spec.stages[i];
    stage.in = in;
    in = stage.out;
    if (stage.kind != StageKind::Tree)
      continue;
    const StageBlame &blame = blames.stages[i];
    std::string level = "level" + std::to_string(i);
    int64_t width = bottleneckWidth(stage);
    if (stage.block == BlockKind::Bottleneck && width < 1)
      error(blame.out, level + ": a bottleneck block needs out >= 2 (its 3x3 conv has "
                               "out / 2 channels), got " + std::to_string(stage.out));
    if (stage.block == BlockKind::BottleneckX && (width < 1 || width % stage.cardinality))
      error(blame.cardinality,
            level + ": cardinality " + std::to_string(stage.cardinality) +
                " must divide the BottleneckX bottleneck width out * cardinality / 32 = " +
                std::to_string(stage.out) + " * " + std::to_string(stage.cardinality) +
                " / 32 = " + std::to_string(width) +
                " (the 3x3 conv has that many channels in cardinality groups)");
  }
}

void Resolver::resolveSpatialSizes(ModelSpec &spec) {
  const int64_t total = spec.totalStride(); // at most 8^6: no overflow
  // Trees add a max-pooled map (floor) to a strided conv's output (ceil), and
  // the neck upsamples by exact factors: every stage must divide evenly.
  const char *names[2] = {"height", "width"};
  const int64_t sizes[2] = {spec.input.height, spec.input.width};
  for (int axis = 0; axis < 2; ++axis) {
    int64_t size = sizes[axis];
    if (size % total == 0)
      continue;
    int64_t below = size / total * total, above = below + total;
    std::string options;
    if (below > 0)
      options = std::to_string(below);
    if (above <= limits::kMaxSpatial)
      options += (options.empty() ? "" : " or ") + std::to_string(above);
    error(blames.inputShape[2 + axis],
          std::string(names[axis]) + " " + std::to_string(size) +
              " is not divisible by " + std::to_string(total) +
              ", the total stride of the backbone" +
              (options.empty() ? "" : "; use " + options));
  }
  if (failed())
    return;

  const int64_t n = spec.input.batch;
  int64_t h = spec.input.height, w = spec.input.width;
  checkElements(blames.baseOut, "the base layer output", {n, spec.base.out, h, w});
  for (std::size_t i = 0; i < 6; ++i) {
    Stage &stage = spec.stages[i];
    h /= stage.stride;
    w /= stage.stride;
    stage.outHeight = h;
    stage.outWidth = w;
    checkElements(blames.stages[i].out, "the level" + std::to_string(i) + " output",
                  {n, stage.out, h, w});
  }
}

void Resolver::checkNeckAndHeads(ModelSpec &spec) {
  if (spec.centerNet && !spec.neck) {
    error(blames.heads, "CenterNet heads read the output of the neck; add a \"neck\" "
                        "(e.g. {\"down_ratio\": 4, \"last_level\": 5})");
    return;
  }
  if (spec.neck && spec.classifier) {
    error(blames.heads, "a classifier reads level5 directly and cannot be combined with "
                        "a \"neck\"; remove the neck or use CenterNet heads");
    return;
  }
  if (spec.neck && !spec.centerNet) {
    error(blames.neck, "a neck needs CenterNet heads to read its output; add \"heads\" "
                       "(e.g. {\"head_conv\": 256, \"outputs\": {\"hm\": 80}})");
    return;
  }

  if (spec.neck) {
    NeckSpec &neck = *spec.neck;
    // DLAUp/IDAUp upsample level i by 2^(i - first_level) with transposed
    // convs and add the result to the lower level.
    for (int64_t i = neck.firstLevel + 1; i < 6; ++i)
      if (spec.stages[i].stride != 2)
        error(blames.stages[i].stride,
              "level" + std::to_string(i) + " has stride " +
                  std::to_string(spec.stages[i].stride) +
                  ", but the neck upsamples by 2 per level above first_level (" +
                  std::to_string(neck.firstLevel) + "), so it must be 2");
    // IDAUp adds its projected maps to layers[0], which has
    // channels[first_level] channels, and the heads read that many channels.
    int64_t fusedChannels = spec.stages[neck.firstLevel].out;
    if (neck.outChannel != 0 && neck.outChannel != fusedChannels)
      error(blames.outChannel,
            "out_channel must be 0 or " + std::to_string(fusedChannels) +
                " (channels of level" + std::to_string(neck.firstLevel) +
                "): IDAUp adds its maps to that level and the heads read it, got " +
                std::to_string(neck.outChannel));
    neck.outChannel = fusedChannels;
  }

  if (spec.centerNet) {
    const Stage &fused = spec.stages[spec.neck->firstLevel];
    const int64_t n = spec.input.batch;
    if (spec.centerNet->headConv > 0)
      checkElements(blames.headConv, "the head hidden map",
                    {n, spec.centerNet->headConv, fused.outHeight, fused.outWidth});
    for (std::size_t i = 0; i < spec.centerNet->outputs.size(); ++i) {
      const HeadOutput &head = spec.centerNet->outputs[i];
      checkElements(blames.headOutputs[i], "the output " + singleQuoted(head.name),
                    {n, head.classes, fused.outHeight, fused.outWidth});
    }
  }

  if (spec.classifier) {
    const Stage &last = spec.stages[5];
    int64_t pool = spec.classifier->poolSize;
    if (pool > last.outHeight || pool > last.outWidth)
      error(blames.poolSize,
            "pool_size " + std::to_string(pool) + " is larger than the " +
                std::to_string(last.outHeight) + "x" + std::to_string(last.outWidth) +
                " output of level5; use pool_size <= " +
                std::to_string(std::min(last.outHeight, last.outWidth)) +
                " or a larger input");
  }
}

} // namespace

bool resolve(ModelSpec &spec, const Blames &blames, json::Reporter &reporter) {
  Resolver resolver(blames, reporter);
  resolver.resolveChannels(spec);
  if (!reporter.failed())
    resolver.resolveSpatialSizes(spec);
  if (!reporter.failed())
    resolver.checkNeckAndHeads(spec);
  if (reporter.failed())
    return false;
  spec.paramPrefix = spec.neck ? "base." : "";
  return true;
}

} // namespace dla::frontend
