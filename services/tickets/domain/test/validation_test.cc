// Input checks shared by the operations.

#include "tickets/domain/validation.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace propdesk::tickets::domain {
namespace {

TEST(Validation, CodePointsNotBytes) {
  EXPECT_EQ(CodePointCount(""), 0u);
  EXPECT_EQ(CodePointCount("abc"), 3u);
  EXPECT_EQ(CodePointCount("报修"), 2u);
  EXPECT_EQ(CodePointCount("a漏b"), 3u);
  EXPECT_EQ(CodePointCount("😀"), 1u);
}

TEST(Validation, RequireTextRejectsBlankAndTooLong) {
  EXPECT_INVALID_FIELD(RequireText("reply", "", 10), "reply");
  EXPECT_INVALID_FIELD(RequireText("reply", " \t\r\n", 10), "reply");
  EXPECT_INVALID_FIELD(RequireText("reply", "12345678901", 10), "reply");
  EXPECT_NO_THROW(RequireText("reply", "一二三四五六七八九十", 10));
  EXPECT_NO_THROW(OptionalText("note", "", 10));
  EXPECT_INVALID_FIELD(OptionalText("note", "一二三四五六七八九十一", 10), "note");
}

TEST(Validation, IdsHaveNoSpaces) {
  EXPECT_NO_THROW(RequireId("assignee_id", "eng-7", 64));
  EXPECT_INVALID_FIELD(RequireId("assignee_id", "", 64), "assignee_id");
  EXPECT_INVALID_FIELD(RequireId("assignee_id", "eng 7", 64), "assignee_id");
  EXPECT_INVALID_FIELD(RequireId("assignee_id", "eng\x01", 64), "assignee_id");
  EXPECT_INVALID_FIELD(RequireId("assignee_id", std::string(65, 'a'), 64), "assignee_id");
}

TEST(Validation, C2_PhoneFormat) {
  EXPECT_NO_THROW(OptionalPhone("contact.phone", ""));
  EXPECT_NO_THROW(OptionalPhone("contact.phone", "13800138000"));
  EXPECT_NO_THROW(OptionalPhone("contact.phone", "+86 (755) 8888-0000"));
  EXPECT_INVALID_FIELD(OptionalPhone("contact.phone", "1380013800x"), "contact.phone");
  EXPECT_INVALID_FIELD(OptionalPhone("contact.phone", "12-34"), "contact.phone");
  EXPECT_INVALID_FIELD(OptionalPhone("contact.phone", std::string(21, '1')), "contact.phone");
}

}  // namespace
}  // namespace propdesk::tickets::domain
