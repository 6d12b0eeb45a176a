// Rule C-4: money is integer fen; parsing, formatting and arithmetic never go
// through floating point and never wrap around.

#include "common/money.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "common/errors.h"

namespace propdesk::common {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

struct ParseCase {
  std::string text;
  int64_t fen;
};

class MoneyParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(MoneyParseTest, C4_ParsesYuanIntoExactFen) {
  EXPECT_EQ(Money::Parse(GetParam().text).fen(), GetParam().fen) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, MoneyParseTest,
    ::testing::Values(ParseCase{"12.34", 1234}, ParseCase{"-0.5", -50}, ParseCase{"100", 10000},
                      ParseCase{"0", 0}, ParseCase{"-0", 0}, ParseCase{"0.01", 1},
                      ParseCase{"-0.01", -1}, ParseCase{"0.1", 10}, ParseCase{"007.50", 750},
                      // 0.1 + 0.2 style amounts that binary floating point gets wrong.
                      ParseCase{"0.29", 29}, ParseCase{"1.15", 115}, ParseCase{"4.35", 435},
                      ParseCase{"92233720368547758.07", kMax},
                      ParseCase{"-92233720368547758.08", kMin}));

class MoneyBadInputTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MoneyBadInputTest, C4_RejectsWithInvalidMoney) {
  try {
    Money::Parse(GetParam());
    FAIL() << "accepted \"" << GetParam() << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(e.reason(), "INVALID_MONEY");
    EXPECT_NE(std::string(e.what()).find("e.g. 12.34"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MoneyBadInputTest,
                         ::testing::Values("", "-", ".", ".5", "-.5", "1.", "1.234", "1.2.3", "+1",
                                           " 1", "1 ", "1,000.00", "1e3", "12a", "abc", "--1",
                                           "1.-2", "0x10", "¥12", "NaN", "inf", "1.5\n"));

TEST(Money, C4_ParseOverflowIsMoneyOverflow) {
  for (const char* text : {"92233720368547758.08", "-92233720368547758.09", "100000000000000000",
                           "99999999999999999999999"}) {
    try {
      Money::Parse(text);
      FAIL() << "accepted " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_EQ(e.reason(), "MONEY_OVERFLOW") << text;
    }
  }
}

TEST(Money, C4_FormatsWithTwoDecimals) {
  EXPECT_EQ(Money::FromFen(1234).ToString(), "12.34");
  EXPECT_EQ(Money::FromFen(-50).ToString(), "-0.50");
  EXPECT_EQ(Money::FromFen(-5).ToString(), "-0.05");
  EXPECT_EQ(Money::FromFen(0).ToString(), "0.00");
  EXPECT_EQ(Money::FromFen(10000).ToString(), "100.00");
  EXPECT_EQ(Money::FromFen(kMax).ToString(), "92233720368547758.07");
  EXPECT_EQ(Money::FromFen(kMin).ToString(), "-92233720368547758.08");
}

TEST(Money, C4_FormatThenParseRoundTrips) {
  for (int64_t fen : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{99}, int64_t{-100},
                      int64_t{123456789}, kMax, kMin}) {
    EXPECT_EQ(Money::Parse(Money::FromFen(fen).ToString()).fen(), fen);
  }
}

TEST(Money, C4_ArithmeticIsExact) {
  // Ten times 0.10 is exactly 1.00 (it is not in binary floating point).
  Money sum;
  for (int i = 0; i < 10; ++i) sum += Money::Parse("0.10");
  EXPECT_EQ(sum, Money::Parse("1.00"));
  EXPECT_EQ((Money::Parse("12.34") - Money::Parse("20")).ToString(), "-7.66");
  EXPECT_EQ((-Money::Parse("3.5")).fen(), -350);
  EXPECT_EQ(Money::Parse("19.99").MultiplyBy(3).ToString(), "59.97");
  EXPECT_EQ(Money::Parse("19.99").MultiplyBy(-2).ToString(), "-39.98");
  Money balance = Money::FromFen(500);
  balance -= Money::FromFen(800);
  EXPECT_TRUE(balance.is_negative());
  EXPECT_TRUE((balance + Money::FromFen(300)).is_zero());
}

TEST(Money, C4_ComparesByFen) {
  EXPECT_LT(Money::Parse("-0.01"), Money::Zero());
  EXPECT_GT(Money::Parse("0.10"), Money::Parse("0.09"));
  EXPECT_EQ(Money::Parse("1.5"), Money::FromFen(150));
  EXPECT_NE(Money::Parse("1.5"), Money::FromFen(15));
  EXPECT_LE(Money::Zero(), Money());
}

void ExpectOverflow(void (*operation)()) {
  try {
    operation();
    FAIL() << "no overflow reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(e.reason(), "MONEY_OVERFLOW");
  }
}

TEST(Money, C4_OverflowIsAnErrorNotAWrapAround) {
  ExpectOverflow([] { (void)(Money::FromFen(kMax) + Money::FromFen(1)); });
  ExpectOverflow([] { (void)(Money::FromFen(kMin) - Money::FromFen(1)); });
  ExpectOverflow([] { (void)(Money::FromFen(kMin) + Money::FromFen(-1)); });
  ExpectOverflow([] { (void)(Money::FromFen(0) - Money::FromFen(kMin)); });
  ExpectOverflow([] { (void)(-Money::FromFen(kMin)); });
  ExpectOverflow([] { (void)Money::FromFen(kMax / 2 + 1).MultiplyBy(2); });
  ExpectOverflow([] { (void)Money::FromFen(kMin).MultiplyBy(-1); });
  ExpectOverflow([] {
    Money m = Money::FromFen(kMax);
    m += Money::FromFen(1);
  });
  // The edges themselves are fine.
  EXPECT_EQ((Money::FromFen(kMax - 1) + Money::FromFen(1)).fen(), kMax);
  EXPECT_EQ((Money::FromFen(kMin + 1) - Money::FromFen(1)).fen(), kMin);
}

}  // namespace
}  // namespace propdesk::common
