-- The values of a payment's fields after `account` (wire.md `extra`), as a JSON object
-- ({"city":"Пермь"}); '{}' when the provider has none. The retrier sends them with every
-- attempt, so they are stored with the payment, not only passed through.
ALTER TABLE payments ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
