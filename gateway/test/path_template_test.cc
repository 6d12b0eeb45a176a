#include "gateway/path_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/errors.h"

namespace propdesk::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Matches `path` against `text`, splitting the verb off when the template has one.
std::optional<std::vector<std::pair<std::string, std::string>>> MatchPath(const std::string& text,
                                                                          std::string_view path) {
  const PathTemplate t = PathTemplate::Parse(text);
  std::vector<std::string_view> segments;
  if (!SplitPath(path, &segments)) return std::nullopt;
  std::string_view verb;
  if (!t.verb().empty() && !SplitVerb(&segments, &verb)) return std::nullopt;
  std::vector<PathBinding> bindings;
  if (!t.Match(segments, verb, &bindings)) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (const PathBinding& b : bindings) out.emplace_back(b.field_path, b.value);
  return out;
}

using Bindings = std::vector<std::pair<std::string, std::string>>;

TEST(PathTemplate, ParsesLiteralsVariablesAndVerb) {
  const PathTemplate t = PathTemplate::Parse("/v1/sites/{site_id}/tickets/{ticket_id}:resolve");
  EXPECT_EQ(t.verb(), "resolve");
  ASSERT_EQ(t.segments().size(), 5u);
  EXPECT_EQ(t.segments()[0].literal, "v1");
  EXPECT_EQ(t.segments()[2].kind, TemplateSegment::Kind::kSingle);
  ASSERT_EQ(t.variables().size(), 2u);
  EXPECT_EQ(t.variables()[0].field_path, "site_id");
  EXPECT_EQ(t.variables()[1].begin, 4u);
  EXPECT_FALSE(t.variables()[1].multi_segment);
}

TEST(PathTemplate, ParsesMultiSegmentAndNestedFieldVariables) {
  const PathTemplate t = PathTemplate::Parse("/v1/{name=sites/*/things/*}/history");
  ASSERT_EQ(t.variables().size(), 1u);
  EXPECT_EQ(t.variables()[0].begin, 1u);
  EXPECT_EQ(t.variables()[0].end, 5u);
  EXPECT_TRUE(t.variables()[0].multi_segment);
  EXPECT_EQ(t.variables()[0].pattern, "sites/*/things/*");
  EXPECT_EQ(t.OpenApiPath(), "/v1/{name}/history");

  const PathTemplate nested =
      PathTemplate::Parse("/v1/sites/{thing.site_id}/things/{thing.thing_id}");
  EXPECT_EQ(nested.variables()[0].field_path, "thing.site_id");
}

TEST(PathTemplate, RejectsMalformedTemplatesWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"v1/things", "must start with '/'"}, {"/v1//things", "empty segment"},
      {"/v1/things/", "empty segment"},     {"/v1/{id", "expected '}'"},
      {"/v1/{}", "expected a field name"},  {"/v1/{1x}", "expected a field name"},
      {"/v1/{a={b}}", "cannot be nested"},  {"/v1/**/things", "'**' must be the last segment"},
      {"/v1/{a}/{a}", "appears twice"},     {"/v1/things:", "empty verb"},
      {"/v1/th ings", "unexpected ' '"},
  };
  for (const auto& [text, reason] : cases) {
    try {
      PathTemplate::Parse(text);
      ADD_FAILURE() << text << " parsed";
    } catch (const common::Error& e) {
      EXPECT_EQ(e.reason(), "BAD_PATH_TEMPLATE");
      EXPECT_THAT(e.what(), HasSubstr(reason)) << text;
      EXPECT_THAT(e.what(), HasSubstr(text)) << "the message names the template";
    }
  }
}

TEST(PathTemplate, MatchesAndDecodesSingleSegmentVariables) {
  EXPECT_EQ(MatchPath("/v1/sites/{site_id}/things/{thing_id}", "/v1/sites/s1/things/t%2F1%20x"),
            (Bindings{{"site_id", "s1"}, {"thing_id", "t/1 x"}}));
  EXPECT_EQ(MatchPath("/v1/sites/{site_id}/things/{thing_id}", "/v1/sites/s1/things"),
            std::nullopt);
  EXPECT_EQ(MatchPath("/v1/sites/{site_id}/things/{thing_id}", "/v1/sites/s1/things/t1/x"),
            std::nullopt);
  EXPECT_EQ(MatchPath("/v1/sites/{site_id}/things/{thing_id}", "/v1/sites/s1/stuff/t1"),
            std::nullopt);
  EXPECT_EQ(MatchPath("/v1/sites/{site_id}", "/v1/sites/%zz"), std::nullopt) << "bad escape";
}

