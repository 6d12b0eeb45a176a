-- Tickets service schema (DOMAIN.md T-1 … T-12). Instants are stored as
-- microseconds since the Unix epoch (UTC) so they round-trip exactly.
-- Enum columns hold the propdesk.tickets.v1 enum numbers.

-- Rule C-1: every record belongs to a site, every site to a group.
CREATE TABLE IF NOT EXISTS sites (
  site_id VARCHAR(64) NOT NULL PRIMARY KEY,
  group_id VARCHAR(64) NOT NULL,
  code VARCHAR(8) NOT NULL,
  name VARCHAR(128) NOT NULL,
  UNIQUE KEY sites_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The site's SLA settings: a serialized propdesk.tickets.v1.SlaPolicy.
CREATE TABLE IF NOT EXISTS site_policies (
  site_id VARCHAR(64) NOT NULL PRIMARY KEY,
  policy MEDIUMBLOB NOT NULL,
  version BIGINT NOT NULL DEFAULT 1
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS tickets (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  site_id VARCHAR(64) NOT NULL,
  number VARCHAR(32) NOT NULL,
  kind TINYINT NOT NULL,
  channel TINYINT NOT NULL,
  category TINYINT NOT NULL,
  priority TINYINT NOT NULL,
  state TINYINT NOT NULL,
  unit VARCHAR(32) NOT NULL DEFAULT '',
  contact_name VARCHAR(255) NOT NULL DEFAULT '',
  contact_phone VARCHAR(32) NOT NULL DEFAULT '',
  description TEXT NOT NULL,
  first_contact_owner_id VARCHAR(64) NOT NULL,
  owner_id VARCHAR(64) NOT NULL,
  department VARCHAR(255) NOT NULL DEFAULT '',
  assignee_id VARCHAR(64) NOT NULL DEFAULT '',
  escalation_level TINYINT NOT NULL,
  breach_count INT NOT NULL DEFAULT 0,
  appointment_reschedule_count INT NOT NULL DEFAULT 0,
  duplicate_count INT NOT NULL DEFAULT 0,
  reopen_count INT NOT NULL DEFAULT 0,
  -- T-9 valid-complaint rate: copied from the resolution for GetSlaSummary.
  valid_complaint TINYINT NOT NULL DEFAULT 0,
  -- Serialized propdesk.tickets.v1.Resolution / Callback / IncidentReport;
  -- empty when the ticket has none.
  resolution MEDIUMBLOB NOT NULL,
  callback BLOB NOT NULL,
  incident_report MEDIUMBLOB NOT NULL,
  version BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  UNIQUE KEY tickets_number (site_id, number),
  KEY tickets_site_id (site_id, id),
  KEY tickets_site_state (site_id, state, id),
  KEY tickets_site_unit (site_id, unit, category, state),
  KEY tickets_site_assignee (site_id, assignee_id, id),
  KEY tickets_site_owner (site_id, owner_id, id),
  KEY tickets_site_kind_created (site_id, kind, created_at_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per deadline of a ticket (T-4 … T-9). The scanner reads the
-- window of unmet, unbreached rows by due_at.
CREATE TABLE IF NOT EXISTS ticket_deadlines (
  ticket_id BIGINT NOT NULL,
  kind TINYINT NOT NULL,
  site_id VARCHAR(64) NOT NULL,
  due_at_us BIGINT NOT NULL,
  met_at_us BIGINT NULL,
  breached TINYINT NOT NULL DEFAULT 0,
  watched TINYINT NOT NULL,
  PRIMARY KEY (ticket_id, kind),
  KEY ticket_deadlines_watch (watched, due_at_us),
  KEY ticket_deadlines_site (site_id, kind, due_at_us)
) ENGINE=InnoDB;

-- The ticket's history (rule C-3), append-only.
CREATE TABLE IF NOT EXISTS ticket_events (
  ticket_id BIGINT NOT NULL,
  seq INT NOT NULL,
  site_id VARCHAR(64) NOT NULL,
  type TINYINT NOT NULL,
  actor_id VARCHAR(64) NOT NULL,
  at_us BIGINT NOT NULL,
  reason TEXT NOT NULL,
  from_state TINYINT NOT NULL,
  to_state TINYINT NOT NULL,
  -- Serialized propdesk.tickets.v1.TicketEvent holding only its details map.
  details BLOB NOT NULL,
  -- The score of a callback_recorded entry (T-9 mean satisfaction), else 0.
  satisfaction TINYINT NOT NULL DEFAULT 0,
  PRIMARY KEY (ticket_id, seq),
  KEY ticket_events_site_type (site_id, type, at_us)
) ENGINE=InnoDB;
