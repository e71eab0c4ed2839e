//===- FieldReader.h - Typed field access with diagnostics ------*- C++ -*-===//
//
// The Validator's primitives (frontend-internal): reading the fields of a
// positioned JSON tree (frontend/Json.h) as integers in a range, booleans,
// strings, one of a list of names or arrays of integers, each reporting a
// wrong type or value at its position and path, and unknown keys with the
// closest known key.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_FRONTEND_FIELDREADER_H
#define DLA_FRONTEND_FIELDREADER_H

#include "frontend/Json.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dla::frontend {

/// Accepted range of an integer field. A `limitNote` marks `max` as a safety
/// limit rather than part of the field's meaning: it is then only mentioned
/// when exceeded.
struct IntRange {
  int64_t min = 0;
  int64_t max = std::numeric_limits<int64_t>::max();
  const char *limitNote = nullptr;
  /// Replaces the generated "an integer in [min, max]" in messages.
  std::string expected = {};
  /// Appended to range errors to say where the range comes from.
  std::string why = {};
};

enum class Presence { Optional, Required };

/// Reads the fields of the document parsed from `text`, reporting through
/// `reporter`. Each read returns std::nullopt (or false) after reporting.
class FieldReader {
public:
  FieldReader(const std::string &text, json::Reporter &reporter)
      : text(text), reporter(reporter) {}

protected:
  using Node = json::Node;
  using Loc = json::Loc;

  // --- diagnostics ---
  void error(const Loc &loc, std::string message) {
    reporter.error(loc, std::move(message));
  }
  bool failed() const { return reporter.failed(); }

  /// How a value reads in a message: the source text of a scalar (so that
  /// 1e400 and 99999999999999999999 appear as written), a noun for containers.
  std::string describe(const Node &node) const;

  // --- structure ---
  /// Where to blame a field that may be absent: the field, else its object.
  Loc fieldLoc(const Node &object, std::string_view key) const;
  /// The field if the user wrote it, else `fallback` (for a defaulted value,
  /// the field that determines whether the default works).
  Loc presentFieldLocOr(const Node &object, std::string_view key, Loc fallback) const;

  bool expectObject(const Node &node);
  /// Reports every key of `object` not in `allowed`, suggesting the closest
  /// allowed key. Returns false if there was one.
  bool checkKeys(const Node &object, const std::vector<std::string_view> &allowed);

  // --- scalars ---
  std::optional<int64_t> readInt(const Node &node, const IntRange &range);
  std::optional<bool> readBool(const Node &node);
  std::optional<std::string> readString(const Node &node);
  /// A string that must be one of `choices`; returns its index.
  std::optional<std::size_t> readChoice(const Node &node,
                                        const std::vector<std::string_view> &choices);
  /// An array of exactly `ranges.size()` integers, each in its range.
  std::optional<std::vector<int64_t>> readIntArray(const Node &node,
                                                   const std::vector<IntRange> &ranges);

  // --- fields ---
  /// Reads object[key] with `read` into `out`. An absent key leaves `out` (the
  /// default) alone unless required. Returns false after reporting an error.
  template <typename T, typename ReadFn>
  bool field(const Node &object, std::string_view key, T &out, Presence presence,
             ReadFn read) {
    std::optional<Node> node = json::member(object, key);
    if (!node) {
      if (presence == Presence::Optional)
        return true;
      error(object.loc(), "missing required key " + json::singleQuoted(key));
      return false;
    }
    auto value = read(*node);
    if (!value)
      return false;
    out = static_cast<T>(*value);
    return true;
  }

  bool intField(const Node &object, std::string_view key, int64_t &out,
                const IntRange &range, Presence presence = Presence::Optional);
  bool boolField(const Node &object, std::string_view key, bool &out);

  template <typename Enum>
  bool choiceField(const Node &object, std::string_view key, Enum &out,
                   const std::vector<std::string_view> &choices,
                   Presence presence = Presence::Optional) {
    return field(object, key, out, presence,
                 [&](const Node &node) { return readChoice(node, choices); });
  }

  const std::string &text;
  json::Reporter &reporter;
};

} // namespace dla::frontend

#endif // DLA_FRONTEND_FIELDREADER_H
