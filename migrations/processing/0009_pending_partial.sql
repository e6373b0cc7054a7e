-- The payments waiting for their provider, and only those. The index this replaces,
-- (status, next_attempt_at) over every payment, took an entry for each payment at its
-- reservation and another at its settlement, and grew by one for every payment ever made;
-- every reader of it asks for status = 'pending' (the retrier's due payments, the
-- dashboard's count and oldest, the ledger check), so a partial index answers them all,
-- stays as small as the payments in flight, and a settled payment leaves it. Queries by
-- another status (today's completed turnover) go by payments_by_time.
DROP INDEX payments_pending;
CREATE INDEX payments_pending ON payments (next_attempt_at) WHERE status = 'pending';
