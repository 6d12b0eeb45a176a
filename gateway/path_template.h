#pragma once

// Path templates of google.api.http rules (google/api/http.proto):
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
//
// `{x}` is `{x=*}`; `**` matches zero or more segments and must come last.
// A single-segment variable's value is fully percent-decoded; a
// multi-segment one keeps "%2F" as is (so "a%2Fb" stays distinguishable
// from "a/b"), as http.proto specifies.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace propdesk::gateway {

struct TemplateSegment {
  enum class Kind { kLiteral, kSingle /* "*" */, kMulti /* "**" */ };
  Kind kind = Kind::kLiteral;
  std::string literal;  // kLiteral only
};

struct TemplateVariable {
  std::string field_path;      // "site_id", "thing.site_id"
  size_t begin = 0;            // first segment index
  size_t end = 0;              // one past the last segment
  bool multi_segment = false;  // spans several segments or "**"
  std::string pattern;         // the segments as written, e.g. "sites/*/things/*"
};

// A variable bound by a match.
struct PathBinding {
  std::string field_path;
  std::string value;
};

class PathTemplate {
 public:
  // Throws common::Error(kInvalidArgument, "BAD_PATH_TEMPLATE") naming the
  // position and what is wrong.
  static PathTemplate Parse(std::string_view text);

  // Matches a request path already split into its raw (percent-encoded)
  // segments, with the custom verb split off the last one ("" when none).
  // On success appends the bound variables to `bindings`.
  bool Match(const std::vector<std::string_view>& segments, std::string_view verb,
             std::vector<PathBinding>* bindings) const;

  // Whether some request path could match both templates (same verb and
  // compatible segments): such a pair of routes is ambiguous.
  static bool Overlaps(const PathTemplate& a, const PathTemplate& b);

  const std::string& text() const { return text_; }
  const std::string& verb() const { return verb_; }
  const std::vector<TemplateSegment>& segments() const { return segments_; }
  const std::vector<TemplateVariable>& variables() const { return variables_; }

  // The path as OpenAPI spells it: every variable as `{field_path}`,
  // literals and verb as written ("/v1/{name}/history").
  std::string OpenApiPath() const;

 private:
  // Number of segments before a trailing "**" (all of them when none).
  size_t FixedCount() const;
  bool EndsWithMulti() const;

  std::string text_;
  std::vector<TemplateSegment> segments_;
  std::vector<TemplateVariable> variables_;
  std::string verb_;
};

// Splits "/a/b/c:verb" into raw segments {"a","b","c:verb"} (the verb is
// split off by the caller, see SplitVerb). Returns false for a path that
// does not start with "/" or has an empty segment ("//", trailing "/").
bool SplitPath(std::string_view path, std::vector<std::string_view>* segments);

// Splits the custom verb off the last segment: "c:verb" → ("c", "verb").
// Returns false when the last segment has no ':'.
bool SplitVerb(std::vector<std::string_view>* segments, std::string_view* verb);

// Percent-decoding. Returns false for a malformed escape. With
// `keep_slash`, "%2F"/"%2f" stay encoded (multi-segment variables).
bool PercentDecode(std::string_view in, std::string* out, bool keep_slash = false);

}  // namespace propdesk::gateway
