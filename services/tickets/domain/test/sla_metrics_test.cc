// Rule T-9 figures in integers: callback rate, valid-complaint rate, mean
// satisfaction.

#include "tickets/domain/sla_metrics.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace propdesk::tickets::domain {
namespace {

TEST(SlaMetrics, RatioRoundsHalfUp) {
  EXPECT_EQ(RatioBasisPoints(1, 3), 3333);
  EXPECT_EQ(RatioBasisPoints(2, 3), 6667);
  EXPECT_EQ(RatioBasisPoints(1, 8), 1250);
  EXPECT_EQ(RatioBasisPoints(1, 20000), 1);  // 0.5 bp rounds up
  EXPECT_EQ(RatioBasisPoints(1, 20001), 0);
  EXPECT_EQ(RatioBasisPoints(0, 5), 0);
  EXPECT_EQ(RatioBasisPoints(5, 0), 0);
  // Large counts do not overflow.
  EXPECT_EQ(RatioBasisPoints(99'999'999'999'999, 99'999'999'999'999), 10000);
  EXPECT_EQ(RatioBasisPoints(33'333'333'333'333, 99'999'999'999'999), 3333);
}

TEST(SlaMetrics, T9_CallbackRate) {
  EXPECT_EQ(CallbackRateBp(0, 0), 10000);  // nothing due, nothing missed
  EXPECT_EQ(CallbackRateBp(49, 50), 9800);
  EXPECT_EQ(CallbackRateBp(50, 50), 10000);
  EXPECT_EQ(CallbackRateBp(51, 50), 10000);  // capped
  EXPECT_INVALID_FIELD(CallbackRateBp(-1, 50), "callbacks_done");
  EXPECT_INVALID_FIELD(CallbackRateBp(1, -50), "callbacks_due");
}

TEST(SlaMetrics, T9_ValidComplaintRatePerUnit) {
  EXPECT_EQ(ValidComplaintRateBp(3, 1200), 25);  // 0.25 %: under the 1 % target
  EXPECT_EQ(ValidComplaintRateBp(12, 1200), 100);
  EXPECT_EQ(ValidComplaintRateBp(3, 0), 0);  // unit count unknown
  EXPECT_INVALID_FIELD(ValidComplaintRateBp(-3, 1200), "valid_complaints");
}

TEST(SlaMetrics, T9_MeanSatisfactionInHundredths) {
  EXPECT_EQ(MeanSatisfactionHundredths(17, 4), 425);
  EXPECT_EQ(MeanSatisfactionHundredths(13, 3), 433);
  EXPECT_EQ(MeanSatisfactionHundredths(14, 3), 467);
  EXPECT_EQ(MeanSatisfactionHundredths(5, 1), 500);
  EXPECT_EQ(MeanSatisfactionHundredths(0, 0), 0);
  EXPECT_INVALID_FIELD(MeanSatisfactionHundredths(3, 0), "satisfaction_sum");
  EXPECT_INVALID_FIELD(MeanSatisfactionHundredths(2, 3), "satisfaction_sum");   // below 1 each
  EXPECT_INVALID_FIELD(MeanSatisfactionHundredths(16, 3), "satisfaction_sum");  // above 5 each
}

}  // namespace
}  // namespace propdesk::tickets::domain
