-- The connector spaces, SQL Server dialect: the same tables and columns as
-- sqlite/003_connector_space.sql (a test compares them). Differences, and why:
--   connector NVARCHAR(255): a forest's DNS name (at most 253 characters);
--   anchor NVARCHAR(36): an objectGUID's canonical text;
--   partition NVARCHAR(190): with connector it stays within the 900-byte key
--     of the clustered primary key (a domain DN is far shorter in practice);
--   dn_key and member_key CHAR(32): hex digests, so the index keys have a fixed
--     width whatever the DN's length (a DN can exceed any NVARCHAR key limit);
--   sam_lower, upn_lower, mail_lower NVARCHAR(256): indexed, cut to 256 in Go;
--   NVARCHAR(MAX) for DNs, attributes (JSON) and reasons (never indexed);
--   BIGINT for USNs, flags and Unix-millisecond times.

CREATE TABLE cs_objects (
    connector   NVARCHAR(255) NOT NULL,
    anchor      NVARCHAR(36) NOT NULL,
    partition   NVARCHAR(190) NOT NULL,
    dn          NVARCHAR(MAX) NOT NULL,
    dn_key      CHAR(32) NOT NULL,
    class       NVARCHAR(32) NOT NULL,
    sam_lower   NVARCHAR(256) NOT NULL,
    upn_lower   NVARCHAR(256) NOT NULL,
    mail_lower  NVARCHAR(256) NOT NULL,
    attrs       NVARCHAR(MAX) NOT NULL,
    usn         BIGINT NOT NULL,
    in_scope    BIGINT NOT NULL,
    reason      NVARCHAR(MAX) NOT NULL,
    deleted     BIGINT NOT NULL,
    digest      CHAR(32) NOT NULL,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (connector, anchor)
);
CREATE INDEX cs_objects_dn ON cs_objects(dn_key);
CREATE INDEX cs_objects_sam ON cs_objects(sam_lower);
CREATE INDEX cs_objects_upn ON cs_objects(upn_lower);
CREATE INDEX cs_objects_mail ON cs_objects(mail_lower);
CREATE INDEX cs_objects_partition ON cs_objects(connector, partition);

CREATE TABLE cs_members (
    connector    NVARCHAR(255) NOT NULL,
    group_anchor NVARCHAR(36) NOT NULL,
    member_key   CHAR(32) NOT NULL,
    member_dn    NVARCHAR(MAX) NOT NULL,
    PRIMARY KEY (connector, group_anchor, member_key)
);
CREATE INDEX cs_members_member ON cs_members(connector, member_key);

CREATE TABLE cs_connectors (
    connector     NVARCHAR(255) NOT NULL PRIMARY KEY,
    needs_full    BIGINT NOT NULL,
    needs_reason  NVARCHAR(MAX) NOT NULL,
    last_full_at  BIGINT NOT NULL,
    last_delta_at BIGINT NOT NULL
);

CREATE TABLE cs_partitions (
    connector  NVARCHAR(255) NOT NULL,
    partition  NVARCHAR(190) NOT NULL,
    dc         NVARCHAR(255) NOT NULL,
    method     NVARCHAR(32) NOT NULL,
    cookie     NVARCHAR(MAX) NOT NULL,
    config     NVARCHAR(64) NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connector, partition)
);
