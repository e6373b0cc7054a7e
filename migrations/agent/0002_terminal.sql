-- The terminal's back end: its contract with processing, the synced catalog and balance,
-- its own fee for the public, cash sessions with every stacked bill, and the outbox of
-- payments to processing. Money columns are integer kopecks.

CREATE TABLE contract (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    processing_url   TEXT NOT NULL,
    contract_number  TEXT NOT NULL,
    login            TEXT NOT NULL,
    password         TEXT NOT NULL,
    saved_at         TEXT NOT NULL
);

-- The last good answer of each sync, and the last attempt's error.
CREATE TABLE sync_state (
    what             TEXT PRIMARY KEY CHECK (what IN ('catalog', 'balance')),
    body             TEXT,
    etag             TEXT,
    fetched_at       TEXT,
    last_attempt_at  TEXT,
    last_error       TEXT
);
INSERT INTO sync_state (what) VALUES ('catalog'), ('balance');

-- The agent's own fee for the public, on the cash inserted.
CREATE TABLE fee_rule (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    percent_bp  INTEGER NOT NULL,
    fixed       INTEGER NOT NULL,
    min         INTEGER NOT NULL,
    max         INTEGER
);
INSERT INTO fee_rule (id, percent_bp, fixed, min, max) VALUES (1, 0, 0, 0, NULL);

-- One customer at the kiosk: a provider, an account, and the cash inserted for it.
CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY,
    provider_id    INTEGER NOT NULL,
    provider_name  TEXT NOT NULL,
    account        TEXT NOT NULL,
    min_amount     INTEGER NOT NULL,
    max_amount     INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'paid')),
    created_at     TEXT NOT NULL,
    closed_at      TEXT
);

-- Every stacked banknote, stored before it is acknowledged; the event id makes it count once.
CREATE TABLE bills (
    event_id    TEXT PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    stacked_at  TEXT NOT NULL
);

-- The outbox: a payment is stored before it is sent, and sent until processing answers finally.
CREATE TABLE payments (
    id                     INTEGER PRIMARY KEY,
    session_id             INTEGER NOT NULL UNIQUE REFERENCES sessions (id),
    agent_txn_id           TEXT NOT NULL UNIQUE,
    provider_id            INTEGER NOT NULL,
    provider_name          TEXT NOT NULL,
    account                TEXT NOT NULL,
    cash                   INTEGER NOT NULL,
    agent_fee              INTEGER NOT NULL,
    amount                 INTEGER NOT NULL,
    accepted_at            TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('queued', 'pending', 'completed', 'failed', 'rejected')),
    result                 INTEGER,
    message                TEXT,
    processing_payment_id  INTEGER,
    processing_fee         INTEGER,
    prv_txn                TEXT,
    attempts               INTEGER NOT NULL DEFAULT 0,
    next_attempt_at        TEXT,
    last_error             TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX payments_due ON payments (status, next_attempt_at);
