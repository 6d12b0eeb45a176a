// Rule C-5: `<TYPE>-<SITE>-YYMMDD###`, the 14 Feb 2004 first record being
// 040214001.

#include "common/record_number.h"

#include <gtest/gtest.h>

#include <string>

#include "common/errors.h"

namespace propdesk::common {
namespace {

std::chrono::year_month_day Ymd(int y, unsigned m, unsigned d) {
  return {std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

TEST(RecordNumber, C5_FirstRecordOf14Feb2004Is040214001) {
  const std::string number = FormatRecordNumber("TK", "SZ01", Ymd(2004, 2, 14), 1);
  EXPECT_EQ(number, "TK-SZ01-040214001");
  EXPECT_EQ(number.substr(number.size() - 9), "040214001");
}

TEST(RecordNumber, C5_ExampleFromTheRules) {
  EXPECT_EQ(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 1), "TK-SZ01-240214001");
}

TEST(RecordNumber, C5_SequenceIsZeroPaddedToThreeDigits) {
  EXPECT_EQ(FormatRecordNumber("VIS", "BJ2", Ymd(2024, 12, 31), 42), "VIS-BJ2-241231042");
  EXPECT_EQ(FormatRecordNumber("KEY", "GZ", Ymd(2009, 1, 1), 999), "KEY-GZ-090101999");
}

TEST(RecordNumber, C5_SequenceFrom1000KeepsAllDigits) {
  EXPECT_EQ(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 1000), "TK-SZ01-2402141000");
  EXPECT_EQ(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 123456), "TK-SZ01-240214123456");
  // 1000 on the 14th does not collide with 100 on any day.
  EXPECT_NE(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 1000),
            FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 100));
}

TEST(RecordNumber, C5_TypeAndSiteCodeAreValidated) {
  EXPECT_TRUE(IsValidRecordType("TK"));
  EXPECT_TRUE(IsValidRecordType("MAIL"));
  EXPECT_TRUE(IsValidSiteCode("SZ01"));
  EXPECT_TRUE(IsValidSiteCode("12345678"));
  for (const char* type : {"", "T", "TICKE", "tk", "T1", "T-K", "TK "}) {
    EXPECT_FALSE(IsValidRecordType(type)) << type;
    try {
      FormatRecordNumber(type, "SZ01", Ymd(2024, 2, 14), 1);
      FAIL() << "accepted type \"" << type << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_EQ(e.metadata().at("field"), "record_type");
    }
  }
  for (const char* site : {"", "S", "SZ01SZ01X", "sz01", "SZ-1", "SZ 1", "深圳"}) {
    EXPECT_FALSE(IsValidSiteCode(site)) << site;
    try {
      FormatRecordNumber("TK", site, Ymd(2024, 2, 14), 1);
      FAIL() << "accepted site code \"" << site << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_EQ(e.metadata().at("field"), "site_code");
    }
  }
}

TEST(RecordNumber, C5_BadDateOrSequenceIsRejected) {
  EXPECT_THROW(FormatRecordNumber("TK", "SZ01", Ymd(2023, 2, 29), 1), Error);
  EXPECT_THROW(FormatRecordNumber("TK", "SZ01", Ymd(1999, 12, 31), 1), Error);  // YY ambiguous
  EXPECT_THROW(FormatRecordNumber("TK", "SZ01", Ymd(2100, 1, 1), 1), Error);
  EXPECT_THROW(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), 0), Error);
  EXPECT_THROW(FormatRecordNumber("TK", "SZ01", Ymd(2024, 2, 14), -5), Error);
}

TEST(RecordNumber, C5_AllocatorRejectsABadType) {
  EXPECT_THROW(RecordNumberAllocator("tk"), Error);
  EXPECT_EQ(RecordNumberAllocator("TK").type(), "TK");
}

}  // namespace
}  // namespace propdesk::common
