-- The outbox of e-mails to subscribers (reports). A letter is stored whole, attachment
-- included, before anyone tries to send it: a failed send stays here with its error and
-- is tried again later, so no e-mail is lost silently, and a retry sends the same bytes.
CREATE TABLE outgoing_mail (
    id               INTEGER PRIMARY KEY,
    subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id),
    recipient_name   TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    attachment_name  TEXT NOT NULL,
    attachment       BLOB NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  TEXT,                   -- set while queued
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outgoing_mail_due ON outgoing_mail (status, next_attempt_at);
