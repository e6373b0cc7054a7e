-- Case-insensitive search and an alphabetical order for subscribers (issue #19); the same
-- columns as migrations/provider/0007_search_keys.sql, filled the same way by the
-- provider (not by lower() here: its fold depends on the database's LC_CTYPE, and one
-- fold computed in Rust keeps both databases answering alike).
-- COLLATE "C": byte order, as SQLite's BINARY, so that both databases list "by name" in
-- the same order whatever locale the cluster was created with.
ALTER TABLE subscribers ADD COLUMN search_key TEXT COLLATE "C";
ALTER TABLE subscribers ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX subscribers_by_name ON subscribers (name_key, id);
CREATE INDEX subscribers_by_balance ON subscribers (balance, id);
CREATE INDEX subscribers_unkeyed ON subscribers (id) WHERE search_key IS NULL;
