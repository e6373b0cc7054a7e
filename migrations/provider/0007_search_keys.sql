-- Case-insensitive search and an alphabetical order for subscribers (issue #19).
--
-- SQLite's lower() and LIKE fold ASCII only ("петров" does not find "Петров"), and
-- PostgreSQL's fold depends on the database's locale (LC_CTYPE=C folds ASCII only too).
-- So the keys are computed in Rust (`server::search_key::fold`: Unicode lower case, ё as
-- е, runs of white space as one space), written by the statement that writes the fields
-- they come from, and searched and sorted as they are, byte for byte, on both databases.
--
-- search_key: the folded name, e-mail and account, one per line; NULL means "not computed
--             yet" (rows that existed before this migration). A migration cannot run Rust:
--             the provider fills them at start-up (`subscriber_list::fill_search_keys`),
--             and until it has, the search still finds those rows by the raw columns.
-- name_key:   the folded name alone, the "by name" order (in UTF-8 byte order а…я is the
--             alphabet once ё is е); '' until filled.
ALTER TABLE subscribers ADD COLUMN search_key TEXT;
ALTER TABLE subscribers ADD COLUMN name_key TEXT NOT NULL DEFAULT '';

-- Keyset paging in each order the list offers: (key, id).
CREATE INDEX subscribers_by_name ON subscribers (name_key, id);
CREATE INDEX subscribers_by_balance ON subscribers (balance, id);
-- What the start-up fill looks for; empty (and free) once it has run.
CREATE INDEX subscribers_unkeyed ON subscribers (id) WHERE search_key IS NULL;
