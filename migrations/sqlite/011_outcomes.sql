-- Outcomes that tell the truth (engine/outcome): every job, step, cycle and
-- export ends succeeded, succeeded-with-warnings, completed-with-errors,
-- stopped, failed or interrupted, and the warnings and errors it met are
-- kept apart from its log, each once, with what to do.
--
-- job_problems: the problems a job met. name identifies a problem within
-- its job (the same problem met again counts, it is not listed again); step is
-- the job step's position (0: the job itself); level is warn or error;
-- action says what to do about it; times how often it was met; first_at when it
-- was first met (Unix milliseconds).
CREATE TABLE job_problems (
    job_id  INTEGER NOT NULL,
    name    TEXT NOT NULL,
    step    INTEGER NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    action  TEXT NOT NULL,
    times   INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, name)
);

-- conditions: what stays true between runs until something changes it (a
-- right the connector account lacks, changes Graph can't make): said once,
-- by the job that first met it, and shown on the Overview until it clears.
-- name names it; fingerprint is what it was when last said (a changed
-- fingerprint is said again); since and seen are when it was first and
-- last met, job_id the job that last said it.
CREATE TABLE conditions (
    name        TEXT NOT NULL PRIMARY KEY,
    level       TEXT NOT NULL,
    message     TEXT NOT NULL,
    action      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    since       INTEGER NOT NULL,
    seen        INTEGER NOT NULL,
    job_id      INTEGER NOT NULL
);

-- The words of earlier versions, in the six outcomes.
UPDATE export_runs SET status = 'succeeded' WHERE status IN ('success', 'staged');
UPDATE export_runs SET status = 'stopped' WHERE status = 'stopped-deletion-threshold-exceeded';
UPDATE run_steps SET status = 'succeeded' WHERE status = 'staged';
UPDATE run_steps SET status = 'stopped' WHERE status = 'stopped-deletion-threshold-exceeded';
UPDATE job_steps SET status = 'stopped' WHERE status = 'failed' AND detail LIKE 'stopped-deletion-threshold-exceeded%';
UPDATE jobs SET status = 'stopped' WHERE status = 'failed' AND error LIKE '%stopped-deletion-threshold-exceeded%';
