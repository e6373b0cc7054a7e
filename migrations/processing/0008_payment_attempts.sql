-- Every pay processing sent to a provider for a payment, with what came back (issue #19's
-- payment detail): when it was sent and answered, the provider's result code, comment and
-- transaction id, or why no answer counted (the transport error, an answer that did not
-- match the request). A row is written in the transaction that settles or reschedules the
-- payment by that answer, so it exists exactly when its outcome was recorded.
CREATE TABLE payment_attempts (
    id               INTEGER PRIMARY KEY,
    payment_id       INTEGER NOT NULL REFERENCES payments (id),
    -- 1, 2, … as payments.attempts counted it when this attempt was made.
    attempt          INTEGER NOT NULL,
    command          TEXT NOT NULL CHECK (command IN ('check', 'pay')),
    sent_at          TEXT NOT NULL,
    answered_at      TEXT NOT NULL,
    -- The provider's result code; NULL when no answer counted (see `error`).
    result           INTEGER,
    message          TEXT,
    prv_txn          TEXT,
    error            TEXT,
    -- When the payment was to be tried again after this attempt; NULL once settled. The
    -- operator's "retry now" compares it with the payment's own next_attempt_at: equal
    -- means the payment is waiting out its backoff, not held by a running attempt.
    next_attempt_at  TEXT
);
CREATE INDEX payment_attempts_by_payment ON payment_attempts (payment_id, id);

-- The payment detail lists the audit entries naming one object ("payment 7").
CREATE INDEX audit_log_by_object ON audit_log (object, id);
