-- Needs 0001's table: fails if applied out of order.
ALTER TABLE items ADD COLUMN price_cents BIGINT NOT NULL DEFAULT 0;
INSERT INTO applied_order (version) VALUES (2);