TEST(PathTemplate, MatchesLiteralsAfterPercentDecoding) {
  EXPECT_TRUE(MatchPath("/v1/things", "/v1/th%69ngs").has_value());
}

TEST(PathTemplate, MatchesCustomVerbsOnlyWhenPresent) {
  const std::string resolve = "/v1/sites/{site_id}/things/{thing_id}:resolve";
  EXPECT_EQ(MatchPath(resolve, "/v1/sites/s1/things/t1:resolve"),
            (Bindings{{"site_id", "s1"}, {"thing_id", "t1"}}));
  EXPECT_EQ(MatchPath(resolve, "/v1/sites/s1/things/t1"), std::nullopt);
  EXPECT_EQ(MatchPath(resolve, "/v1/sites/s1/things/t1:close"), std::nullopt);
}

TEST(PathTemplate, MultiSegmentVariablesKeepEncodedSlashes) {
  EXPECT_EQ(MatchPath("/v1/{name=sites/*/things/*}/history", "/v1/sites/s1/things/a%2Fb/history"),
            (Bindings{{"name", "sites/s1/things/a%2Fb"}}));
  EXPECT_EQ(MatchPath("/v1/{name=sites/*/things/*}/history", "/v1/sites/s1/other/t/history"),
            std::nullopt);
}

TEST(PathTemplate, DoubleStarTakesTheRestOfThePath) {
  const std::string files = "/v1/sites/{site_id}/files/{path=**}";
  EXPECT_EQ(MatchPath(files, "/v1/sites/s1/files/a/b/c.txt"),
            (Bindings{{"site_id", "s1"}, {"path", "a/b/c.txt"}}));
  EXPECT_EQ(MatchPath(files, "/v1/sites/s1/files"), (Bindings{{"site_id", "s1"}, {"path", ""}}));
  EXPECT_EQ(MatchPath(files, "/v1/sites/s1"), std::nullopt);
}

TEST(PathTemplate, SplitPathRejectsEmptySegments) {
  std::vector<std::string_view> segments;
  EXPECT_TRUE(SplitPath("/a/b", &segments));
  EXPECT_THAT(segments, ElementsAre("a", "b"));
  EXPECT_FALSE(SplitPath("/a//b", &segments));
  EXPECT_FALSE(SplitPath("/a/", &segments));
  EXPECT_FALSE(SplitPath("a/b", &segments));
  EXPECT_FALSE(SplitPath("/", &segments));
}

TEST(PathTemplate, OverlapsDetectsTemplatesMatchingACommonPath) {
  auto overlaps = [](const char* a, const char* b) {
    return PathTemplate::Overlaps(PathTemplate::Parse(a), PathTemplate::Parse(b));
  };
  EXPECT_TRUE(overlaps("/v1/a/{x}", "/v1/a/{y}"));
  EXPECT_TRUE(overlaps("/v1/a/{x}", "/v1/a/stats")) << "literal vs variable is ambiguous too";
  EXPECT_TRUE(overlaps("/v1/{name=a/*}", "/v1/a/{id}"));
  EXPECT_TRUE(overlaps("/v1/files/{p=**}", "/v1/files/a/b"));
  EXPECT_TRUE(overlaps("/v1/files/{p=**}", "/v1/{x}"));
  EXPECT_FALSE(overlaps("/v1/a/{x}", "/v1/b/{y}"));
  EXPECT_FALSE(overlaps("/v1/a/{x}", "/v1/a/{x}/b"));
  EXPECT_FALSE(overlaps("/v1/a/{x}", "/v1/a/{x}:resolve")) << "different verbs";
  EXPECT_FALSE(overlaps("/v1/a/{x}:close", "/v1/a/{x}:resolve"));
  EXPECT_FALSE(overlaps("/v1/files/a/{p=**}", "/v1/files/b/c"));
}

TEST(PercentDecode, DecodesAndRejectsTruncatedEscapes) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%20b%2F", &out));
  EXPECT_EQ(out, "a b/");
  EXPECT_TRUE(PercentDecode("a%2Fb", &out, /*keep_slash=*/true));
  EXPECT_EQ(out, "a%2Fb");
  EXPECT_FALSE(PercentDecode("a%2", &out));
  EXPECT_FALSE(PercentDecode("a%", &out));
  EXPECT_FALSE(PercentDecode("%g0", &out));
}

}  // namespace
}  // namespace propdesk::gateway
