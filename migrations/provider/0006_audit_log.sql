-- Who changed what (issue #19): one row per change to contracts, credentials, tariffs,
-- fees, balances, unresolved cash and staff accounts, written in the same transaction as
-- the change it records. Append-only: the code has no UPDATE or DELETE for it, and the
-- triggers refuse both, so a row once committed stays as it was.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    login       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_kind ON audit_log (kind, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
