#pragma once

// Rule T-9 figures from counts, in integers: rates in basis points
// (10000 = 100 %), mean satisfaction in hundredths. Rounding is half up.
// Counts must not be negative (Error(kInvalidArgument) otherwise) and stay
// below 10^14, far above any site's numbers.

#include <cstdint>

namespace propdesk::tickets::domain {

inline constexpr int32_t kFullRateBp = 10000;

// numerator / denominator in basis points, rounded half up; 0 when the
// denominator is 0.
int32_t RatioBasisPoints(int64_t numerator, int64_t denominator);

// Callback rate (target 100 %): done / due. Nothing due is 100 % (nothing was
// missed). `done` counts callbacks of the due ones, so it cannot exceed
// `due`; if two counts taken at slightly different moments disagree the rate
// is capped at 100 %.
int32_t CallbackRateBp(int64_t callbacks_done, int64_t callbacks_due);

// Valid-complaint rate (有效投诉率, target < 1 %): valid complaints / units
// served. 0 when the unit count is unknown (0).
int32_t ValidComplaintRateBp(int64_t valid_complaints, int64_t unit_count);

// Mean satisfaction (1–5) in hundredths: 4.25 → 425. 0 when there was no
// response. Throws Error(kInvalidArgument) when the sum is impossible for the
// number of responses (outside 1×…5× it).
int32_t MeanSatisfactionHundredths(int64_t satisfaction_sum, int64_t responses);

}  // namespace propdesk::tickets::domain
