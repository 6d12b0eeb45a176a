-- ARCHITECTURE.md §7: domain events written in the same transaction as the
-- change they describe; OutboxRelay publishes unpublished rows in id order to
-- the Redis stream propdesk:events:<service> and then stamps published_at.
-- Published rows are kept (rule C-3 audit trail) until purged by age.
CREATE TABLE IF NOT EXISTS outbox (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  event_id            CHAR(36)        CHARACTER SET ascii NOT NULL,
  event_type          VARCHAR(128)    NOT NULL,
  site_id             VARCHAR(64)     NOT NULL,
  aggregate_id        VARCHAR(128)    NOT NULL,
  payload             LONGTEXT        NOT NULL CHECK (JSON_VALID(payload)),
  actor               VARCHAR(64)     NOT NULL,
  occurred_at_unix_ms BIGINT          NOT NULL,
  published_at        DATETIME(6)     NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_outbox_event_id (event_id),
  -- "published_at IS NULL ORDER BY id" (the relay) and purging by age.
  KEY idx_outbox_published (published_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
