-- Payment fields beyond the account (issue #14): the provider's other fields by name, as
-- a JSON object ({"city": "Пермь"}), kept with the check that vouched for them, the
-- session they were typed in and the payment that carries them to processing.
ALTER TABLE checks ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE payments ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
