#include "tickets/domain/sla_metrics.h"

#include <algorithm>
#include <string>

#include "common/errors.h"

namespace propdesk::tickets::domain {
namespace {

constexpr int64_t kMaxCount = 100'000'000'000'000;  // 10^14

void CheckCount(int64_t value, const char* field) {
  if (value < 0 || value >= kMaxCount) {
    throw common::InvalidArgument(field,
                                  "must be between 0 and 10^14, got " + std::to_string(value));
  }
}

// numerator × scale / denominator rounded half up, without overflow for
// counts below 10^14 and scale ≤ 10^4 (the remainder is < denominator).
int64_t ScaledRoundHalfUp(int64_t numerator, int64_t denominator, int64_t scale) {
  const int64_t whole = numerator / denominator;
  const int64_t remainder = numerator % denominator;
  // remainder × scale < 10^18 fits int64; 2 × that also fits.
  return whole * scale + (2 * remainder * scale + denominator) / (2 * denominator);
}

}  // namespace

int32_t RatioBasisPoints(int64_t numerator, int64_t denominator) {
  CheckCount(numerator, "numerator");
  CheckCount(denominator, "denominator");
  if (denominator == 0) return 0;
  const int64_t bp = ScaledRoundHalfUp(numerator, denominator, kFullRateBp);
  return static_cast<int32_t>(std::min<int64_t>(bp, INT32_MAX));
}

int32_t CallbackRateBp(int64_t callbacks_done, int64_t callbacks_due) {
  CheckCount(callbacks_done, "callbacks_done");
  CheckCount(callbacks_due, "callbacks_due");
  if (callbacks_due == 0) return kFullRateBp;
  return RatioBasisPoints(std::min(callbacks_done, callbacks_due), callbacks_due);
}

int32_t ValidComplaintRateBp(int64_t valid_complaints, int64_t unit_count) {
  CheckCount(valid_complaints, "valid_complaints");
  CheckCount(unit_count, "unit_count");
  return RatioBasisPoints(valid_complaints, unit_count);
}

int32_t MeanSatisfactionHundredths(int64_t satisfaction_sum, int64_t responses) {
  CheckCount(satisfaction_sum, "satisfaction_sum");
  CheckCount(responses, "responses");
  if (responses == 0) {
    if (satisfaction_sum != 0) {
      throw common::InvalidArgument("satisfaction_sum", "must be 0 when there is no response");
    }
    return 0;
  }
  if (satisfaction_sum < responses || satisfaction_sum > 5 * responses) {
    throw common::InvalidArgument("satisfaction_sum",
                                  "must lie between 1 and 5 times the number of responses");
  }
  return static_cast<int32_t>(ScaledRoundHalfUp(satisfaction_sum, responses, 100));
}

}  // namespace propdesk::tickets::domain
