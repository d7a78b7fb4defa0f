-- Run history (engine/cycle): one row per step of a sync cycle and the
-- connector it ran against, with its counts and times, so that the console
-- and `hybridsync sync` show what each import, sync, write-back and export
-- did without reading the job's log.
--
-- job_id is the cycle's job (jobs.id) and position its step there
-- (job_steps.position). connector is the forest for an import or a
-- write-back, the tenant for an export or a review, '' for the metaverse
-- sync. step: full import, delta import, full sync, delta sync, write-back,
-- export, review. status: running, succeeded, completed-with-errors, staged,
-- stopped-deletion-threshold-exceeded, failed, interrupted. processed counts
-- what the step went through (entries read, objects evaluated, changes
-- considered); adds, updates, deletes and memberships what it changed (an
-- export's adds include matches); errors what it could not do. note is a
-- line for people: the domains and DCs read, why a full import ran, the
-- error of a failed step.
CREATE TABLE run_steps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    connector   TEXT NOT NULL,
    step        TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    status      TEXT NOT NULL,
    processed   INTEGER NOT NULL,
    adds        INTEGER NOT NULL,
    updates     INTEGER NOT NULL,
    deletes     INTEGER NOT NULL,
    memberships INTEGER NOT NULL,
    errors      INTEGER NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX run_steps_job ON run_steps(job_id, position);
CREATE INDEX run_steps_connector ON run_steps(connector, started_at);
