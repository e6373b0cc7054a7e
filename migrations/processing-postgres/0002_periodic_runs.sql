-- One row per periodic job and period: the process that inserts it runs the job for that
-- period; every other process serving the same database finds the row and skips.
CREATE TABLE periodic_runs (
    job         TEXT NOT NULL,
    period      BIGINT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job, period)
);
