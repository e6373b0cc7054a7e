-- The clearing center: provider and agent contracts, payments with their two-phase
-- reservations, and a double-entry ledger. Money columns are integer kopecks.

CREATE TABLE providers (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    service_kind  TEXT NOT NULL,
    endpoint_url  TEXT NOT NULL,
    protocol      TEXT NOT NULL CHECK (protocol IN ('osmp', 'json')),
    login         TEXT NOT NULL,
    -- Kept in clear for outbound Basic auth; never sent back by the API (the file is 0600).
    password      TEXT NOT NULL,
    fields        TEXT NOT NULL,            -- JSON: [{"name","label","regex"}]
    min_amount    INTEGER NOT NULL CHECK (min_amount > 0),
    max_amount    INTEGER NOT NULL CHECK (max_amount >= min_amount),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE agents (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    contract_number  TEXT NOT NULL UNIQUE,
    login            TEXT NOT NULL UNIQUE,
    fee_percent_bp   INTEGER NOT NULL,
    fee_fixed        INTEGER NOT NULL,
    fee_min          INTEGER NOT NULL,
    fee_max          INTEGER,
    active           INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL
);

-- Ledger accounts: agent:<id> (the agent's deposit), provider:<id> (owed to the
-- provider), fees (fee revenue), topups (money that came in from outside). Balances are
-- signed; every entry's postings sum to zero, so all balances sum to zero.
-- `reserved` is used on agent accounts: money held for pending payments.
CREATE TABLE ledger_accounts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('agent', 'provider', 'fees', 'topups')),
    owner_id    INTEGER,
    balance     INTEGER NOT NULL DEFAULT 0,
    reserved    INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);
INSERT INTO ledger_accounts (id, kind) VALUES ('fees', 'fees'), ('topups', 'topups');

CREATE TABLE ledger_entries (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('topup', 'payment')),
    reference   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, reference)
);

CREATE TABLE ledger_postings (
    id          INTEGER PRIMARY KEY,
    entry_id    INTEGER NOT NULL REFERENCES ledger_entries (id),
    account_id  TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount      INTEGER NOT NULL
);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account_id);

-- A top-up of an agent's deposit, unique by the operator's reference.
CREATE TABLE topups (
    id          INTEGER PRIMARY KEY,
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    reference   TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    created_at  TEXT NOT NULL,
    UNIQUE (agent_id, reference)
);

-- A payment: its id is the txn_id sent to the provider.
CREATE TABLE payments (
    id               INTEGER PRIMARY KEY,
    agent_id         INTEGER NOT NULL REFERENCES agents (id),
    agent_txn_id     TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    provider_id      INTEGER NOT NULL REFERENCES providers (id),
    account          TEXT NOT NULL,
    cash             INTEGER NOT NULL,
    agent_fee        INTEGER NOT NULL,
    amount           INTEGER NOT NULL,
    processing_fee   INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'rejected')),
    result           INTEGER,
    message          TEXT,
    prv_txn          TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_answer      TEXT,
    accepted_at      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (agent_id, agent_txn_id)
);
CREATE INDEX payments_pending ON payments (status, next_attempt_at);
CREATE INDEX payments_by_time ON payments (created_at);

-- Money held for a pending payment; exists exactly while the payment is pending.
CREATE TABLE reservations (
    payment_id  INTEGER PRIMARY KEY REFERENCES payments (id),
    account_id  TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    created_at  TEXT NOT NULL
);
