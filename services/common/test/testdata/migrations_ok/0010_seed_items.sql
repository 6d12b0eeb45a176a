-- Needs 0002's column. A ';' inside a line does not end a statement.
INSERT INTO items (id, name, price_cents) VALUES (1, 'key; spare', 500),
  (2, 'card', 250);
INSERT INTO applied_order (version) VALUES (10)
