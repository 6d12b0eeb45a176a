-- ListTickets filtered by kind walks (site_id, kind, id) newest first, so a
-- page costs the same at any depth (mysql_store.cc ListIndexFor).
ALTER TABLE tickets ADD INDEX tickets_site_kind (site_id, kind, id);

-- ListTickets(overdue): the unmet deadlines of a site by due time, so the
-- page starts from the few overdue tickets instead of scanning all of them.
ALTER TABLE ticket_deadlines ADD INDEX ticket_deadlines_open (site_id, met_at_us, due_at_us);
