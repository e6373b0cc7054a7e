-- An agent contract's status: `active`, or `suspended` by the processing center (its API
-- answers 403 agent_suspended; payments it already made still settle). The older `active`
-- flag was never switched off by anything; a contract that had it off starts suspended,
-- and both columns are written together from now on.
ALTER TABLE agents ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended'));
UPDATE agents SET status = 'suspended' WHERE active = 0;
