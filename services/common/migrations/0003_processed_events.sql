-- ARCHITECTURE.md §7: exactly-once effect over at-least-once delivery. An
-- EventConsumer inserts (group, event id) in the same transaction as the
-- handler's work; a redelivered event hits the primary key and is skipped.
CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group VARCHAR(128) NOT NULL,
  event_id       VARCHAR(64)  NOT NULL,
  processed_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (consumer_group, event_id),
  KEY idx_processed_events_at (processed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
