-- Where writeback reads the tenant from, SQL Server dialect: the same table and
-- columns as sqlite/014_writeback_delta.sql (a test compares them).
-- Differences, and why:
--   BIGINT for configuration_id (configurations.id is BIGINT IDENTITY) and for
--     the Unix-millisecond time;
--   NVARCHAR(16) for kind ("groups", "devices"): part of the primary key,
--     which must stay within 900 bytes;
--   NVARCHAR(MAX) for link: a delta link's token has no documented length
--     limit, and the link is never indexed.
CREATE TABLE writeback_delta (
    configuration_id BIGINT NOT NULL REFERENCES configurations(id),
    kind             NVARCHAR(16) NOT NULL,
    link             NVARCHAR(MAX) NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (configuration_id, kind)
);
