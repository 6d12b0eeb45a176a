#include "gateway/path_template.h"

#include <algorithm>
#include <set>

#include "common/errors.h"

namespace propdesk::gateway {
namespace {

using common::Error;
using common::ErrorKind;

// Characters a literal may hold: RFC 3986 pchar minus ':' (the verb
// separator) and minus the template's own syntax.
bool IsLiteralChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '%':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '+':
    case ',':
    case ';':
    case '=':
    case '@':
      return true;
    default:
      return false;
  }
}

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  void Run(std::vector<TemplateSegment>* segments, std::vector<TemplateVariable>* variables,
           std::string* verb) {
    segments_ = segments;
    variables_ = variables;
    if (!Consume('/')) Fail("must start with '/'");
    ParseSegments(/*in_variable=*/false);
    if (Consume(':')) {
      *verb = ParseLiteral("verb");
    }
    if (pos_ != text_.size()) Fail(std::string("unexpected '") + text_[pos_] + "'");
    CheckMultiIsLast();
    CheckDistinctVariables();
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw Error(ErrorKind::kInvalidArgument, "BAD_PATH_TEMPLATE",
                "path template \"" + std::string(text_) + "\": " + what + " (at offset " +
                    std::to_string(pos_) + ")",
                {{"template", std::string(text_)}});
  }

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Consume(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }

  void ParseSegments(bool in_variable) {
    do {
      ParseSegment(in_variable);
    } while (Consume('/'));
  }

  void ParseSegment(bool in_variable) {
    if (Consume('*')) {
      const bool multi = Consume('*');
      segments_->push_back(
          {multi ? TemplateSegment::Kind::kMulti : TemplateSegment::Kind::kSingle, {}});
      return;
    }
    if (Peek('{')) {
      if (in_variable) Fail("variables cannot be nested");
      ParseVariable();
      return;
    }
    segments_->push_back({TemplateSegment::Kind::kLiteral, ParseLiteral("segment")});
  }

  std::string ParseLiteral(const char* what) {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsLiteralChar(text_[pos_])) ++pos_;
    if (pos_ == start) Fail(std::string("empty ") + what);
    std::string decoded;
    if (!PercentDecode(text_.substr(start, pos_ - start), &decoded)) Fail("bad percent-escape");
    return decoded;
  }

  void ParseVariable() {
    Consume('{');
    TemplateVariable variable;
    variable.field_path = ParseFieldPath();
    variable.begin = segments_->size();
    if (Consume('=')) {
      const size_t pattern_start = pos_;
      ParseSegments(/*in_variable=*/true);
      variable.pattern = std::string(text_.substr(pattern_start, pos_ - pattern_start));
    } else {
      segments_->push_back({TemplateSegment::Kind::kSingle, {}});
      variable.pattern = "*";
    }
    if (!Consume('}')) Fail("expected '}'");
    variable.end = segments_->size();
    variable.multi_segment = variable.end - variable.begin > 1 ||
                             (*segments_)[variable.begin].kind == TemplateSegment::Kind::kMulti;
    variables_->push_back(std::move(variable));
  }

  std::string ParseFieldPath() {
    const size_t start = pos_;
    for (;;) {
      if (pos_ >= text_.size() || !IsIdentStart(text_[pos_])) Fail("expected a field name");
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      if (!Consume('.')) break;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  void CheckMultiIsLast() const {
    for (size_t i = 0; i < segments_->size(); ++i) {
      if ((*segments_)[i].kind == TemplateSegment::Kind::kMulti && i + 1 != segments_->size()) {
        throw Error(ErrorKind::kInvalidArgument, "BAD_PATH_TEMPLATE",
                    "path template \"" + std::string(text_) + "\": '**' must be the last segment",
                    {{"template", std::string(text_)}});
      }
    }
  }

  void CheckDistinctVariables() const {
    std::set<std::string> seen;
    for (const TemplateVariable& v : *variables_) {
      if (!seen.insert(v.field_path).second) {
        throw Error(ErrorKind::kInvalidArgument, "BAD_PATH_TEMPLATE",
                    "path template \"" + std::string(text_) + "\": variable \"" + v.field_path +
                        "\" appears twice",
                    {{"template", std::string(text_)}});
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<TemplateSegment>* segments_ = nullptr;
  std::vector<TemplateVariable>* variables_ = nullptr;
};

bool SegmentMatches(const TemplateSegment& pattern, std::string_view raw) {
  if (pattern.kind != TemplateSegment::Kind::kLiteral) return true;
  if (raw.find('%') == std::string_view::npos) return raw == pattern.literal;
  std::string decoded;
  return PercentDecode(raw, &decoded) && decoded == pattern.literal;
}

bool SegmentsCompatible(const TemplateSegment& a, const TemplateSegment& b) {
  return a.kind != TemplateSegment::Kind::kLiteral || b.kind != TemplateSegment::Kind::kLiteral ||
         a.literal == b.literal;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

PathTemplate PathTemplate::Parse(std::string_view text) {
  PathTemplate t;
  t.text_ = std::string(text);
  Parser(t.text_).Run(&t.segments_, &t.variables_, &t.verb_);
  return t;
}

size_t PathTemplate::FixedCount() const {
  return EndsWithMulti() ? segments_.size() - 1 : segments_.size();
}

bool PathTemplate::EndsWithMulti() const {
  return !segments_.empty() && segments_.back().kind == TemplateSegment::Kind::kMulti;
}

bool PathTemplate::Match(const std::vector<std::string_view>& segments, std::string_view verb,
                         std::vector<PathBinding>* bindings) const {
  if (verb != verb_) return false;
  const size_t fixed = FixedCount();
  if (EndsWithMulti() ? segments.size() < fixed : segments.size() != fixed) return false;
  for (size_t i = 0; i < fixed; ++i) {
    if (!SegmentMatches(segments_[i], segments[i])) return false;
  }
  const size_t first_binding = bindings->size();
  for (const TemplateVariable& v : variables_) {
    // A variable ending in "**" takes every remaining request segment.
    const size_t end = v.end == segments_.size() && EndsWithMulti() ? segments.size() : v.end;
    std::string raw;
    for (size_t i = v.begin; i < end; ++i) {
      if (i > v.begin) raw.push_back('/');
      raw.append(segments[i]);
    }
    PathBinding binding{v.field_path, {}};
    if (!PercentDecode(raw, &binding.value, /*keep_slash=*/v.multi_segment)) {
      bindings->resize(first_binding);
      return false;
    }
    bindings->push_back(std::move(binding));
  }
  return true;
}

bool PathTemplate::Overlaps(const PathTemplate& a, const PathTemplate& b) {
  if (a.verb_ != b.verb_) return false;
  const size_t na = a.FixedCount();
  const size_t nb = b.FixedCount();
  for (size_t i = 0; i < std::min(na, nb); ++i) {
    if (!SegmentsCompatible(a.segments_[i], b.segments_[i])) return false;
  }
  // Paths of a have exactly na segments (or at least na with "**").
  if (!a.EndsWithMulti() && !b.EndsWithMulti()) return na == nb;
  if (a.EndsWithMulti() && b.EndsWithMulti()) return true;
  if (a.EndsWithMulti()) return nb >= na;
  return na >= nb;
}

std::string PathTemplate::OpenApiPath() const {
  std::string out;
  size_t i = 0;
  auto variable_at = [&](size_t index) -> const TemplateVariable* {
    for (const TemplateVariable& v : variables_) {
      if (v.begin == index) return &v;
    }
    return nullptr;
  };
  while (i < segments_.size()) {
    out.push_back('/');
    if (const TemplateVariable* v = variable_at(i)) {
      out += "{" + v->field_path + "}";
      i = v->end;
      continue;
    }
    const TemplateSegment& s = segments_[i];
    out += s.kind == TemplateSegment::Kind::kLiteral  ? s.literal
           : s.kind == TemplateSegment::Kind::kSingle ? "*"
                                                      : "**";
    ++i;
  }
  if (!verb_.empty()) out += ":" + verb_;
  return out;
}

bool SplitPath(std::string_view path, std::vector<std::string_view>* segments) {
  segments->clear();
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    if (segment.empty()) return false;
    segments->push_back(segment);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool SplitVerb(std::vector<std::string_view>* segments, std::string_view* verb) {
  if (segments->empty()) return false;
  std::string_view& last = segments->back();
  const size_t colon = last.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == last.size()) return false;
  *verb = last.substr(colon + 1);
  last = last.substr(0, colon);
  return true;
}

bool PercentDecode(std::string_view in, std::string* out, bool keep_slash) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi * 16 + lo);
    if (keep_slash && c == '/') {
      out->append(in.substr(i, 3));
    } else {
      out->push_back(c);
    }
    i += 2;
  }
  return true;
}

}  // namespace propdesk::gateway
