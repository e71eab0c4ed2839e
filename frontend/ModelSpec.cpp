//===- ModelSpec.cpp - Parse and validate the JSON model description -------===//
//
// Three layers:
//   1. Parsing with source positions. nlohmann::json does not record where a
//      value came from, so the document is parsed through nlohmann's SAX
//      interface with an input iterator that counts the bytes the lexer has
//      consumed; each SAX event then knows where its token ends, and the
//      token's start is found by scanning back over it. The result is the DOM
//      plus a parallel tree of byte spans (SourceNode).
//   2. Reading: a Validator walks the DOM section by section, checking type
//      and range of every field and reporting errors at the value's position.
//   3. Resolution: derived values (channels, spatial sizes, neck levels) and
//      the checks that relate several fields to each other.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <tuple>
#include <unordered_map>

namespace dla {

//===----------------------------------------------------------------------===//
// Small public helpers
//===----------------------------------------------------------------------===//

std::string_view toString(Precision precision) {
  switch (precision) {
  case Precision::F32: return "f32";
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

namespace {

std::string joinShape(const std::vector<int64_t> &shape) {
  std::string result;
  for (std::size_t i = 0; i < shape.size(); ++i)
    result += (i ? "x" : "") + std::to_string(shape[i]);
  return result;
}

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
// 1. Parsing with source positions
//===----------------------------------------------------------------------===//

namespace {

// ordered_json keeps object members in file order: the order of the heads is
// the order of the model's outputs.
using Json = nlohmann::ordered_json;

constexpr std::size_t kNoOffset = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kMaxDiagnostics = 20;

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
  explicit LineTable(const std::string &text) {
    lineStarts.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n')
        lineStarts.push_back(i + 1);
  }

  std::pair<unsigned, unsigned> lineColumn(std::size_t offset) const {
    auto next = std::upper_bound(lineStarts.begin(), lineStarts.end(), offset);
    std::size_t line = static_cast<std::size_t>(next - lineStarts.begin());
    return {static_cast<unsigned>(line),
            static_cast<unsigned>(offset - lineStarts[line - 1] + 1)};
  }

  std::string format(std::size_t offset) const {
    auto [line, column] = lineColumn(offset);
    return std::to_string(line) + ":" + std::to_string(column);
  }

private:
  std::vector<std::size_t> lineStarts;
};

/// An input iterator over the text that tells how many bytes the lexer has
/// consumed: nlohmann reads its input strictly one character at a time.
class CountingIterator {
public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char *;
  using reference = const char &;

  CountingIterator(const char *position, std::size_t *consumed)
      : position(position), consumed(consumed) {}
  reference operator*() const { return *position; }
  CountingIterator &operator++() {
    ++position;
    ++*consumed;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator &other) const {
    return position == other.position;
  }
  bool operator!=(const CountingIterator &other) const { return !(*this == other); }

private:
  const char *position;
  std::size_t *consumed;
};

struct ParseFailure {
  std::size_t offset;
  std::string message;
};

/// A string shortened to `maxBytes` without splitting a UTF-8 sequence.
std::string truncated(std::string s, std::size_t maxBytes = 40) {
  if (s.size() <= maxBytes)
    return s;
  std::size_t cut = maxBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  return s.substr(0, cut) + "...";
}

/// A key as shown in messages: 'levels', or JSON-quoted when it contains
/// characters that would make the message ambiguous.
std::string displayKey(const std::string &key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (plain)
    return "'" + truncated(key) + "'";
  return truncated(Json(key).dump(-1, ' ', false, Json::error_handler_t::replace));
}

bool isNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' ||
         c == 'E';
}

/// A SAX handler that builds the DOM and its SourceNode tree. It also rejects
/// what nlohmann accepts but a model description must not contain: nesting
/// beyond limits::kMaxNestingDepth and duplicate keys (nlohmann would keep
/// the last one silently).
class PositionedDomBuilder {
public:
  PositionedDomBuilder(const std::string &text, const std::size_t &consumed,
                       const LineTable &lines)
      : text(text), consumed(consumed), lines(lines) {}

  Json root;
  SourceNode rootSource;
  std::optional<ParseFailure> failure;

  // --- nlohmann SAX interface ---
  bool null() { return addScalar(Json(nullptr), literalSpan(4)); }
  bool boolean(bool value) {
    return addScalar(Json(value), literalSpan(value ? 4 : 5));
  }
  bool number_integer(Json::number_integer_t value) {
    return addScalar(Json(value), numberSpan());
  }
  bool number_unsigned(Json::number_unsigned_t value) {
    return addScalar(Json(value), numberSpan());
  }
  bool number_float(Json::number_float_t value, const Json::string_t &) {
    return addScalar(Json(value), numberSpan());
  }
  bool string(Json::string_t &value) {
    return addScalar(Json(std::move(value)), stringSpan());
  }
  bool binary(Json::binary_t &) { return false; } // not produced by JSON text
  bool start_object(std::size_t) { return startContainer(Json::object()); }
  bool start_array(std::size_t) { return startContainer(Json::array()); }
  bool end_object() { return endContainer(); }
  bool end_array() { return endContainer(); }

  bool key(Json::string_t &name) {
    Frame &frame = stack.back();
    std::size_t keyBegin = stringSpan().first;
    auto [existing, inserted] =
        frame.keyIndex.emplace(name, frame.source->children.size());
    if (!inserted)
      return fail(keyBegin, "duplicate key " + displayKey(name) + "; the first one is at " +
                                lines.format(frame.source->children[existing->second].keyBegin));
    frame.pendingKey = std::move(name);
    frame.pendingKeyBegin = keyBegin;
    return true;
  }

  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::detail::exception &error) {
    // `position` counts the characters read, the offending one included (and
    // one past the end for "unexpected end of input").
    std::size_t offset = std::min(position == 0 ? 0 : position - 1, text.size());
    // A number that overflows a double ("1e400") is reported after it was
    // read; point at its first character instead.
    if (error.id == 406)
      while (offset > 0 && isNumberChar(text[offset - 1]))
        --offset;
    // nlohmann quotes the offending token, which can be the whole file.
    return fail(offset, truncated(stripNlohmannPrefix(error.what()), 200));
  }

private:
  struct Frame {
    Json *value;
    SourceNode *source;
    std::string pendingKey;
    std::size_t pendingKeyBegin = kNoOffset;
    // ordered_json looks keys up linearly; a hostile object with many keys
    // would make duplicate detection quadratic without this index.
    std::unordered_map<std::string, std::size_t> keyIndex;
  };

  using Span = std::pair<std::size_t, std::size_t>;

  bool fail(std::size_t offset, std::string message) {
    if (!failure)
      failure = ParseFailure{offset, std::move(message)};
    return false;
  }

  // nlohmann's messages start with "[json.exception.parse_error.101] parse
  // error at line 1, column 5: " (or just "[json.exception.out_of_range.406] ");
  // we print our own position.
  static std::string stripNlohmannPrefix(const std::string &what) {
    std::size_t column = what.find("column ");
    std::size_t colon = column == std::string::npos ? column : what.find(": ", column);
    if (colon != std::string::npos)
      return what.substr(colon + 2);
    std::size_t bracket = what.find("] ");
    return bracket == std::string::npos ? what : what.substr(bracket + 2);
  }

  // true/false/null are read exactly, without look-ahead.
  Span literalSpan(std::size_t length) const { return {consumed - length, consumed}; }

  // The lexer stops right after the closing quote; walk back to the opening
  // quote, which is the first quote not preceded by an odd run of backslashes.
  Span stringSpan() const {
    std::size_t close = consumed - 1;
    std::size_t open = close;
    while (open > 0) {
      open = text.rfind('"', open - 1);
      std::size_t backslashes = 0;
      while (open > backslashes && text[open - backslashes - 1] == '\\')
        ++backslashes;
      if (backslashes % 2 == 0)
        break;
    }
    return {open, consumed};
  }

  // The lexer reads one character past a number (unless at the end of input).
  // No character that may follow a number in valid JSON is a number character.
  Span numberSpan() const {
    std::size_t end = consumed;
    if (end > 0 && !isNumberChar(text[end - 1]))
      --end;
    std::size_t begin = end;
    while (begin > 0 && isNumberChar(text[begin - 1]))
      --begin;
    return {begin, end};
  }

  /// Inserts `value` into the current container (or makes it the root) and
  /// returns where it and its SourceNode now live.
  std::pair<Json *, SourceNode *> place(Json &&value, Span span) {
    SourceNode source;
    source.begin = span.first;
    source.end = span.second;
    if (stack.empty()) {
      root = std::move(value);
      rootSource = std::move(source);
      return {&root, &rootSource};
    }
    Frame &frame = stack.back();
    Json *slot;
    if (frame.value->is_array()) {
      frame.value->push_back(std::move(value));
      slot = &frame.value->back();
    } else {
      source.keyBegin = frame.pendingKeyBegin;
      // Append without ordered_map's linear search: key() already rejected
      // duplicates.
      Json::object_t &object = frame.value->get_ref<Json::object_t &>();
      object.Container::emplace_back(std::move(frame.pendingKey), std::move(value));
      slot = &object.back().second;
    }
    frame.source->children.push_back(std::move(source));
    return {slot, &frame.source->children.back()};
  }

  bool addScalar(Json &&value, Span span) {
    place(std::move(value), span);
    return true;
  }

  bool startContainer(Json &&empty) {
    std::size_t begin = consumed - 1; // the '{' or '[' just read
    if (stack.size() >= static_cast<std::size_t>(limits::kMaxNestingDepth))
      return fail(begin, "nesting deeper than " +
                             std::to_string(limits::kMaxNestingDepth) +
                             " levels is not supported");
    // Containers only grow while they are on top of the stack, so the
    // pointers held by the frames below stay valid.
    auto [value, source] = place(std::move(empty), {begin, begin + 1});
    stack.push_back(Frame{value, source, {}, kNoOffset, {}});
    return true;
  }

  bool endContainer() {
    stack.back().source->end = consumed;
    stack.pop_back();
    return true;
  }

  const std::string &text;
  const std::size_t &consumed;
  const LineTable &lines;
  std::vector<Frame> stack;
};

//===----------------------------------------------------------------------===//
// 2. Reading: typed field access with diagnostics
//===----------------------------------------------------------------------===//

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

bool isIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

/// JSON path of a member: "backbone.levels"; keys that are not identifiers
/// are quoted so that the path stays unambiguous: `heads.outputs["a b"]`.
std::string memberPath(const std::string &parent, std::string_view key) {
  if (!isIdentifier(key))
    return parent + "[" +
           truncated(Json(std::string(key)).dump(-1, ' ', false,
                                                 Json::error_handler_t::replace)) +
           "]";
  std::string shown = truncated(std::string(key));
  return parent.empty() ? shown : parent + "." + shown;
}

std::string singleQuoted(std::string_view s) { return "'" + std::string(s) + "'"; }

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

const IntRange kChannelRange{1, limits::kMaxChannels, "the limit on channels"};
const IntRange kStrideRange{1, limits::kMaxStride, "the limit on strides"};
const IntRange kDilationRange{1, limits::kMaxDilation, "the limit on dilations"};
const IntRange kKernelRange{1, limits::kMaxKernel, "the limit on kernel sizes"};
const IntRange kConvsRange{1, limits::kMaxConvsPerStage, "the limit on convs per level"};
const IntRange kTreeLevelsRange{1, limits::kMaxTreeLevels, "the limit on tree levels"};

enum class Presence { Optional, Required };

/// What the reader produced besides the ModelSpec: where to blame derived
/// errors that involve several fields.
struct StageBlame {
  Loc out; // its output channels
  Loc stride;
  Loc cardinality; // the explicit cardinality, or `out` when defaulted
};

struct Blames {
  std::array<Loc, 4> inputShape;
  Loc baseOut;
  std::array<StageBlame, 6> stages;
  Loc neck, outChannel;
  Loc heads, headConv, poolSize;
  std::vector<Loc> headOutputs;
};

class Validator {
public:
  Validator(const std::string &text, const std::string &file, const LineTable &lines,
            std::vector<Diagnostic> &diags)
      : text(text), file(file), lines(lines), diags(diags),
        firstDiag(diags.size()) {}

  std::optional<ModelSpec> run(const Node &root);

private:
  // --- diagnostics ---
  void error(const Loc &loc, std::string message) {
    // A hostile file can contain any number of mistakes; a person reads the
    // first few.
    std::size_t reported = diags.size() - firstDiag;
    if (reported > kMaxDiagnostics)
      return;
    auto [line, column] = lines.lineColumn(loc.offset);
    if (reported == kMaxDiagnostics) {
      message = "too many errors; stopping";
      capped = true;
    }
    diags.push_back(Diagnostic{file, line, column, loc.path, std::move(message)});
  }
  bool failed() const { return diags.size() > firstDiag; }

  /// How a value reads in a message: the source text of a scalar (so that
  /// 1e400 and 99999999999999999999 appear as written), a noun for containers.
  std::string describe(const Node &node) const {
    if (node.value->is_object())
      return "an object";
    if (node.value->is_array())
      return "an array";
    return truncated(
        text.substr(node.source->begin, node.source->end - node.source->begin));
  }

  // --- structure ---
  // Objects are accessed through their ordered_map (a vector of pairs): its
  // index is also the index of the member's SourceNode.
  std::optional<Node> member(const Node &object, std::string_view key) const {
    const Json::object_t &map = object.value->get_ref<const Json::object_t &>();
    auto it = std::find_if(map.begin(), map.end(),
                           [&](const auto &entry) { return entry.first == key; });
    if (it == map.end())
      return std::nullopt;
    std::size_t index = static_cast<std::size_t>(it - map.begin());
    return Node{&it->second, &object.source->children[index], memberPath(object.path, key)};
  }

  Node element(const Node &array, std::size_t index) const {
    return Node{&(*array.value)[index], &array.source->children[index],
                array.path + "[" + std::to_string(index) + "]"};
  }

  struct Member {
    std::string_view key;
    Node node;
  };

  std::vector<Member> members(const Node &object) const {
    const Json::object_t::Container &entries =
        object.value->get_ref<const Json::object_t &>();
    std::vector<Member> result;
    for (std::size_t i = 0; i < entries.size(); ++i)
      result.push_back({entries[i].first,
                        Node{&entries[i].second, &object.source->children[i],
                             memberPath(object.path, entries[i].first)}});
    return result;
  }

  /// Where to blame a field that may be absent: the field, else its object.
  Loc fieldLoc(const Node &object, std::string_view key) const {
    if (std::optional<Node> field = member(object, key))
      return field->loc();
    return {memberPath(object.path, key), object.source->begin};
  }

  /// The field if the user wrote it, else `fallback` (for a defaulted value,
  /// the field that determines whether the default works).
  Loc presentFieldLocOr(const Node &object, std::string_view key, Loc fallback) const {
    if (std::optional<Node> field = member(object, key))
      return field->loc();
    return fallback;
  }

  bool expectObject(const Node &node) {
    if (node.value->is_object())
      return true;
    error(node.loc(), "expected an object, got " + describe(node));
    return false;
  }

  /// Reports every key of `object` not in `allowed`, suggesting the closest
  /// allowed key. Returns false if there was one.
  bool checkKeys(const Node &object, const std::vector<std::string_view> &allowed) {
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

  // --- scalars ---
  static std::string expectation(const IntRange &range, bool tooLarge) {
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

  std::optional<int64_t> readInt(const Node &node, const IntRange &range) {
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

  std::optional<bool> readBool(const Node &node) {
    if (node.value->is_boolean())
      return node.value->get<bool>();
    error(node.loc(), "expected true or false, got " + describe(node));
    return std::nullopt;
  }

  std::optional<std::string> readString(const Node &node) {
    if (node.value->is_string())
      return node.value->get<std::string>();
    error(node.loc(), "expected a string, got " + describe(node));
    return std::nullopt;
  }

  /// A string that must be one of `choices`; returns its index.
  std::optional<std::size_t> readChoice(const Node &node,
                                        const std::vector<std::string_view> &choices) {
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

  /// An array of exactly `ranges.size()` integers, each in its range.
  std::optional<std::vector<int64_t>> readIntArray(const Node &node,
                                                   const std::vector<IntRange> &ranges) {
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

  /// Reads object[key] with `read` into `out`. An absent key leaves `out` (the
  /// default) alone unless required. Returns false after reporting an error.
  template <typename T, typename ReadFn>
  bool field(const Node &object, std::string_view key, T &out, Presence presence,
             ReadFn read) {
    std::optional<Node> node = member(object, key);
    if (!node) {
      if (presence == Presence::Optional)
        return true;
      error(object.loc(), "missing required key " + singleQuoted(key));
      return false;
    }
    auto value = read(*node);
    if (!value)
      return false;
    out = static_cast<T>(*value);
    return true;
  }

  bool intField(const Node &object, std::string_view key, int64_t &out,
                const IntRange &range, Presence presence = Presence::Optional) {
    return field(object, key, out, presence,
                 [&](const Node &node) { return readInt(node, range); });
  }

  bool boolField(const Node &object, std::string_view key, bool &out) {
    return field(object, key, out, Presence::Optional,
                 [&](const Node &node) { return readBool(node); });
  }

  template <typename Enum>
  bool choiceField(const Node &object, std::string_view key, Enum &out,
                   const std::vector<std::string_view> &choices,
                   Presence presence = Presence::Optional) {
    return field(object, key, out, presence,
                 [&](const Node &node) { return readChoice(node, choices); });
  }

  /// An odd kernel size: the convolutions pad by kernel/2 to keep the size.
  bool kernelField(const Node &object, std::string_view key, int64_t &out) {
    if (!intField(object, key, out, kKernelRange))
      return false;
    if (out % 2 == 1)
      return true;
    error(fieldLoc(object, key), "kernel size " + std::to_string(out) +
                                     " must be odd: the convolution pads by kernel/2 "
                                     "to keep the spatial size");
    return false;
  }

  // --- sections ---
  void readTopLevel(const Node &root, ModelSpec &spec);
  void readInput(const Node &input, ModelSpec &spec);
  void readBackbone(const Node &backbone, ModelSpec &spec);
  void readConstructorForm(const Node &backbone, ModelSpec &spec);
  void readStagesForm(const Node &backbone, ModelSpec &spec);
  void readStage(const Node &node, std::size_t index, Stage &stage);
  void readBlockFields(const Node &object, Stage &stage);
  bool checkCardinalityApplies(const Node &object, BlockKind block);
  void readNeck(const Node &neck, ModelSpec &spec);
  void readHeads(const Node &heads, ModelSpec &spec);
  void readCenterNetHeads(const Node &heads, ModelSpec &spec);
  void readClassifier(const Node &classifier, ModelSpec &spec);

  // --- 3. resolution ---
  void resolveChannels(ModelSpec &spec);
  void resolveSpatialSizes(ModelSpec &spec);
  void checkNeckAndHeads(ModelSpec &spec);
  bool checkElements(const Loc &loc, const std::string &what,
                     const std::vector<int64_t> &shape);

  const std::string &text;
  const std::string &file;
  const LineTable &lines;
  std::vector<Diagnostic> &diags;
  std::size_t firstDiag;
  bool capped = false;
  Blames blames;
};

const std::vector<std::string_view> kTopLevelKeys = {"name", "input", "precision",
                                                     "backbone", "neck", "heads"};
const std::vector<std::string_view> kPrecisions = {"f32", "f16", "bf16"};
const std::vector<std::string_view> kBlocks = {"basic", "bottleneck", "bottleneckx"};
const std::vector<std::string_view> kStageTypes = {"conv", "tree"};

// The three mutually exclusive ways to describe a backbone.
const std::vector<std::string_view> kPresetKeys = {"preset"};
const std::vector<std::string_view> kConstructorKeys = {
    "levels", "channels", "block", "residual_root", "cardinality"};
const std::vector<std::string_view> kStagesKeys = {"base", "stages"};

const std::vector<std::string_view> kConvStageKeys = {"type", "convs", "out", "stride",
                                                      "dilation"};
const std::vector<std::string_view> kTreeStageKeys = {
    "type",     "levels",           "block",    "out",        "stride", "level_root",
    "root_residual", "root_kernel_size", "dilation", "cardinality"};

const std::vector<std::string_view> kCenterNetKeys = {"head_conv", "final_kernel",
                                                      "outputs"};
const std::vector<std::string_view> kClassifierKeys = {"classifier"};

// Head names become state-dict prefixes next to these modules of DLASeg.
const std::vector<std::string_view> kReservedHeadNames = {"base", "dla_up", "ida_up"};

std::vector<std::string_view> concat(std::initializer_list<std::vector<std::string_view>> lists) {
  std::vector<std::string_view> result;
  for (const auto &list : lists)
    result.insert(result.end(), list.begin(), list.end());
  return result;
}

std::vector<std::string_view> asViews(const std::vector<std::string> &strings) {
  return std::vector<std::string_view>(strings.begin(), strings.end());
}

std::optional<ModelSpec> Validator::run(const Node &root) {
  ModelSpec spec;
  if (!root.value->is_object()) {
    error(root.loc(), "the top level must be an object describing the model, got " +
                          describe(root));
    return std::nullopt;
  }
  readTopLevel(root, spec);
  // Sections are read in schema order; report in file order, like a compiler.
  // "too many errors" stays last.
  std::stable_sort(diags.begin() + firstDiag, diags.end() - (capped ? 1 : 0),
                   [](const Diagnostic &a, const Diagnostic &b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  // Cross-field checks would only repeat the consequences of a bad field.
  if (failed())
    return std::nullopt;
  resolveChannels(spec);
  if (!failed())
    resolveSpatialSizes(spec);
  if (!failed())
    checkNeckAndHeads(spec);
  if (failed())
    return std::nullopt;
  spec.paramPrefix = spec.neck ? "base." : "";
  return spec;
}

void Validator::readTopLevel(const Node &root, ModelSpec &spec) {
  checkKeys(root, kTopLevelKeys);

  if (std::optional<Node> name = member(root, "name")) {
    std::optional<std::string> value = readString(*name);
    // The name ends up in file and symbol names.
    bool valid = value && !value->empty() && value->size() <= limits::kMaxNameLength &&
                 std::all_of(value->begin(), value->end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                          c == '-' || c == '.';
                 });
    if (valid)
      spec.name = *value;
    else if (value)
      error(name->loc(), "expected a name of 1 to " +
                             std::to_string(limits::kMaxNameLength) +
                             " letters, digits, '_', '-' or '.', got " + describe(*name));
  }
  if (choiceField(root, "precision", spec.precision, kPrecisions) &&
      spec.precision != Precision::F32)
    // Refused here, not 20 s into code generation: no stage below f32 yet.
    error(fieldLoc(root, "precision"),
          "\"" + std::string(toString(spec.precision)) +
              "\" is not implemented yet: this dlac compiles \"f32\" only");

  std::optional<Node> input = member(root, "input");
  if (!input)
    error(root.loc(), "missing required key 'input'");
  else if (expectObject(*input))
    readInput(*input, spec);

  std::optional<Node> backbone = member(root, "backbone");
  if (!backbone)
    error(root.loc(), "missing required key 'backbone'");
  else if (expectObject(*backbone))
    readBackbone(*backbone, spec);

  // `null` and absence both mean "no neck" / "no heads".
  std::optional<Node> neck = member(root, "neck");
  if (neck && !neck->value->is_null() && expectObject(*neck))
    readNeck(*neck, spec);
  std::optional<Node> heads = member(root, "heads");
  if (heads && !heads->value->is_null() && expectObject(*heads))
    readHeads(*heads, spec);
}

void Validator::readInput(const Node &input, ModelSpec &spec) {
  checkKeys(input, {"shape"});
  std::vector<IntRange> ranges = {
      {1, limits::kMaxBatch, "the limit on the batch size"},
      {1, limits::kMaxChannels, "the limit on channels"},
      {1, limits::kMaxSpatial, "the limit on the input size"},
      {1, limits::kMaxSpatial, "the limit on the input size"}};
  std::vector<int64_t> shape;
  if (!field(input, "shape", shape, Presence::Required,
             [&](const Node &node) { return readIntArray(node, ranges); }))
    return;
  Node shapeNode = *member(input, "shape");
  for (std::size_t i = 0; i < 4; ++i)
    blames.inputShape[i] = element(shapeNode, i).loc();
  spec.input = InputSpec{shape[0], shape[1], shape[2], shape[3]};
  checkElements(shapeNode.loc(), "the input", shape);
}

void Validator::readBackbone(const Node &backbone, ModelSpec &spec) {
  bool knownKeys = checkKeys(backbone, concat({kPresetKeys, kConstructorKeys, kStagesKeys}));

  // Which forms are used, each with its first key in file order.
  const std::vector<std::string_view> *forms[] = {&kPresetKeys, &kConstructorKeys,
                                                  &kStagesKeys};
  std::vector<std::pair<const std::vector<std::string_view> *, Member>> used;
  for (const Member &field : members(backbone)) {
    for (const auto *form : forms) {
      bool inForm = std::find(form->begin(), form->end(), field.key) != form->end();
      bool seen = std::any_of(used.begin(), used.end(),
                              [&](const auto &entry) { return entry.first == form; });
      if (inForm && !seen)
        used.emplace_back(form, field);
    }
  }
  const char *choices = "a backbone is either {\"preset\": NAME}, the DLA constructor "
                        "fields (levels, channels, block, residual_root, cardinality) "
                        "or explicit \"base\" and \"stages\"";
  if (used.empty()) {
    // An unknown key was most likely a misspelled form key: already reported.
    if (knownKeys)
      error(backbone.loc(), std::string("empty backbone: ") + choices);
    return;
  }
  if (used.size() > 1) {
    error(used[1].second.node.keyLoc(), singleQuoted(used[1].second.key) +
                                            " cannot be combined with " +
                                            singleQuoted(used[0].second.key) + ": " + choices);
    return;
  }

  if (used[0].first == &kPresetKeys) {
    std::vector<std::string_view> names = asViews(presetNames());
    std::size_t index = 0;
    if (!choiceField(backbone, "preset", index, names))
      return;
    spec.preset = presetNames()[index];
    expandConstructorArgs(*lookupPreset(spec.preset), spec.base, spec.stages);
    // A preset is valid by construction; only the input size can disagree.
    Loc preset = fieldLoc(backbone, "preset");
    blames.baseOut = preset;
    for (StageBlame &stage : blames.stages)
      stage = {preset, preset, preset};
  } else if (used[0].first == &kConstructorKeys) {
    readConstructorForm(backbone, spec);
  } else {
    readStagesForm(backbone, spec);
  }
}

void Validator::readConstructorForm(const Node &backbone, ModelSpec &spec) {
  DLAConstructorArgs args;
  std::vector<IntRange> levelRanges = {kConvsRange,      kConvsRange,
                                       kTreeLevelsRange, kTreeLevelsRange,
                                       kTreeLevelsRange, kTreeLevelsRange};
  std::vector<IntRange> channelRanges(6, kChannelRange);
  std::vector<int64_t> levels, channels;
  bool ok = field(backbone, "levels", levels, Presence::Required,
                  [&](const Node &n) { return readIntArray(n, levelRanges); });
  ok &= field(backbone, "channels", channels, Presence::Required,
              [&](const Node &n) { return readIntArray(n, channelRanges); });
  ok &= choiceField(backbone, "block", args.block, kBlocks);
  ok &= boolField(backbone, "residual_root", args.residualRoot);
  ok &= intField(backbone, "cardinality", args.cardinality, kChannelRange);
  if (!ok)
    return;
  if (!checkCardinalityApplies(backbone, args.block))
    return;
  std::copy(levels.begin(), levels.end(), args.levels.begin());
  std::copy(channels.begin(), channels.end(), args.channels.begin());
  expandConstructorArgs(args, spec.base, spec.stages);

  Node channelsNode = *member(backbone, "channels");
  blames.baseOut = element(channelsNode, 0).loc();
  for (std::size_t i = 0; i < 6; ++i) {
    Loc out = element(channelsNode, i).loc();
    blames.stages[i] = {out, backbone.loc(), presentFieldLocOr(backbone, "cardinality", out)};
  }
}

void Validator::readStagesForm(const Node &backbone, ModelSpec &spec) {
  std::optional<Node> base = member(backbone, "base");
  if (!base)
    error(backbone.loc(), "missing required key 'base' (the stem conv: {\"out\": 16, "
                          "\"kernel\": 7})");
  else if (expectObject(*base)) {
    checkKeys(*base, {"out", "kernel"});
    intField(*base, "out", spec.base.out, kChannelRange, Presence::Required);
    kernelField(*base, "kernel", spec.base.kernel);
    blames.baseOut = fieldLoc(*base, "out");
  }

  std::optional<Node> stages = member(backbone, "stages");
  if (!stages) {
    error(backbone.loc(), "missing required key 'stages'");
    return;
  }
  if (!stages->value->is_array() || stages->value->size() != 6) {
    error(stages->loc(),
          "expected an array of 6 stages (level0 to level5), got " +
              (stages->value->is_array() ? std::to_string(stages->value->size()) +
                                               (stages->value->size() == 1 ? " stage" : " stages")
                                         : describe(*stages)));
    return;
  }
  for (std::size_t i = 0; i < 6; ++i)
    readStage(element(*stages, i), i, spec.stages[i]);
}

void Validator::readStage(const Node &node, std::size_t index, Stage &stage) {
  if (!expectObject(node))
    return;
  StageBlame &blame = blames.stages[index];
  if (!choiceField(node, "type", stage.kind, kStageTypes, Presence::Required))
    return;
  bool isTree = stage.kind == StageKind::Tree;
  if (std::optional<Node> in = member(node, "in")) {
    error(in->keyLoc(), "'in' is derived from the previous stage's 'out' (or base.out "
                        "for level0) and cannot be set");
    return;
  }
  checkKeys(node, isTree ? kTreeStageKeys : kConvStageKeys);

  intField(node, "out", stage.out, kChannelRange, Presence::Required);
  intField(node, "stride", stage.stride, kStrideRange);
  intField(node, "dilation", stage.dilation, kDilationRange);
  blame.out = fieldLoc(node, "out");
  blame.stride = fieldLoc(node, "stride");
  blame.cardinality = presentFieldLocOr(node, "cardinality", blame.out);
  if (isTree)
    readBlockFields(node, stage);
  else
    intField(node, "convs", stage.convs, kConvsRange, Presence::Required);
}

void Validator::readBlockFields(const Node &object, Stage &stage) {
  intField(object, "levels", stage.levels, kTreeLevelsRange, Presence::Required);
  choiceField(object, "block", stage.block, kBlocks);
  boolField(object, "level_root", stage.levelRoot);
  boolField(object, "root_residual", stage.rootResidual);
  if (intField(object, "root_kernel_size", stage.rootKernelSize, kKernelRange) &&
      stage.rootKernelSize != 1)
    // Root always uses a 1x1 conv but pads it by (root_kernel_size - 1) / 2;
    // anything but 1 grows the map and breaks the additions in the tree.
    error(fieldLoc(object, "root_kernel_size"),
          "only root_kernel_size 1 is supported: Root is a 1x1 convolution padded by "
          "(root_kernel_size - 1) / 2, so " + std::to_string(stage.rootKernelSize) +
              " would change the spatial size");
  stage.cardinality = 32; // BottleneckX.cardinality
  if (intField(object, "cardinality", stage.cardinality, kChannelRange) &&
      checkCardinalityApplies(object, stage.block) &&
      stage.block != BlockKind::BottleneckX)
    stage.cardinality = 1; // the other blocks' 3x3 conv is not grouped
}

/// `cardinality` is BottleneckX's; anywhere else it is a mistake, not a no-op.
bool Validator::checkCardinalityApplies(const Node &object, BlockKind block) {
  if (block == BlockKind::BottleneckX || !member(object, "cardinality"))
    return true;
  error(fieldLoc(object, "cardinality"),
        "cardinality only applies to block \"bottleneckx\", but block is \"" +
            std::string(toString(block)) + "\"");
  return false;
}

void Validator::readNeck(const Node &neck, ModelSpec &spec) {
  checkKeys(neck, {"down_ratio", "last_level", "out_channel"});
  NeckSpec result;
  blames.neck = neck.loc();
  blames.outChannel = fieldLoc(neck, "out_channel");
  IntRange ratioRange{2, 16, nullptr, "2, 4, 8 or 16"};
  bool ok = intField(neck, "down_ratio", result.downRatio, ratioRange);
  ok &= intField(neck, "out_channel", result.outChannel,
                 {0, limits::kMaxChannels, "the limit on channels"});
  if (!ok)
    return;
  int64_t ratio = result.downRatio;
  if (ratio != 2 && ratio != 4 && ratio != 8 && ratio != 16) {
    error(fieldLoc(neck, "down_ratio"), "expected 2, 4, 8 or 16, got " + describe(*member(neck, "down_ratio")));
    return;
  }
  result.firstLevel = ratio == 2 ? 1 : ratio == 4 ? 2 : ratio == 8 ? 3 : 4;
  // The neck fuses levels first_level .. last_level - 1 (IDAUp needs one).
  std::string first = std::to_string(result.firstLevel);
  IntRange lastRange{result.firstLevel + 1, 5};
  lastRange.why = " (first_level = log2(down_ratio) = " + first +
                  "; the neck fuses levels " + first + " to last_level - 1)";
  if (intField(neck, "last_level", result.lastLevel, lastRange))
    spec.neck = result;
}

void Validator::readHeads(const Node &heads, ModelSpec &spec) {
  blames.heads = heads.loc();
  checkKeys(heads, concat({kCenterNetKeys, kClassifierKeys}));
  std::optional<Node> classifier = member(heads, "classifier");
  if (!classifier) {
    readCenterNetHeads(heads, spec);
    return;
  }
  for (std::string_view key : kCenterNetKeys)
    if (std::optional<Node> other = member(heads, key)) {
      error(other->keyLoc(), singleQuoted(key) + " cannot be combined with 'classifier': "
                             "heads are either CenterNet heads (head_conv, final_kernel, "
                             "outputs) or {\"classifier\": {...}}");
      return;
    }
  if (expectObject(*classifier))
    readClassifier(*classifier, spec);
}

void Validator::readCenterNetHeads(const Node &heads, ModelSpec &spec) {
  CenterNetHeads result;
  blames.headConv = fieldLoc(heads, "head_conv");
  bool ok = intField(heads, "head_conv", result.headConv,
                     {0, limits::kMaxChannels, "the limit on channels"});
  ok &= kernelField(heads, "final_kernel", result.finalKernel);
  std::optional<Node> outputs = member(heads, "outputs");
  if (!outputs) {
    error(heads.loc(), "missing required key 'outputs' (e.g. {\"hm\": 80, \"wh\": 2, "
                       "\"reg\": 2})");
    return;
  }
  if (!expectObject(*outputs))
    return;
  if (outputs->value->empty() || outputs->value->size() > limits::kMaxHeads) {
    error(outputs->loc(), "expected 1 to " + std::to_string(limits::kMaxHeads) +
                              " outputs, got " + std::to_string(outputs->value->size()));
    return;
  }
  for (const auto &[key, output] : members(*outputs)) {
    std::string name(key);
    if (!isIdentifier(name) || name.size() > 64) {
      error(output.keyLoc(), "head name " + displayKey(name) + " must be an identifier of at most 64 characters "
                                 "(letters, digits, '_'; not starting with a digit): "
                                 "it names the output and its parameters");
      ok = false;
      continue;
    }
    if (name == "__metadata__") {
      error(output.keyLoc(), "head name '__metadata__' is reserved: safetensors files "
                             "keep their metadata under it, so the output could "
                             "never be written");
      ok = false;
      continue;
    }
    if (std::find(kReservedHeadNames.begin(), kReservedHeadNames.end(), name) !=
        kReservedHeadNames.end()) {
      error(output.keyLoc(), "head name " + singleQuoted(name) + " is reserved: its parameters "
                             "would collide with the '" + name + ".' state-dict keys");
      ok = false;
      continue;
    }
    std::optional<int64_t> classes = readInt(output, kChannelRange);
    if (!classes) {
      ok = false;
      continue;
    }
    result.outputs.push_back({name, *classes});
    blames.headOutputs.push_back(output.loc());
  }
  if (ok)
    spec.centerNet = std::move(result);
}

void Validator::readClassifier(const Node &classifier, ModelSpec &spec) {
  checkKeys(classifier, {"num_classes", "pool_size"});
  ClassifierHead result;
  blames.poolSize = fieldLoc(classifier, "pool_size");
  bool ok = intField(classifier, "num_classes", result.numClasses, kChannelRange);
  ok &= intField(classifier, "pool_size", result.poolSize,
                 {1, limits::kMaxSpatial, "the limit on the input size"});
  if (ok)
    spec.classifier = result;
}

//===----------------------------------------------------------------------===//
// 3. Resolution and cross-field checks
//===----------------------------------------------------------------------===//

bool Validator::checkElements(const Loc &loc, const std::string &what,
                              const std::vector<int64_t> &shape) {
  // Every factor is at most 2^16 (batch 2^10) and there are at most four, so
  // the product cannot overflow int64.
  int64_t elements = 1;
  for (int64_t dim : shape)
    elements *= dim;
  if (elements <= limits::kMaxTensorElements)
    return true;
  error(loc, what + " (" + joinShape(shape) + ") has " + std::to_string(elements) +
                 " elements; at most 2147483647 (2^31 - 1) are supported");
  return false;
}

void Validator::resolveChannels(ModelSpec &spec) {
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

void Validator::resolveSpatialSizes(ModelSpec &spec) {
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

void Validator::checkNeckAndHeads(ModelSpec &spec) {
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

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

std::optional<ModelSpec> parseModelSpec(const std::string &text,
                                        const std::string &filename,
                                        std::vector<Diagnostic> &diags) {
  auto report = [&](std::size_t offset, const LineTable &lines, std::string message) {
    auto [line, column] = lines.lineColumn(offset);
    diags.push_back(Diagnostic{filename, line, column, "", std::move(message)});
    return std::nullopt;
  };
  LineTable lines(text);
  if (text.size() > limits::kMaxFileBytes)
    return report(0, lines, "the model description is " + std::to_string(text.size()) +
                                " bytes; at most " +
                                std::to_string(limits::kMaxFileBytes) +
                                " (1 MiB) are supported");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return report(0, lines, "the model description is empty; expected a JSON object");

  std::size_t consumed = 0;
  PositionedDomBuilder builder(text, consumed, lines);
  CountingIterator first(text.data(), &consumed);
  CountingIterator last(text.data() + text.size(), &consumed);
  bool parsed = Json::sax_parse(first, last, &builder, nlohmann::json::input_format_t::json,
                                /*strict=*/true, /*ignore_comments=*/true);
  if (!parsed || builder.failure) {
    if (builder.failure)
      return report(builder.failure->offset, lines, builder.failure->message);
    return report(consumed, lines, "invalid JSON");
  }

  Validator validator(text, filename, lines, diags);
  return validator.run(Node{&builder.root, &builder.rootSource, ""});
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

} // namespace dla
