-- Fixture for migrations_test.cc: two tables in one file.
CREATE TABLE items (
  id   INT PRIMARY KEY,
  -- a comment line inside a statement;
  name VARCHAR(32) NOT NULL
);
CREATE TABLE applied_order (
  seq     INT AUTO_INCREMENT PRIMARY KEY,
  version INT NOT NULL
);
INSERT INTO applied_order (version) VALUES (1);
