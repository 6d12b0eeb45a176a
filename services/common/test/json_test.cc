// The JSON syntax check behind outbox payloads: everything RFC 8259 allows
// passes, everything else is refused with where it went wrong.

#include "common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace propdesk::common {
namespace {

TEST(JsonSyntaxTest, WellFormedValuesPass) {
  for (const std::string text :
       {"{}", "[]", "0", "-0.5e+10", "1E3", "\"\"", "true", "false", "null",
        " {\"a\" : [1, 2.5, "
        "-3, true, false, null, {\"b\": \"c\"}] } \n",
        "{\"ticket_id\":\"17\",\"details\":{\"reason\":\"line\\nbreak \\\"quoted\\\" \\u4e2d\"}}",
        "\"\xe4\xb8\xad\xe6\x96\x87\"", "[[[[[[]]]]]]"}) {
    EXPECT_EQ(JsonSyntaxError(text), std::nullopt) << text;
  }
}

TEST(JsonSyntaxTest, MalformedValuesAreRefusedSayingWhere) {
  for (const std::string text : {"",
                                 " ",
                                 "{",
                                 "}",
                                 "[1,]",
                                 "{\"a\":1,}",
                                 "{a:1}",
                                 "{\"a\" 1}",
                                 "01",
                                 "1.",
                                 "-",
                                 "1e",
                                 "+1",
                                 ".5",
                                 "tru",
                                 "nul",
                                 "\"open",
                                 "\"bad \\x escape\"",
                                 "\"\\u12G4\"",
                                 "{} {}",
                                 "[1 2]",
                                 "\"tab\there\"",
                                 "NaN",
                                 "'single'"}) {
    const std::optional<std::string> error = JsonSyntaxError(text);
    ASSERT_TRUE(error.has_value()) << "accepted: " << text;
    EXPECT_NE(error->find(" at byte "), std::string::npos) << *error;
  }
  EXPECT_EQ(JsonSyntaxError("{\"a\" 1}"), "expected ':' at byte 5");
}

TEST(JsonSyntaxTest, NestingIsLimited) {
  EXPECT_EQ(JsonSyntaxError(std::string(64, '[') + std::string(64, ']')), std::nullopt);
  EXPECT_TRUE(JsonSyntaxError(std::string(65, '[') + std::string(65, ']')).has_value());
  EXPECT_TRUE(JsonSyntaxError(std::string(100000, '[')).has_value());  // no stack overflow
}

}  // namespace
}  // namespace propdesk::common
