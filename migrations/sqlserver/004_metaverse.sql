-- The metaverse, SQL Server dialect: the same tables and columns as
-- sqlite/004_metaverse.sql (a test compares them). Differences, and why:
--   NVARCHAR(MAX) for JSON and free text that is never indexed;
--   keys NVARCHAR(200): a sourceAnchor is Base64 of 16 bytes (24 characters)
--     or a chosen attribute's value; two of them are mv_exported_members'
--     clustered primary key, 800 bytes, within SQL Server's 900;
--   connector NVARCHAR(255) (a forest's DNS name) and anchor NVARCHAR(64) (an
--     objectGUID's 36 characters): the clustered key is 638 bytes;
--   dn_key, upn_key NVARCHAR(850): indexed, so within 1,700 bytes; longer
--     DNs and names fail to insert rather than be cut;
--   BIGINT for counts, flags and Unix-millisecond times.

CREATE TABLE mv_objects (
    mv_key       NVARCHAR(200) NOT NULL PRIMARY KEY,
    kind         NVARCHAR(16) NOT NULL,
    upn_key      NVARCHAR(850) NOT NULL,
    mail_key     NVARCHAR(850) NOT NULL,
    display_name NVARCHAR(MAX) NOT NULL,
    source       NVARCHAR(MAX) NOT NULL,
    attrs        NVARCHAR(MAX) NOT NULL,
    members      NVARCHAR(MAX) NOT NULL,
    sources      NVARCHAR(MAX) NOT NULL,
    synced_at    BIGINT NOT NULL
);
CREATE INDEX mv_objects_upn ON mv_objects(upn_key);
CREATE INDEX mv_objects_mail ON mv_objects(mail_key);

CREATE TABLE mv_joins (
    connector NVARCHAR(255) NOT NULL,
    anchor    NVARCHAR(64) NOT NULL,
    dn        NVARCHAR(MAX) NOT NULL,
    dn_key    NVARCHAR(850) NOT NULL,
    mv_key    NVARCHAR(200) NOT NULL,
    synced    BIGINT NOT NULL,
    reason    NVARCHAR(MAX) NOT NULL,
    trace     NVARCHAR(MAX) NOT NULL,
    PRIMARY KEY (connector, anchor)
);
CREATE INDEX mv_joins_key ON mv_joins(mv_key);
CREATE INDEX mv_joins_dn ON mv_joins(dn_key);

CREATE TABLE mv_exported (
    mv_key      NVARCHAR(200) NOT NULL PRIMARY KEY,
    kind        NVARCHAR(16) NOT NULL,
    cloud_id    NVARCHAR(64) NOT NULL,
    source      NVARCHAR(MAX) NOT NULL,
    attrs       NVARCHAR(MAX) NOT NULL,
    exported_at BIGINT NOT NULL
);
CREATE INDEX mv_exported_cloud_id ON mv_exported(cloud_id);

CREATE TABLE mv_exported_members (
    group_key  NVARCHAR(200) NOT NULL,
    member_key NVARCHAR(200) NOT NULL,
    PRIMARY KEY (group_key, member_key)
);
CREATE INDEX mv_exported_members_member ON mv_exported_members(member_key);

CREATE TABLE mv_pending (
    mv_key       NVARCHAR(200) NOT NULL,
    op           NVARCHAR(16) NOT NULL,
    kind         NVARCHAR(16) NOT NULL,
    ord          BIGINT NOT NULL,
    source       NVARCHAR(MAX) NOT NULL,
    attr_count   BIGINT NOT NULL,
    member_count BIGINT NOT NULL,
    change       NVARCHAR(MAX) NOT NULL,
    computed_at  BIGINT NOT NULL,
    PRIMARY KEY (mv_key, op)
);
CREATE INDEX mv_pending_order ON mv_pending(ord, mv_key);
CREATE INDEX mv_pending_op ON mv_pending(op, kind);
