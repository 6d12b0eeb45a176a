#pragma once

// Demo data for `make run` (DEMO_DATA=1): the site SZ01 of group "demo", its
// SLA policy (the DOMAIN.md defaults, with the number of units served so
// that the valid-complaint rate of T-9 is computed), and a handful of
// tickets in different states, made through the domain operations so that
// their deadlines, history and outbox events are what real use would leave.

#include "common/mysql.h"
#include "tickets/store.h"

namespace propdesk::tickets {

inline constexpr const char* kDemoSiteId = "SZ01";
inline constexpr const char* kDemoGroupId = "demo";
// Units served by the demo site (the valid-complaint rate's denominator).
inline constexpr int kDemoUnitCount = 480;

// Demo staff, as they appear in owner, assignee and history fields.
inline constexpr const char* kDemoFrontDesk = "demo-desk-wang";
inline constexpr const char* kDemoFrontDesk2 = "demo-desk-li";
inline constexpr const char* kDemoSupervisor = "demo-cs-zhou";
inline constexpr const char* kDemoEngineer = "demo-eng-zhao";
inline constexpr const char* kDemoCleaner = "demo-clean-sun";
inline constexpr const char* kDemoDutyManager = "demo-duty-liu";
inline constexpr const char* kDemoSecurity = "demo-sec-huang";

// Seeds the demo site in one transaction and returns the number of tickets
// created. Idempotent, also when replicas start at once: a demo site that
// already has an SLA policy counts as seeded (the policy and the tickets are
// written together), and a second run creates nothing and returns 0.
int SeedDemoData(common::MysqlPool& pool, TicketStore& store);

}  // namespace propdesk::tickets
