-- Outcomes, SQL Server dialect: the same tables, columns and updates as
-- sqlite/011_outcomes.sql (a test compares them). Differences, and why:
--   NVARCHAR(400) for job_problems.name, part of the primary key with the
--     8-byte job_id (an index key may be at most 900 bytes); the console
--     keeps problem names far shorter;
--   NVARCHAR(450) for conditions.name, its primary key;
--   NVARCHAR(16) for level, a short word; NVARCHAR(MAX) for the texts;
--   BIGINT for ids, counts and Unix-millisecond times.

CREATE TABLE job_problems (
    job_id  BIGINT NOT NULL,
    name    NVARCHAR(400) NOT NULL,
    step    BIGINT NOT NULL,
    level   NVARCHAR(16) NOT NULL,
    message NVARCHAR(MAX) NOT NULL,
    action  NVARCHAR(MAX) NOT NULL,
    times   BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, name)
);

CREATE TABLE conditions (
    name        NVARCHAR(450) NOT NULL PRIMARY KEY,
    level       NVARCHAR(16) NOT NULL,
    message     NVARCHAR(MAX) NOT NULL,
    action      NVARCHAR(MAX) NOT NULL,
    fingerprint NVARCHAR(MAX) NOT NULL,
    since       BIGINT NOT NULL,
    seen        BIGINT NOT NULL,
    job_id      BIGINT NOT NULL
);

UPDATE export_runs SET status = 'succeeded' WHERE status IN ('success', 'staged');
UPDATE export_runs SET status = 'stopped' WHERE status = 'stopped-deletion-threshold-exceeded';
UPDATE run_steps SET status = 'succeeded' WHERE status = 'staged';
UPDATE run_steps SET status = 'stopped' WHERE status = 'stopped-deletion-threshold-exceeded';
UPDATE job_steps SET status = 'stopped' WHERE status = 'failed' AND detail LIKE 'stopped-deletion-threshold-exceeded%';
UPDATE jobs SET status = 'stopped' WHERE status = 'failed' AND error LIKE '%stopped-deletion-threshold-exceeded%';
