//===- Json.h - JSON with source positions (frontend-internal) --*- C++ -*-===//
//
// The first layer of the frontend: the text of a model description parsed
// into a DOM and a parallel tree of byte spans, so that every value can be
// blamed at its line and column. Syntax errors, documents over the size and
// nesting limits and duplicate keys are reported here as Diagnostics; what
// the values mean is the Validator's business (frontend/Validator.h).
//
// Internal to frontend/ (and the unit tests that need it): it exposes
// nlohmann::json, which the public headers do not.
//
//===----------------------------------------------------------------------===//

#ifndef DLA_FRONTEND_JSON_H
#define DLA_FRONTEND_JSON_H

#include "frontend/ModelSpec.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dla::frontend::json {

// ordered_json keeps object members in file order: the order of the heads is
// the order of the model's outputs.
using Json = nlohmann::ordered_json;

inline constexpr std::size_t kNoOffset = std::numeric_limits<std::size_t>::max();

/// Byte span [begin, end) of a JSON value, the offset of its key when it is an
/// object member, and the spans of its elements in the same order as the DOM's
/// (duplicate keys are rejected, so object member i is children[i]).
struct SourceNode {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t keyBegin = kNoOffset;
  std::vector<SourceNode> children;
};

/// Maps byte offsets to 1-based line and column.
class LineTable {
public:
  explicit LineTable(const std::string &text);

  std::pair<unsigned, unsigned> lineColumn(std::size_t offset) const;
  /// "line:column"
  std::string format(std::size_t offset) const;

private:
  std::vector<std::size_t> lineStarts;
};

/// A place to blame in a diagnostic: the JSON path and a byte offset.
struct Loc {
  std::string path;
  std::size_t offset = 0;
};

/// A value of the document with its source span and JSON path.
struct Node {
  const Json *value;
  const SourceNode *source;
  std::string path;

  Loc loc() const { return {path, source->begin}; }
  Loc keyLoc() const {
    return {path, source->keyBegin == kNoOffset ? source->begin : source->keyBegin};
  }
};

/// A parsed document: the DOM and its spans. Nodes point into it.
struct Document {
  Json root;
  SourceNode rootSource;

  Node rootNode() const { return Node{&root, &rootSource, ""}; }
};

/// Parses `text` (standard JSON plus comments) within limits::kMaxFileBytes
/// and limits::kMaxNestingDepth, rejecting empty documents and duplicate
/// keys. On failure appends one diagnostic about the document as a whole
/// (empty path) and returns std::nullopt.
std::optional<Document> parse(const std::string &text, const std::string &filename,
                              const LineTable &lines, std::vector<Diagnostic> &diags);

//===----------------------------------------------------------------------===//
// Navigation
//===----------------------------------------------------------------------===//

/// The member `key` of an object node, if present.
std::optional<Node> member(const Node &object, std::string_view key);
/// Element `index` of an array node (which must exist).
Node element(const Node &array, std::size_t index);

struct Member {
  std::string_view key;
  Node node;
};
/// The members of an object node, in file order.
std::vector<Member> members(const Node &object);

/// JSON path of a member: "backbone.levels"; keys that are not identifiers
/// are quoted so that the path stays unambiguous: `heads.outputs["a b"]`.
std::string memberPath(const std::string &parent, std::string_view key);

bool isIdentifier(std::string_view s);

//===----------------------------------------------------------------------===//
// Diagnostics at positions
//===----------------------------------------------------------------------===//

/// Turns errors at a Loc into Diagnostics of one file, stopping after the
/// first kMaxDiagnostics (a hostile file can contain any number of mistakes;
/// a person reads the first few).
class Reporter {
public:
  static constexpr std::size_t kMaxDiagnostics = 20;

  Reporter(const std::string &file, const LineTable &lines, std::vector<Diagnostic> &diags)
      : file(file), lines(lines), diags(diags), firstDiag(diags.size()) {}

  void error(const Loc &loc, std::string message);
  /// Whether any error was reported through this reporter.
  bool failed() const { return diags.size() > firstDiag; }
  /// Puts this reporter's diagnostics in file order, like a compiler; "too
  /// many errors" stays last.
  void sortByPosition();

private:
  const std::string &file;
  const LineTable &lines;
  std::vector<Diagnostic> &diags;
  std::size_t firstDiag;
  bool capped = false;
};

//===----------------------------------------------------------------------===//
// Text of messages
//===----------------------------------------------------------------------===//

/// A string shortened to `maxBytes` without splitting a UTF-8 sequence.
std::string truncated(std::string s, std::size_t maxBytes = 40);

/// A key as shown in messages: 'levels', or JSON-quoted when it contains
/// characters that would make the message ambiguous.
std::string displayKey(const std::string &key);

inline std::string singleQuoted(std::string_view s) { return "'" + std::string(s) + "'"; }

} // namespace dla::frontend::json

#endif // DLA_FRONTEND_JSON_H
