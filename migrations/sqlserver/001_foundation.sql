-- The console's foundation, SQL Server dialect: the same tables and columns as
-- sqlite/001_foundation.sql (a test compares them). Differences, and why:
--   NVARCHAR(450) for keys and unique columns: an index key may be at most 900 bytes,
--     and NVARCHAR(MAX) cannot be indexed at all;
--   NVARCHAR(MAX) for free text and JSON;
--   BIGINT for Unix-millisecond times and ids, IDENTITY for generated ids;
--   foreign keys without ON DELETE CASCADE, as in SQLite: the store deletes
--     children itself, in the same transaction, in both dialects.

CREATE TABLE settings (
    name  NVARCHAR(450) NOT NULL PRIMARY KEY,
    value NVARCHAR(MAX) NOT NULL
);

CREATE TABLE accounts (
    id            BIGINT IDENTITY(1,1) PRIMARY KEY,
    username      NVARCHAR(256) NOT NULL UNIQUE,
    display_name  NVARCHAR(256) NOT NULL,
    password_hash NVARCHAR(512) NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    NVARCHAR(256) NOT NULL
);

CREATE TABLE sync_groups (
    role       NVARCHAR(64) NOT NULL PRIMARY KEY,
    name       NVARCHAR(256) NOT NULL UNIQUE,
    updated_at BIGINT NOT NULL
);

CREATE TABLE group_members (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    role       NVARCHAR(64) NOT NULL,
    added_at   BIGINT NOT NULL,
    added_by   NVARCHAR(256) NOT NULL,
    PRIMARY KEY (account_id, role)
);

CREATE TABLE sessions (
    id_hash      NVARCHAR(128) NOT NULL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE wizard_state (
    id         BIGINT NOT NULL PRIMARY KEY,
    page       NVARCHAR(64) NOT NULL,
    answers    NVARCHAR(MAX) NOT NULL,
    done_pages NVARCHAR(MAX) NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by NVARCHAR(256) NOT NULL
);

CREATE TABLE configurations (
    id         BIGINT IDENTITY(1,1) PRIMARY KEY,
    install_id NVARCHAR(64) NOT NULL,
    answers    NVARCHAR(MAX) NOT NULL,
    active     BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    applied_by NVARCHAR(256) NOT NULL,
    job_id     BIGINT NOT NULL
);
CREATE INDEX configurations_active ON configurations(active);

CREATE TABLE jobs (
    id          BIGINT IDENTITY(1,1) PRIMARY KEY,
    kind        NVARCHAR(64) NOT NULL,
    status      NVARCHAR(32) NOT NULL,
    params      NVARCHAR(MAX) NOT NULL,
    created_by  NVARCHAR(256) NOT NULL,
    created_at  BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    error       NVARCHAR(MAX) NOT NULL,
    retry_of    BIGINT NOT NULL
);
CREATE INDEX jobs_status ON jobs(status);

CREATE TABLE job_steps (
    job_id      BIGINT NOT NULL REFERENCES jobs(id),
    position    BIGINT NOT NULL,
    name        NVARCHAR(256) NOT NULL,
    status      NVARCHAR(32) NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    detail      NVARCHAR(MAX) NOT NULL,
    PRIMARY KEY (job_id, position)
);

CREATE TABLE job_events (
    job_id   BIGINT NOT NULL REFERENCES jobs(id),
    seq      BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    kind     NVARCHAR(32) NOT NULL,
    step     BIGINT NOT NULL,
    level    NVARCHAR(16) NOT NULL,
    message  NVARCHAR(MAX) NOT NULL,
    PRIMARY KEY (job_id, seq)
);
