-- A reservation is the pending payment itself: an agent's `reserved` is the sum of
-- amount + processing_fee over its pending payments, and the ledger check compares the
-- two. The table this drops held one row per pending payment with the same amount, written
-- at the reservation and deleted at the settlement: two statements, and a table and its
-- pages rewritten in every group commit, on every payment's path, for nothing the payment
-- row does not say already (docs/performance.md, the seventeenth step).
DROP TABLE reservations;
