-- What group and device writeback hold of each object they write, SQL Server
-- dialect: the same table and columns as sqlite/015_writeback_objects.sql (a
-- test compares them).
-- Differences, and why:
--   NVARCHAR(16) for kind ("group", "device") and NVARCHAR(64) for cloud_id
--     (a Graph object id is a GUID): the primary key must stay within 900
--     bytes;
--   NVARCHAR(256) for forest (a DNS name);
--   NVARCHAR(MAX) for the JSON columns and dn (never indexed);
--   BIGINT for removed (SQLite's INTEGER) and the Unix-millisecond times.
CREATE TABLE writeback_objects (
    kind              NVARCHAR(16) NOT NULL,
    cloud_id          NVARCHAR(64) NOT NULL,
    forest            NVARCHAR(256) NOT NULL,
    tenant            NVARCHAR(MAX) NOT NULL,
    members           NVARCHAR(MAX) NOT NULL,
    removed           BIGINT NOT NULL,
    dn                NVARCHAR(MAX) NOT NULL,
    written           NVARCHAR(MAX) NOT NULL,
    written_members   NVARCHAR(MAX) NOT NULL,
    create_started_at BIGINT NOT NULL,
    written_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (kind, cloud_id)
);
