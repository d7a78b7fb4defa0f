-- The audit trail, SQL Server dialect: the same table, columns, indexes and
-- append-only rule as sqlite/013_audit.sql (a test compares them).
-- Differences, and why:
--   BIGINT IDENTITY for id, BIGINT for the Unix-millisecond time;
--   NVARCHAR(256) for actor and NVARCHAR(64) for action, both indexed (an
--     index key may be at most 900 bytes); NVARCHAR(64) for client (an IPv6
--     address with its zone fits) and NVARCHAR(32) for outcome, short words;
--   NVARCHAR(MAX) for target and detail (never indexed);
--   one INSTEAD OF trigger for UPDATE and DELETE that raises an error, where
--     SQLite has a BEFORE trigger for each. THROW ends the statement and rolls
--     back its transaction, so nothing is changed. A table with a trigger
--     takes no INSERT … OUTPUT without INTO, so the store appends with a plain
--     INSERT.
CREATE TABLE audit_events (
    id      BIGINT IDENTITY(1,1) PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   NVARCHAR(256) NOT NULL,
    client  NVARCHAR(64) NOT NULL,
    action  NVARCHAR(64) NOT NULL,
    target  NVARCHAR(MAX) NOT NULL,
    outcome NVARCHAR(32) NOT NULL,
    detail  NVARCHAR(MAX) NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_action ON audit_events(action, at);
CREATE INDEX audit_events_actor ON audit_events(actor, at);
-- Each trigger stays on one line: migrations are split at semicolons that end
-- a line, and CREATE TRIGGER must be alone in its batch (each statement is
-- sent on its own).
CREATE TRIGGER audit_events_append_only ON audit_events INSTEAD OF UPDATE, DELETE AS BEGIN THROW 51000, 'audit events are append-only', 1; END;
