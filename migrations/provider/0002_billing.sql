-- The provider's billing: subscribers and their balances, tariffs, every movement of
-- money (usage charges and payments), contracts with processing centers, the payments
-- they credited (exactly once per contract and txn_id) and the log of every check/pay.
-- Money columns are integer kopecks.

CREATE TABLE subscribers (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL UNIQUE,
    full_name   TEXT NOT NULL,
    passport    TEXT NOT NULL,
    email       TEXT NOT NULL,
    services    TEXT NOT NULL,               -- comma-separated: call,internet,sms
    balance     INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    closed_at   TEXT
);

CREATE TABLE tariffs (
    service     TEXT PRIMARY KEY CHECK (service IN ('call', 'internet', 'sms')),
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    updated_at  TEXT NOT NULL
);
INSERT INTO tariffs (service, unit_price, updated_at) VALUES
    ('call', 250, CURRENT_TIMESTAMP),      -- 2.50 per minute
    ('internet', 30, CURRENT_TIMESTAMP),   -- 0.30 per MB
    ('sms', 200, CURRENT_TIMESTAMP);       -- 2.00 per message

CREATE TABLE processing_contracts (
    id               INTEGER PRIMARY KEY,
    processing_name  TEXT NOT NULL,
    protocol         TEXT NOT NULL CHECK (protocol IN ('osmp', 'json')),
    login            TEXT NOT NULL UNIQUE,
    min_amount       INTEGER NOT NULL CHECK (min_amount > 0),
    max_amount       INTEGER NOT NULL CHECK (max_amount >= min_amount),
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    created_at       TEXT NOT NULL
);

-- A credited payment. Its id is the prv_txn answered to the processing center.
CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    contract_id  INTEGER NOT NULL REFERENCES processing_contracts (id),
    txn_id       TEXT NOT NULL,
    account      TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    txn_date     TEXT NOT NULL,              -- as sent: YYYYMMDDHHMMSS, UTC
    txn_day      TEXT NOT NULL,              -- YYYY-MM-DD of txn_date, for verify and registries
    created_at   TEXT NOT NULL,
    UNIQUE (contract_id, txn_id)
);
CREATE INDEX payments_by_day ON payments (txn_day);

-- Every movement of a subscriber's balance; amount is signed (usage < 0 < payment).
CREATE TABLE transactions (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id),
    kind           TEXT NOT NULL CHECK (kind IN ('usage', 'payment')),
    service        TEXT,
    quantity       INTEGER,
    unit_price     INTEGER,
    amount         INTEGER NOT NULL,
    balance_after  INTEGER NOT NULL,
    payment_id     INTEGER REFERENCES payments (id),
    created_at     TEXT NOT NULL
);
CREATE INDEX transactions_by_subscriber ON transactions (subscriber_id, created_at);
CREATE INDEX transactions_by_time ON transactions (created_at);

-- Every check and pay that reached the gateway, whatever its outcome.
CREATE TABLE gateway_log (
    id           INTEGER PRIMARY KEY,
    contract_id  INTEGER REFERENCES processing_contracts (id),
    protocol     TEXT NOT NULL,
    command      TEXT NOT NULL,
    txn_id       TEXT,
    account      TEXT,
    sum          TEXT,
    result       INTEGER NOT NULL,
    prv_txn      INTEGER,
    comment      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX gateway_log_by_time ON gateway_log (created_at);

-- Provider-wide switches (e.g. payments paused for maintenance).
INSERT INTO participant (key, value) VALUES ('payments', 'open');
