//===- test/unit/ModelSpecTestUtil.h - Helpers of the ModelSpec tests -----===//
//
// Shared by ModelSpecTest.cpp and ModelSpecErrorsTest.cpp: one-line model
// documents and the parse helpers that render diagnostics.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_TEST_UNIT_MODELSPECTESTUTIL_H
#define DLA_TEST_UNIT_MODELSPECTESTUTIL_H

#include "frontend/ModelSpec.h"
#include <gtest/gtest.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <string>

namespace dla::frontend::testing {


inline const char *const kInput = R"("input": {"shape": [1, 3, 512, 512]})";
inline const char *const kDla34 = R"("backbone": {"preset": "dla34"})";
inline const char *const kNeck = R"("neck": {"down_ratio": 4, "last_level": 5})";
inline const char *const kHeads = R"("heads": {"outputs": {"hm": 80, "wh": 2, "reg": 2}})";

/// "{a, b, c}": a one-line document from top-level members.
inline std::string doc(std::initializer_list<std::string> members) {
  std::string result = "{";
  for (const std::string &member : members)
    result += (result.size() > 1 ? ", " : "") + member;
  return result + "}";
}

inline ModelSpec parseOk(const std::string &text) {
  std::vector<Diagnostic> diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, "model.json", diags);
  std::string rendered;
  for (const Diagnostic &diag : diags)
    rendered += diag.str() + "\n";
  EXPECT_TRUE(spec.has_value()) << rendered;
  EXPECT_TRUE(diags.empty()) << rendered;
  return spec.value_or(ModelSpec{});
}

/// All diagnostics, one per line; the parse must fail.
inline std::string errors(const std::string &text) {
  std::vector<Diagnostic> diags;
  std::optional<ModelSpec> spec = parseModelSpec(text, "model.json", diags);
  EXPECT_FALSE(spec.has_value());
  std::string rendered;
  for (const Diagnostic &diag : diags)
    rendered += (rendered.empty() ? "" : "\n") + diag.str();
  return rendered;
}

/// A CenterNet model around the given backbone members.
inline std::string ctdet(const std::string &backbone) {
  return doc({kInput, "\"backbone\": {" + backbone + "}", kNeck, kHeads});
}

} // namespace dla::frontend::testing

#endif // DLA_TEST_UNIT_MODELSPECTESTUTIL_H
