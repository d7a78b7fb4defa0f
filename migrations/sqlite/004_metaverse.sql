-- The metaverse (engine/metaverse): one row per joined identity bound for the
-- tenant, the fate of every connector-space object the sync saw (its join and
-- its trace through the rules), what the export last confirmed per object
-- (attributes and group memberships), and the pending exports.

-- One row per metaverse object. attrs is JSON (Graph property → values),
-- members JSON (a group's member keys), sources JSON ([{connector, anchor}],
-- the primary first). upn_key and mail_key are lower case, for the helpdesk's
-- lookups ('' when absent).
CREATE TABLE mv_objects (
    mv_key       TEXT NOT NULL PRIMARY KEY,
    kind         TEXT NOT NULL,
    upn_key      TEXT NOT NULL,
    mail_key     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    source       TEXT NOT NULL,
    attrs        TEXT NOT NULL,
    members      TEXT NOT NULL,
    sources      TEXT NOT NULL,
    synced_at    INTEGER NOT NULL
);
CREATE INDEX mv_objects_upn ON mv_objects(upn_key);
CREATE INDEX mv_objects_mail ON mv_objects(mail_key);

-- One row per connector-space object the sync evaluated: the metaverse object
-- it projected to or joined (mv_key, '' when not synced), why (reason), and
-- its path through the rules (trace, JSON). dn_key is the DN in lower case.
CREATE TABLE mv_joins (
    connector TEXT NOT NULL,
    anchor    TEXT NOT NULL,
    dn        TEXT NOT NULL,
    dn_key    TEXT NOT NULL,
    mv_key    TEXT NOT NULL,
    synced    INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    trace     TEXT NOT NULL,
    PRIMARY KEY (connector, anchor)
);
CREATE INDEX mv_joins_key ON mv_joins(mv_key);
CREATE INDEX mv_joins_dn ON mv_joins(dn_key);

-- What the export confirmed, per metaverse key: the cloud id and the
-- attributes (JSON) as they were exported; the next sync diffs against it.
CREATE TABLE mv_exported (
    mv_key      TEXT NOT NULL PRIMARY KEY,
    kind        TEXT NOT NULL,
    cloud_id    TEXT NOT NULL,
    source      TEXT NOT NULL,
    attrs       TEXT NOT NULL,
    exported_at INTEGER NOT NULL
);
CREATE INDEX mv_exported_cloud_id ON mv_exported(cloud_id);

-- A group's memberships the export confirmed, one row each: a membership
-- change touches one row, never the whole list.
CREATE TABLE mv_exported_members (
    group_key  TEXT NOT NULL,
    member_key TEXT NOT NULL,
    PRIMARY KEY (group_key, member_key)
);
CREATE INDEX mv_exported_members_member ON mv_exported_members(member_key);

-- The pending exports: metaverse.Change as JSON (change), at most one per key
-- and operation (a key that changed kind has a delete and an add). ord is the
-- order the export needs (objects before the groups listing them, …);
-- attr_count and member_count size the change for the staging review.
CREATE TABLE mv_pending (
    mv_key       TEXT NOT NULL,
    op           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ord          INTEGER NOT NULL,
    source       TEXT NOT NULL,
    attr_count   INTEGER NOT NULL,
    member_count INTEGER NOT NULL,
    change       TEXT NOT NULL,
    computed_at  INTEGER NOT NULL,
    PRIMARY KEY (mv_key, op)
);
CREATE INDEX mv_pending_order ON mv_pending(ord, mv_key);
CREATE INDEX mv_pending_op ON mv_pending(op, kind);
