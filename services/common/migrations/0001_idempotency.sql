-- rule C-8: the truth of "has this request already had its effect".
-- Redis holds a fast-path copy; this unique key is what guarantees one effect.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  site_id     VARCHAR(64)  NOT NULL,
  request_id  VARCHAR(128) NOT NULL,
  fingerprint CHAR(64)     NOT NULL,
  response    MEDIUMBLOB   NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (site_id, request_id),
  KEY idx_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
