-- The connector spaces: per forest (connector), what the last import read from
-- Active Directory, with each object's scope decision and its reason; group
-- memberships by reference, one row per membership; and per domain partition
-- the delta watermark (DirSync cookie) with the DC it came from.
-- Lookup keys (dn_key, member_key) are the first 32 hex digits of the SHA-256
-- of the lower-cased DN: fixed width in both dialects whatever the DN's length.
-- sam_lower, upn_lower and mail_lower are lower-cased (and cut to 256
-- characters) for the helpdesk's case-insensitive lookups in both dialects.

CREATE TABLE cs_objects (
    connector   TEXT NOT NULL,
    anchor      TEXT NOT NULL,
    partition   TEXT NOT NULL,
    dn          TEXT NOT NULL,
    dn_key      TEXT NOT NULL,
    class       TEXT NOT NULL,
    sam_lower   TEXT NOT NULL,
    upn_lower   TEXT NOT NULL,
    mail_lower  TEXT NOT NULL,
    attrs       TEXT NOT NULL,
    usn         INTEGER NOT NULL,
    in_scope    INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    deleted     INTEGER NOT NULL,
    digest      TEXT NOT NULL,
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (connector, anchor)
);
CREATE INDEX cs_objects_dn ON cs_objects(dn_key);
CREATE INDEX cs_objects_sam ON cs_objects(sam_lower);
CREATE INDEX cs_objects_upn ON cs_objects(upn_lower);
CREATE INDEX cs_objects_mail ON cs_objects(mail_lower);
CREATE INDEX cs_objects_partition ON cs_objects(connector, partition);

-- One row per direct membership: member_dn as the DC returned it.
CREATE TABLE cs_members (
    connector    TEXT NOT NULL,
    group_anchor TEXT NOT NULL,
    member_key   TEXT NOT NULL,
    member_dn    TEXT NOT NULL,
    PRIMARY KEY (connector, group_anchor, member_key)
);
CREATE INDEX cs_members_member ON cs_members(connector, member_key);

-- Per connector: whether the next import must be full (a configuration change),
-- and when the last full and delta imports finished.
CREATE TABLE cs_connectors (
    connector     TEXT NOT NULL PRIMARY KEY,
    needs_full    INTEGER NOT NULL,
    needs_reason  TEXT NOT NULL,
    last_full_at  INTEGER NOT NULL,
    last_delta_at INTEGER NOT NULL
);

-- Per connector and domain partition (the domain's DN): the DC the watermark
-- came from, how deltas are read (dirsync, dirsync-object-security), the
-- watermark itself (a base64 DirSync cookie), and the fingerprint of what the
-- import was asked for (filters, attributes): a change means a full import.
CREATE TABLE cs_partitions (
    connector  TEXT NOT NULL,
    partition  TEXT NOT NULL,
    dc         TEXT NOT NULL,
    method     TEXT NOT NULL,
    cookie     TEXT NOT NULL,
    config     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (connector, partition)
);
