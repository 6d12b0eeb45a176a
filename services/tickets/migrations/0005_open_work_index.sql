-- The leader's open-work gauges (gauges.cc, CountOpenWork) count open
-- tickets by site, kind and state: an index-only range over the open states
-- instead of reading every ticket row.
ALTER TABLE tickets ADD INDEX tickets_open_work (state, site_id, kind);

-- Callbacks owed (unmet callback deadlines), for the same gauges: a range
-- over the few unmet callbacks instead of a join across every ticket.
ALTER TABLE ticket_deadlines ADD INDEX ticket_deadlines_unmet_kind (kind, met_at_us, site_id);
