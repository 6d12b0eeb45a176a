#include "tickets/demo.h"

namespace propdesk::tickets {

void SeedDemoData(common::MysqlPool& pool, TicketStore& store) {
  pool.WithTransaction([&](common::MysqlConnection& tx) {
    store.UpsertSite(tx, {kDemoSiteId, kDemoGroupId, "SZ01", "Shenzhen Demo Garden"});
    // No site_policies row: the service applies the DOMAIN.md defaults.
  });
}

}  // namespace propdesk::tickets
