-- Export to the tenant (engine/export): what each exported object is in the
-- tenant, the sync errors the cloud's uniqueness rules gave, the deletion
-- guard and its one-shot allowance, and one row per export run.

-- One row per object hybridsync created, matched or updated in the tenant, by
-- its key (the sourceAnchor). cloud_id is '' while a create was sent but not
-- yet confirmed (create_started_at > 0): a re-run looks such an object up in
-- the tenant before creating it again. attrs is JSON: the attributes as last
-- confirmed by Graph (name → values).
CREATE TABLE export_objects (
    object_key        TEXT NOT NULL PRIMARY KEY,
    kind              TEXT NOT NULL,
    cloud_id          TEXT NOT NULL,
    attrs             TEXT NOT NULL,
    lookup            TEXT NOT NULL,
    create_started_at INTEGER NOT NULL,
    exported_at       INTEGER NOT NULL
);
CREATE INDEX export_objects_cloud_id ON export_objects(cloud_id);

-- A value the cloud refused because another object holds it (duplicate
-- userPrincipalName or proxy address), as Entra's sync errors list it. One
-- open row (resolved_at = 0) per object and attribute.
CREATE TABLE export_errors (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    object_key  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    attribute   TEXT NOT NULL,
    value       TEXT NOT NULL,
    holder_id   TEXT NOT NULL,
    holder      TEXT NOT NULL,
    message     TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    resolved_at INTEGER NOT NULL
);
CREATE INDEX export_errors_object ON export_errors(object_key, attribute);
CREATE INDEX export_errors_open ON export_errors(resolved_at, last_seen);

-- The deletion guard: one row (id 1) or none (the default: on, 500).
-- percent 0 means no percentage limit. allow_deletes > 0 lets the next export
-- delete up to that many objects once, whatever the threshold.
CREATE TABLE export_guard (
    id            INTEGER NOT NULL PRIMARY KEY,
    enabled       INTEGER NOT NULL,
    threshold     INTEGER NOT NULL,
    percent       INTEGER NOT NULL,
    allow_deletes INTEGER NOT NULL,
    allow_by      TEXT NOT NULL,
    allow_at      INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT NOT NULL
);

-- One row per export run. status: running, success, completed-with-errors,
-- stopped-deletion-threshold-exceeded, staged, failed. pending_deletes is JSON:
-- the deletes a stopped run did not make.
CREATE TABLE export_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL,
    status          TEXT NOT NULL,
    staging         INTEGER NOT NULL,
    adds            INTEGER NOT NULL,
    updates         INTEGER NOT NULL,
    deletes         INTEGER NOT NULL,
    memberships     INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    writes          INTEGER NOT NULL,
    throttled_ms    INTEGER NOT NULL,
    pending_deletes TEXT NOT NULL,
    message         TEXT NOT NULL
);
CREATE INDEX export_runs_started ON export_runs(started_at);
