//===- Json.cpp - JSON with source positions ------------------------------===//
//
// nlohmann::json does not record where a value came from, so the document is
// parsed through nlohmann's SAX interface with an input iterator that counts
// the bytes the lexer has consumed; each SAX event then knows where its token
// ends, and the token's start is found by scanning back over it. The result is
// the DOM plus a parallel tree of byte spans (SourceNode).
//
//===----------------------------------------------------------------------===//

#include "frontend/Json.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <tuple>
#include <unordered_map>

namespace dla::frontend::json {

//===----------------------------------------------------------------------===//
// Positions and messages
//===----------------------------------------------------------------------===//

LineTable::LineTable(const std::string &text) {
  lineStarts.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n')
      lineStarts.push_back(i + 1);
}

std::pair<unsigned, unsigned> LineTable::lineColumn(std::size_t offset) const {
  auto next = std::upper_bound(lineStarts.begin(), lineStarts.end(), offset);
  std::size_t line = static_cast<std::size_t>(next - lineStarts.begin());
  return {static_cast<unsigned>(line),
          static_cast<unsigned>(offset - lineStarts[line - 1] + 1)};
}

std::string LineTable::format(std::size_t offset) const {
  auto [line, column] = lineColumn(offset);
  return std::to_string(line) + ":" + std::to_string(column);
}

void Reporter::error(const Loc &loc, std::string message) {
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

void Reporter::sortByPosition() {
  std::stable_sort(diags.begin() + firstDiag, diags.end() - (capped ? 1 : 0),
                   [](const Diagnostic &a, const Diagnostic &b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
}

std::string truncated(std::string s, std::size_t maxBytes) {
  if (s.size() <= maxBytes)
    return s;
  std::size_t cut = maxBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  return s.substr(0, cut) + "...";
}

std::string displayKey(const std::string &key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (plain)
    return "'" + truncated(key) + "'";
  return truncated(Json(key).dump(-1, ' ', false, Json::error_handler_t::replace));
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

std::string memberPath(const std::string &parent, std::string_view key) {
  if (!isIdentifier(key))
    return parent + "[" +
           truncated(Json(std::string(key)).dump(-1, ' ', false,
                                                 Json::error_handler_t::replace)) +
           "]";
  std::string shown = truncated(std::string(key));
  return parent.empty() ? shown : parent + "." + shown;
}

//===----------------------------------------------------------------------===//
// Navigation
//===----------------------------------------------------------------------===//

// Objects are accessed through their ordered_map (a vector of pairs): its
// index is also the index of the member's SourceNode.
std::optional<Node> member(const Node &object, std::string_view key) {
  const Json::object_t &map = object.value->get_ref<const Json::object_t &>();
  auto it = std::find_if(map.begin(), map.end(),
                         [&](const auto &entry) { return entry.first == key; });
  if (it == map.end())
    return std::nullopt;
  std::size_t index = static_cast<std::size_t>(it - map.begin());
  return Node{&it->second, &object.source->children[index], memberPath(object.path, key)};
}

Node element(const Node &array, std::size_t index) {
  return Node{&(*array.value)[index], &array.source->children[index],
              array.path + "[" + std::to_string(index) + "]"};
}

std::vector<Member> members(const Node &object) {
  const Json::object_t::Container &entries =
      object.value->get_ref<const Json::object_t &>();
  std::vector<Member> result;
  for (std::size_t i = 0; i < entries.size(); ++i)
    result.push_back({entries[i].first,
                      Node{&entries[i].second, &object.source->children[i],
                           memberPath(object.path, entries[i].first)}});
  return result;
}

//===----------------------------------------------------------------------===//
// Parsing with source positions
//===----------------------------------------------------------------------===//

namespace {

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

} // namespace

std::optional<Document> parse(const std::string &text, const std::string &filename,
                              const LineTable &lines, std::vector<Diagnostic> &diags) {
  // Errors about the document as a whole: no path.
  Reporter reporter(filename, lines, diags);
  auto report = [&](std::size_t offset, std::string message) {
    reporter.error(Loc{"", offset}, std::move(message));
    return std::nullopt;
  };
  if (text.size() > limits::kMaxFileBytes)
    return report(0, "the model description is " + std::to_string(text.size()) +
                         " bytes; at most " + std::to_string(limits::kMaxFileBytes) +
                         " (1 MiB) are supported");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return report(0, "the model description is empty; expected a JSON object");

  std::size_t consumed = 0;
  PositionedDomBuilder builder(text, consumed, lines);
  CountingIterator first(text.data(), &consumed);
  CountingIterator last(text.data() + text.size(), &consumed);
  bool parsed = Json::sax_parse(first, last, &builder, nlohmann::json::input_format_t::json,
                                /*strict=*/true, /*ignore_comments=*/true);
  if (!parsed || builder.failure) {
    if (builder.failure)
      return report(builder.failure->offset, builder.failure->message);
    return report(consumed, "invalid JSON");
  }
  return Document{std::move(builder.root), std::move(builder.rootSource)};
}

} // namespace dla::frontend::json
