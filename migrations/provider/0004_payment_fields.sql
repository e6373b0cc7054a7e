-- Payment fields (wire.md "Provider", `fields`): what a processing contract asks of the
-- payer besides the money, and the values each payment carried.
--
-- `processing_contracts.fields` is the JSON array of field definitions issued with the
-- contract ([{"name","label","regex",…}], `account` first). '[]' marks a contract signed
-- before fields existed: it keeps the one `account` field of the provider's kind (the
-- kind is a start flag, not data, so the default is applied when the row is read).
ALTER TABLE processing_contracts ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';

-- The values of the fields after `account`, as a JSON object ({"city":"Пермь"}); '{}'
-- when the contract has none. Part of the payment: a repeated pay must carry the same.
ALTER TABLE payments ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
