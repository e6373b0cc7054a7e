-- Cash the customer gave that did not become a credited payment, and the terminal's cash
-- box (issue #14). Money columns are integer kopecks.

-- A session holding cash whose page went away: the sweep closes it for the kiosk (no more
-- bills, no pay) and lists its cash as unresolved. `status` stays 'open' (its CHECK
-- predates this); an abandoned session is one with `abandoned_at` set.
ALTER TABLE sessions ADD COLUMN abandoned_at TEXT;

-- One claim per piece of unresolved cash: a failed or rejected payment, an abandoned
-- session, or an unassigned bill — exactly one of the three origins. The claim code is
-- what the receipt shows and the customer reads out (K-4821-73). A claim is resolved once:
-- `resolution` goes from NULL to one value, guarded in SQL by `WHERE resolution IS NULL`.
CREATE TABLE cash_claims (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    payment_id        INTEGER UNIQUE REFERENCES payments (id),
    session_id        INTEGER UNIQUE REFERENCES sessions (id),
    bill_event_id     TEXT UNIQUE REFERENCES bills (event_id),
    cash              INTEGER NOT NULL CHECK (cash > 0),
    opened_at         TEXT NOT NULL,
    resolution        TEXT CHECK (resolution IN ('paid_again', 'refunded', 'written_off')),
    resolved_by       TEXT,
    resolved_at       TEXT,
    reason            TEXT,
    -- With 'paid_again': the new payment that carries this cash.
    new_payment_id    INTEGER UNIQUE REFERENCES payments (id),
    CHECK ((payment_id IS NOT NULL) + (session_id IS NOT NULL) + (bill_event_id IS NOT NULL) = 1),
    CHECK ((resolution IS NULL) = (resolved_at IS NULL) AND (resolution IS NULL) = (resolved_by IS NULL)),
    CHECK ((resolution = 'paid_again') = (new_payment_id IS NOT NULL)),
    CHECK (resolution IS NOT 'written_off' OR length(reason) > 0)
);
CREATE INDEX cash_claims_open ON cash_claims (resolution, opened_at);

-- A collection of the cash box (инкассация): who took the cassette, when, what they
-- counted, and what the stacked bills said it held.
CREATE TABLE encashments (
    id            INTEGER PRIMARY KEY,
    collected_by  TEXT NOT NULL,
    collected_at  TEXT NOT NULL,
    bill_count    INTEGER NOT NULL CHECK (bill_count >= 0),
    expected      INTEGER NOT NULL CHECK (expected >= 0),
    counted       INTEGER NOT NULL CHECK (counted >= 0),
    -- The cash of the sessions whose bills it covers (paid sessions by their payment).
    sessions_cash INTEGER NOT NULL,
    note          TEXT
);

-- The collection a stacked bill left the terminal with; NULL: still in the box.
ALTER TABLE bills ADD COLUMN encashment_id INTEGER REFERENCES encashments (id);
CREATE INDEX bills_in_box ON bills (encashment_id);
