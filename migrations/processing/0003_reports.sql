-- Reports and registries select payments by the day they were accepted (the day the
-- provider receives as txn_date), so that both sides of a registry count the same day.
CREATE INDEX payments_by_accepted ON payments (accepted_at);
