-- ARCHITECTURE.md §8: where each WindowedScanner stopped. last_tick (UTC) is
-- the end of the last window processed; it advances in the same transaction
-- as that window's work, so no window is skipped or processed twice.
CREATE TABLE IF NOT EXISTS scan_cursors (
  name      VARCHAR(128) NOT NULL,
  last_tick DATETIME(6)  NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
