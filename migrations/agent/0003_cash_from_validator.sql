-- Cash comes only from the validator (issue #13): kiosk-shell reports each stacked bill
-- with its own terminal credential; a bill counts only as a denomination of the bill
-- table the shell read from the unit; a bill that cannot go into an open session is kept
-- as unassigned cash for the operator (never dropped, never credited to another session);
-- a session is paid only after a successful check of its provider and account.

-- The validator's bill table as kiosk-shell last reported it: one row per bill type.
CREATE TABLE validator_bill_table (
    bill_type    INTEGER PRIMARY KEY CHECK (bill_type BETWEEN 0 AND 23),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    reported_at  TEXT NOT NULL
);

-- Every stacked banknote, counted once by its event id. `session_id` is NULL for
-- unassigned cash; `unassigned` says why (`no_session`, `session_closed`,
-- `over_session_max`) and `resolved_at` when the operator has dealt with it.
CREATE TABLE bills_v3 (
    event_id     TEXT PRIMARY KEY,
    session_id   INTEGER REFERENCES sessions (id),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    bill_type    INTEGER,
    stacked_at   TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    unassigned   TEXT CHECK (unassigned IN ('no_session', 'session_closed', 'over_session_max')),
    CHECK ((session_id IS NULL) = (unassigned IS NOT NULL))
);
INSERT INTO bills_v3 (event_id, session_id, amount, bill_type, stacked_at, received_at, unassigned)
    SELECT event_id, session_id, amount, NULL, stacked_at, stacked_at, NULL FROM bills;
DROP TABLE bills;
ALTER TABLE bills_v3 RENAME TO bills;
CREATE INDEX bills_session ON bills (session_id);
CREATE INDEX bills_unassigned ON bills (unassigned) WHERE unassigned IS NOT NULL;

-- Each check the kiosk asked for, with the provider's answer: pay needs one with result 0.
CREATE TABLE checks (
    id           INTEGER PRIMARY KEY,
    provider_id  INTEGER NOT NULL,
    account      TEXT NOT NULL,
    result       INTEGER NOT NULL,
    checked_at   TEXT NOT NULL
);
CREATE INDEX checks_lookup ON checks (provider_id, account, result);

-- The successful check a session was opened on (NULL: none; such a session cannot pay).
ALTER TABLE sessions ADD COLUMN check_id INTEGER REFERENCES checks (id);
