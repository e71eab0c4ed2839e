//===- FieldReader.cpp - Typed field access with diagnostics --------------===//

#include "frontend/FieldReader.h"

#include <algorithm>

namespace dla::frontend {

using json::Json;
using json::Member;
using json::displayKey;
using json::element;
using json::member;
using json::memberPath;
using json::members;
using json::singleQuoted;
using json::truncated;

namespace {

/// Optimal-string-alignment distance: insertions, deletions, substitutions
/// and transpositions of adjacent characters ("nekc" -> "neck") cost 1.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1,
                                          std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The closest candidate, if it is close enough to be a plausible typo.
std::optional<std::string_view>
closestMatch(std::string_view word, const std::vector<std::string_view> &candidates) {
  // Unknown keys can be long; a typo is short, and this keeps the cost bounded.
  if (word.size() > 64)
    return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t bestDistance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (std::string_view candidate : candidates) {
    std::size_t distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

std::string joinList(const std::vector<std::string_view> &items, const char *quote) {
  std::string result;
  for (std::size_t i = 0; i < items.size(); ++i)
    result += (i ? ", " : "") + std::string(quote) + std::string(items[i]) + quote;
  return result;
}

std::string expectation(const IntRange &range, bool tooLarge) {
  if (!range.expected.empty())
    return range.expected;
  if (range.min == range.max)
    return std::to_string(range.min);
  bool unbounded = range.max == std::numeric_limits<int64_t>::max();
  if (tooLarge && range.limitNote)
    return "an integer <= " + std::to_string(range.max) + " (" + range.limitNote + ")";
  if (range.limitNote || unbounded)
    return "an integer >= " + std::to_string(range.min);
  return "an integer in [" + std::to_string(range.min) + ", " +
         std::to_string(range.max) + "]";
}

} // namespace

std::string FieldReader::describe(const Node &node) const {
  if (node.value->is_object())
    return "an object";
  if (node.value->is_array())
    return "an array";
  return truncated(
      text.substr(node.source->begin, node.source->end - node.source->begin));
}

json::Loc FieldReader::fieldLoc(const Node &object, std::string_view key) const {
  if (std::optional<Node> field = member(object, key))
    return field->loc();
  return {memberPath(object.path, key), object.source->begin};
}

json::Loc FieldReader::presentFieldLocOr(const Node &object, std::string_view key,
                                         Loc fallback) const {
  if (std::optional<Node> field = member(object, key))
    return field->loc();
  return fallback;
}

bool FieldReader::expectObject(const Node &node) {
  if (node.value->is_object())
    return true;
  error(node.loc(), "expected an object, got " + describe(node));
  return false;
}

bool FieldReader::checkKeys(const Node &object,
                            const std::vector<std::string_view> &allowed) {
  bool ok = true;
  for (const Member &field : members(object)) {
    if (std::find(allowed.begin(), allowed.end(), field.key) != allowed.end())
      continue;
    ok = false;
    std::string message = "unknown key " + displayKey(std::string(field.key));
    if (std::optional<std::string_view> guess = closestMatch(field.key, allowed))
      message += "; did you mean " + singleQuoted(*guess) + "?";
    else
      message += "; expected one of " + joinList(allowed, "'");
    error(field.node.keyLoc(), message);
  }
  return ok;
}

std::optional<int64_t> FieldReader::readInt(const Node &node, const IntRange &range) {
  const Json &value = *node.value;
  bool tooLarge = false, tooSmall = false;
  int64_t result = 0;
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
    tooLarge = true;
  } else if (value.is_number_integer()) {
    result = value.get<int64_t>();
    tooSmall = result < range.min;
    tooLarge = result > range.max;
  } else if (value.is_number_float()) {
    // nlohmann stores integers beyond 64 bits as doubles: still an integer
    // to the user, just out of range.
    std::string raw = describe(node);
    bool integral = raw.find_first_of(".eE") == std::string::npos;
    if (!integral) {
      error(node.loc(), "expected " + expectation(range, false) + ", got " + raw);
      return std::nullopt;
    }
    tooSmall = raw[0] == '-';
    tooLarge = !tooSmall;
  } else {
    error(node.loc(), "expected " + expectation(range, false) + ", got " + describe(node));
    return std::nullopt;
  }
  if (tooSmall || tooLarge) {
    error(node.loc(), "expected " + expectation(range, tooLarge) + ", got " +
                          describe(node) + range.why);
    return std::nullopt;
  }
  return result;
}

std::optional<bool> FieldReader::readBool(const Node &node) {
  if (node.value->is_boolean())
    return node.value->get<bool>();
  error(node.loc(), "expected true or false, got " + describe(node));
  return std::nullopt;
}

std::optional<std::string> FieldReader::readString(const Node &node) {
  if (node.value->is_string())
    return node.value->get<std::string>();
  error(node.loc(), "expected a string, got " + describe(node));
  return std::nullopt;
}

std::optional<std::size_t>
FieldReader::readChoice(const Node &node, const std::vector<std::string_view> &choices) {
  std::optional<std::string> name = readString(node);
  if (!name)
    return std::nullopt;
  auto it = std::find(choices.begin(), choices.end(), *name);
  if (it != choices.end())
    return static_cast<std::size_t>(it - choices.begin());
  std::string message = "expected one of " + joinList(choices, "\"") + ", got " +
                        describe(node);
  if (std::optional<std::string_view> guess = closestMatch(*name, choices))
    message += "; did you mean \"" + std::string(*guess) + "\"?";
  error(node.loc(), message);
  return std::nullopt;
}

std::optional<std::vector<int64_t>>
FieldReader::readIntArray(const Node &node, const std::vector<IntRange> &ranges) {
  std::string expected = "expected an array of " + std::to_string(ranges.size()) + " integers";
  if (!node.value->is_array()) {
    error(node.loc(), expected + ", got " + describe(node));
    return std::nullopt;
  }
  if (node.value->size() != ranges.size()) {
    error(node.loc(), expected + ", got " + std::to_string(node.value->size()) +
                          (node.value->size() == 1 ? " element" : " elements"));
    return std::nullopt;
  }
  std::vector<int64_t> result;
  for (std::size_t i = 0; i < ranges.size(); ++i)
    if (std::optional<int64_t> item = readInt(element(node, i), ranges[i]))
      result.push_back(*item);
  if (result.size() != ranges.size())
    return std::nullopt;
  return result;
}

bool FieldReader::intField(const Node &object, std::string_view key, int64_t &out,
                           const IntRange &range, Presence presence) {
  return field(object, key, out, presence,
               [&](const Node &node) { return readInt(node, range); });
}

bool FieldReader::boolField(const Node &object, std::string_view key, bool &out) {
  return field(object, key, out, Presence::Optional,
               [&](const Node &node) { return readBool(node); });
}

} // namespace dla::frontend
