#pragma once

// Helpers for the tickets domain tests.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/calendar.h"
#include "common/errors.h"
#include "tickets/domain/sla_policy.h"
#include "tickets/domain/ticket.h"

namespace propdesk::tickets::domain::testing {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// An instant given as UTC wall-clock.
inline Timestamp Utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{m} /
                                  std::chrono::day{d}};
  return Timestamp{day} + hours{hh} + minutes{mm} + seconds{ss};
}

inline std::chrono::year_month_day Date(int y, unsigned m, unsigned d) {
  return std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d};
}

// An instant given as wall-clock time in `settings`' time zone.
inline Timestamp Local(const SlaSettings& settings, int y, unsigned m, unsigned d, int hh,
                       int mm = 0) {
  return settings.calendar().ToTimestamp(Date(y, m, d), hours{hh} + minutes{mm});
}

inline SlaSettings DefaultSettings() { return SlaSettings::Create(DefaultSlaPolicy()); }

inline SlaSettings SettingsWith(const std::function<void(SlaPolicy&)>& edit) {
  SlaPolicy policy = DefaultSlaPolicy();
  edit(policy);
  return SlaSettings::Create(std::move(policy));
}

// Runs `f`, which must throw common::Error; returns it.
inline std::optional<common::Error> ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const common::Error& error) {
    return error;
  }
  return std::nullopt;
}

inline std::string FieldOf(const common::Error& error) {
  const auto it = error.metadata().find("field");
  return it == error.metadata().end() ? "" : it->second;
}

}  // namespace propdesk::tickets::domain::testing

// The statement throws Error(kInvalidArgument) naming `field`.
#define EXPECT_INVALID_FIELD(statement, field)                                                     \
  do {                                                                                             \
    const auto error_ = ::propdesk::tickets::domain::testing::ErrorOf([&] { (void)(statement); }); \
    if (!error_) {                                                                                 \
      ADD_FAILURE() << #statement " did not throw";                                                \
    } else {                                                                                       \
      EXPECT_EQ(error_->kind(), ::propdesk::common::ErrorKind::kInvalidArgument)                   \
          << error_->what();                                                                       \
      EXPECT_EQ(::propdesk::tickets::domain::testing::FieldOf(*error_), field) << error_->what();  \
    }                                                                                              \
  } while (false)

// The statement throws Error(kFailedPrecondition) with `reason`.
#define EXPECT_PRECONDITION(statement, expected_reason)                                            \
  do {                                                                                             \
    const auto error_ = ::propdesk::tickets::domain::testing::ErrorOf([&] { (void)(statement); }); \
    if (!error_) {                                                                                 \
      ADD_FAILURE() << #statement " did not throw";                                                \
    } else {                                                                                       \
      EXPECT_EQ(error_->kind(), ::propdesk::common::ErrorKind::kFailedPrecondition)                \
          << error_->what();                                                                       \
      EXPECT_EQ(error_->reason(), expected_reason) << error_->what();                              \
    }                                                                                              \
  } while (false)
