-- Export to the tenant, SQL Server dialect: the same tables and columns as
-- sqlite/005_export.sql (a test compares them). Differences, and why:
--   NVARCHAR(450) for object_key and cloud_id, which are keys or indexed (an
--     index key may be at most 900 bytes; NVARCHAR(MAX) cannot be indexed);
--     attribute NVARCHAR(256), indexed beside object_key (1,412 bytes, within
--     the 1,700-byte key of a nonclustered index, SQL Server 2016 and later);
--   NVARCHAR(MAX) for values, JSON and messages (never indexed);
--   BIGINT for counts, flags and Unix-millisecond times, IDENTITY for ids.

CREATE TABLE export_objects (
    object_key        NVARCHAR(450) NOT NULL PRIMARY KEY,
    kind              NVARCHAR(32) NOT NULL,
    cloud_id          NVARCHAR(450) NOT NULL,
    attrs             NVARCHAR(MAX) NOT NULL,
    lookup            NVARCHAR(MAX) NOT NULL,
    create_started_at BIGINT NOT NULL,
    exported_at       BIGINT NOT NULL
);
CREATE INDEX export_objects_cloud_id ON export_objects(cloud_id);

CREATE TABLE export_errors (
    id          BIGINT IDENTITY(1,1) PRIMARY KEY,
    object_key  NVARCHAR(450) NOT NULL,
    kind        NVARCHAR(32) NOT NULL,
    source      NVARCHAR(MAX) NOT NULL,
    attribute   NVARCHAR(256) NOT NULL,
    value       NVARCHAR(MAX) NOT NULL,
    holder_id   NVARCHAR(450) NOT NULL,
    holder      NVARCHAR(MAX) NOT NULL,
    message     NVARCHAR(MAX) NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    resolved_at BIGINT NOT NULL
);
CREATE INDEX export_errors_object ON export_errors(object_key, attribute);
CREATE INDEX export_errors_open ON export_errors(resolved_at, last_seen);

CREATE TABLE export_guard (
    id            BIGINT NOT NULL PRIMARY KEY,
    enabled       BIGINT NOT NULL,
    threshold     BIGINT NOT NULL,
    percent       BIGINT NOT NULL,
    allow_deletes BIGINT NOT NULL,
    allow_by      NVARCHAR(256) NOT NULL,
    allow_at      BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    updated_by    NVARCHAR(256) NOT NULL
);

CREATE TABLE export_runs (
    id              BIGINT IDENTITY(1,1) PRIMARY KEY,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT NOT NULL,
    status          NVARCHAR(64) NOT NULL,
    staging         BIGINT NOT NULL,
    adds            BIGINT NOT NULL,
    updates         BIGINT NOT NULL,
    deletes         BIGINT NOT NULL,
    memberships     BIGINT NOT NULL,
    errors          BIGINT NOT NULL,
    writes          BIGINT NOT NULL,
    throttled_ms    BIGINT NOT NULL,
    pending_deletes NVARCHAR(MAX) NOT NULL,
    message         NVARCHAR(MAX) NOT NULL
);
CREATE INDEX export_runs_started ON export_runs(started_at);
