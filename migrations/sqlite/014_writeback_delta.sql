-- Where writeback reads the tenant from (engine/store/writeback.go): per
-- configuration and kind ("groups" for Microsoft 365 groups, "devices"), the
-- @odata.deltaLink the last delta round of Microsoft Graph ended with. The next
-- cycle reads only what changed since; a configuration with no row reads the
-- tenant in full, and so does one whose link Graph refuses (the row is then
-- cleared). A new configuration starts with no row: what it writes back may
-- differ, so it reads everything once.
--
-- configuration_id is configurations.id; link the whole URL, kept as Graph
-- gave it (its token is opaque and carries the query); updated_at when it was
-- written (Unix milliseconds). The link holds a state token, not a credential;
-- it is still never logged whole.
CREATE TABLE writeback_delta (
    configuration_id INTEGER NOT NULL REFERENCES configurations(id),
    kind             TEXT NOT NULL,
    link             TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (configuration_id, kind)
);
