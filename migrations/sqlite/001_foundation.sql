-- The console's foundation: settings, local accounts and their sync groups,
-- server-side sessions, the wizard's progress, configurations, and jobs.
-- Times are Unix milliseconds (INTEGER) so both dialects scan them the same way.

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL
);

CREATE TABLE sync_groups (
    role       TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    updated_at INTEGER NOT NULL
);

CREATE TABLE group_members (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    role       TEXT NOT NULL,
    added_at   INTEGER NOT NULL,
    added_by   TEXT NOT NULL,
    PRIMARY KEY (account_id, role)
);

CREATE TABLE sessions (
    id_hash      TEXT NOT NULL PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE wizard_state (
    id         INTEGER NOT NULL PRIMARY KEY,
    page       TEXT NOT NULL,
    answers    TEXT NOT NULL,
    done_pages TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE configurations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    install_id TEXT NOT NULL,
    answers    TEXT NOT NULL,
    active     INTEGER NOT NULL,
    applied_at INTEGER NOT NULL,
    applied_by TEXT NOT NULL,
    job_id     INTEGER NOT NULL
);
CREATE INDEX configurations_active ON configurations(active);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    params      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    error       TEXT NOT NULL,
    retry_of    INTEGER NOT NULL
);
CREATE INDEX jobs_status ON jobs(status);

CREATE TABLE job_steps (
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    detail      TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
);

CREATE TABLE job_events (
    job_id   INTEGER NOT NULL REFERENCES jobs(id),
    seq      INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    step     INTEGER NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
