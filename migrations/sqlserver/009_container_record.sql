-- The containers of each domain partition, SQL Server dialect: the same table
-- as sqlite/009_container_record.sql (a test compares them). Widths as in
-- 003_connector_space.sql: connector NVARCHAR(255) and guid NVARCHAR(36)
-- (an objectGUID is unique in its forest, the connector) keep the clustered
-- primary key within 900 bytes, and so does the index on connector and
-- partition NVARCHAR(190), as cs_partitions' key; NVARCHAR(MAX) for the DN
-- (never indexed).

CREATE TABLE cs_containers (
    connector NVARCHAR(255) NOT NULL,
    partition NVARCHAR(190) NOT NULL,
    guid      NVARCHAR(36) NOT NULL,
    dn        NVARCHAR(MAX) NOT NULL,
    PRIMARY KEY (connector, guid)
);
CREATE INDEX cs_containers_partition ON cs_containers(connector, partition);

-- The DC's highestCommittedUSN when the containers were last listed (see
-- sqlite/009_container_record.sql); BIGINT, the default a named constraint
-- (see 008).
ALTER TABLE cs_partitions ADD containers_usn BIGINT NOT NULL CONSTRAINT cs_partitions_containers_usn_default DEFAULT 0;
