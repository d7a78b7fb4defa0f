-- Run history, SQL Server dialect: the same table and columns as
-- sqlite/006_run_history.sql (a test compares them). Differences, and why:
--   NVARCHAR(450) for connector, indexed (an index key may be at most 900
--     bytes; NVARCHAR(MAX) cannot be indexed); NVARCHAR(64) for step and
--     status, which are short words;
--   NVARCHAR(MAX) for note (never indexed);
--   BIGINT for ids, counts and Unix-millisecond times, IDENTITY for id.

CREATE TABLE run_steps (
    id          BIGINT IDENTITY(1,1) PRIMARY KEY,
    job_id      BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    connector   NVARCHAR(450) NOT NULL,
    step        NVARCHAR(64) NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    status      NVARCHAR(64) NOT NULL,
    processed   BIGINT NOT NULL,
    adds        BIGINT NOT NULL,
    updates     BIGINT NOT NULL,
    deletes     BIGINT NOT NULL,
    memberships BIGINT NOT NULL,
    errors      BIGINT NOT NULL,
    note        NVARCHAR(MAX) NOT NULL
);
CREATE INDEX run_steps_job ON run_steps(job_id, position);
CREATE INDEX run_steps_connector ON run_steps(connector, started_at);
