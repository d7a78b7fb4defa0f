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
