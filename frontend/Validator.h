//===- Validator.h - JSON tree → ModelSpec (frontend-internal) --*- C++ -*-===//
//
// The second and third layers of the frontend, run in order by
// parseModelSpec() (frontend/ModelSpec.cpp):
//   - validate() (Validator.cpp) walks the positioned JSON tree section by
//     section, checking type and range of every field and reporting errors
//     at the value's position and path;
//   - resolve() (Resolver.cpp) computes the derived values (stage input
//     channels, spatial sizes, the neck's channels, the parameter prefix)
//     and makes the checks that relate several fields.
// The Blames carry, from the first to the second, where to report an error
// that involves several fields.
//
// Internal to frontend/ (and the unit tests that need it).
//
//===----------------------------------------------------------------------===//

#ifndef DLA_FRONTEND_VALIDATOR_H
#define DLA_FRONTEND_VALIDATOR_H

#include "frontend/Json.h"
#include "frontend/ModelSpec.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dla::frontend {

/// Where the validator read the fields of one stage.
struct StageBlame {
  json::Loc out; // its output channels
  json::Loc stride;
  json::Loc cardinality; // the explicit cardinality, or `out` when defaulted
};

/// What the validator produced besides the ModelSpec: where to blame derived
/// errors that involve several fields.
struct Blames {
  std::array<json::Loc, 4> inputShape;
  json::Loc baseOut;
  std::array<StageBlame, 6> stages;
  json::Loc neck, outChannel;
  json::Loc heads, headConv, poolSize;
  std::vector<json::Loc> headOutputs;
};

/// Reads the document `root` (parsed from `text`) into a ModelSpec whose
/// derived fields are not yet filled in. Reports every error it finds, in
/// file order, and then returns std::nullopt.
std::optional<ModelSpec> validate(const json::Node &root, const std::string &text,
                                  json::Reporter &reporter, Blames &blames);

/// Fills in the derived fields of a validated `spec` and checks how its
/// fields fit together. Returns false after reporting an error.
bool resolve(ModelSpec &spec, const Blames &blames, json::Reporter &reporter);

/// Reports at `loc` if a tensor of `shape` (`what`: "the input") has more
/// than limits::kMaxTensorElements elements; returns false then.
bool checkElements(json::Reporter &reporter, const json::Loc &loc,
                   const std::string &what, const std::vector<int64_t> &shape);

/// "1x3x512x512"
std::string joinShape(const std::vector<int64_t> &shape);

} // namespace dla::frontend

#endif // DLA_FRONTEND_VALIDATOR_H
