-- rule C-5: one counter per record type, site and site-local day. A record
-- number is allocated by an upsert that row-locks the counter inside the
-- writer's transaction (RecordNumberAllocator), so numbers never repeat.
-- The counter is keyed by the site *code*, the part that appears in the
-- number: whatever shares a code also shares a counter, so no two records can
-- ever print the same number.
CREATE TABLE IF NOT EXISTS record_sequences (
  record_type VARCHAR(4)      NOT NULL,
  site_code   VARCHAR(8)      NOT NULL,
  day         DATE            NOT NULL,
  last_seq    BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (record_type, site_code, day)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
