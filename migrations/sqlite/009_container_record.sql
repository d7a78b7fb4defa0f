-- The containers of each domain partition as the last import saw them (OUs,
-- containers, builtinDomain, lostAndFound: directory.ContainerGUIDs), by
-- objectGUID. DirSync reads only users, groups and contacts, so it never
-- says that an OU was renamed or moved, nor that every object below it
-- changed its DN: a delta import lists the containers again and, for each
-- whose DN differs from this record, rewrites the DNs of the connector space
-- rows below it (store.MoveCSSubtrees). A full import writes the record.
-- guid is the objectGUID's canonical text; dn as the DC returned it.

CREATE TABLE cs_containers (
    connector TEXT NOT NULL,
    partition TEXT NOT NULL,
    guid      TEXT NOT NULL,
    dn        TEXT NOT NULL,
    PRIMARY KEY (connector, guid)
);
CREATE INDEX cs_containers_partition ON cs_containers(connector, partition);

-- The domain controller's highestCommittedUSN, read before the containers
-- were last listed (0: not yet). A delta import asks the DC only for the
-- containers changed since (uSNChanged above it, an indexed search); the
-- whole listing runs when there are some. A USN is the DC's own, as the
-- DirSync cookie beside it: another DC means a full import, which lists
-- again. SQLite adds a NOT NULL column with a default (see 008).
ALTER TABLE cs_partitions ADD containers_usn INTEGER NOT NULL DEFAULT 0;
