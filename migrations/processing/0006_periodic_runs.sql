-- One row per periodic job and period (issue #15): the process that inserts it runs the
-- job for that period; every other process serving the same database finds the row and
-- skips. Old rows are deleted by the claim itself.
CREATE TABLE periodic_runs (
    job         TEXT NOT NULL,
    period      INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    PRIMARY KEY (job, period)
);
