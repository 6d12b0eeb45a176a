#pragma once

// Demo data for `make run` (DEMO_DATA=1): the site SZ01 of group "demo"
// with the DOMAIN.md default SLA policy.

#include "common/mysql.h"
#include "tickets/store.h"

namespace propdesk::tickets {

inline constexpr const char* kDemoSiteId = "SZ01";
inline constexpr const char* kDemoGroupId = "demo";

// Idempotent: re-running it leaves the same data.
void SeedDemoData(common::MysqlPool& pool, TicketStore& store);

}  // namespace propdesk::tickets
