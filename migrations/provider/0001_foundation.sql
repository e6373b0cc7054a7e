-- Logins of every realm whose members are created by contracts (subscribers, processing
-- centers, agents). Passwords are argon2id PHC strings; a revoked login stays for history.
CREATE TABLE credentials (
    realm         TEXT NOT NULL,
    login         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    subject       TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    revoked_at    TEXT,
    PRIMARY KEY (realm, login)
);

-- Facts about this participant that outlive a process: when it was set up, its name.
CREATE TABLE participant (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO participant (key, value) VALUES ('created_at', CURRENT_TIMESTAMP);
