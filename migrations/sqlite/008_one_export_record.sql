-- One record of what is in the tenant: export_objects (005) folds into
-- mv_exported (004). Both were keyed by the sourceAnchor and both held a
-- cloud id, which could diverge; mv_exported is now the only one.
--
-- mv_exported gains what export_objects had and it lacked:
--   lookup (JSON) and create_started_at: a create that was sent but not
--     confirmed (cloud_id '', create_started_at > 0) is looked up in the
--     tenant by a re-run instead of being created twice;
--   recorded: 1 once the metaverse recorded the object as exported
--     (store.RecordExported); 0 for a row only the export wrote: a create in
--     flight, or an object created or matched in the tenant before the
--     metaverse was told. Only recorded rows are the exported state the next
--     sync diffs against (an unrecorded one stays an add, so the re-run
--     finishes it instead of updating it), and only a recorded row's kind and
--     attrs are the metaverse's; an unrecorded row's attrs are what Graph
--     confirmed (the export compares a re-sent add against them).
-- exported_at stays: when the tenant last confirmed a change of the object.
-- SQLite adds one column per statement, and a NOT NULL one needs a default;
-- the store writes every column explicitly, so the defaults only fill the
-- rows already there.
ALTER TABLE mv_exported ADD lookup TEXT NOT NULL DEFAULT '{}';
ALTER TABLE mv_exported ADD create_started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mv_exported ADD recorded INTEGER NOT NULL DEFAULT 0;

-- Every row already in mv_exported was written by the metaverse.
UPDATE mv_exported SET recorded = 1;

-- An object in both: the metaverse's kind, source and attributes stay; the
-- export's cloud id wins (it is the one the export sent its writes to), and
-- its create in flight, if any, comes along.
UPDATE mv_exported SET
    cloud_id = COALESCE((SELECT NULLIF(e.cloud_id, '') FROM export_objects e WHERE e.object_key = mv_exported.mv_key), cloud_id),
    lookup = COALESCE((SELECT e.lookup FROM export_objects e WHERE e.object_key = mv_exported.mv_key), '{}'),
    create_started_at = COALESCE((SELECT e.create_started_at FROM export_objects e WHERE e.object_key = mv_exported.mv_key), 0),
    exported_at = COALESCE((SELECT e.exported_at FROM export_objects e WHERE e.object_key = mv_exported.mv_key AND e.exported_at > mv_exported.exported_at), exported_at);

-- An object only the export knew (a create sent but not confirmed, which a
-- server killed mid-export leaves behind, or one created or matched before
-- the metaverse was told): kept, unrecorded, so the next export finds it
-- again instead of creating a duplicate.
INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
    SELECT e.object_key, e.kind, e.cloud_id, '', e.attrs, e.exported_at, e.lookup, e.create_started_at, 0
    FROM export_objects e
    WHERE NOT EXISTS (SELECT 1 FROM mv_exported m WHERE m.mv_key = e.object_key);

-- An object only the metaverse knew (the export deleted it from the tenant,
-- and the server died before the metaverse was told) stays as it is: the
-- next sync diffs its delete again, and the tenant's 404 counts as done.
-- export_objects' index goes with it.
DROP TABLE export_objects;
