-- The audit trail (engine/store/audit.go): one row for every state-changing
-- action, whoever took it — sign-ins that worked and that failed, account and
-- group changes, each Configure with what it changed, schedule and deletion
-- guard changes, allow-once, sync runs started by hand, settings imports.
--
-- at is when (Unix milliseconds); actor the account's username (empty for a
-- stranger), or "cli:<os user>" for the hybridsync command on the data folder;
-- client the address it came from ("local" for the command line); action what
-- was done (engine/audit names them); target what it was done to; outcome
-- succeeded, failed, refused, started, or a Configure job's own status;
-- detail the rest, in words or as JSON (a configuration's changes). Nothing
-- secret is ever written here.
CREATE TABLE audit_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    client  TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_action ON audit_events(action, at);
CREATE INDEX audit_events_actor ON audit_events(actor, at);

-- Append-only: the store refuses to change or remove a row once written, so
-- that whoever can run SQL through the console can't rewrite history. (Whoever
-- holds the data folder can, as they can everything else: that is the trust
-- boundary, README "Security".) Each trigger stays on one line: migrations are
-- split at semicolons that end a line.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
