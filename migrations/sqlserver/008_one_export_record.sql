-- One record of what is in the tenant, SQL Server dialect: the same change
-- as sqlite/008_one_export_record.sql (export_objects folds into
-- mv_exported; a test compares the resulting tables). Differences, and why:
--   NVARCHAR(MAX) for the lookup's JSON (never indexed), BIGINT for the
--     flag and the Unix-millisecond time;
--   the defaults are named constraints (SQL Server names unnamed ones at
--     random, which a later migration could not drop by name);
--   each statement runs as a batch of its own (store.Migrate), so the
--     statements after an ALTER TABLE ADD may name the new columns.
ALTER TABLE mv_exported ADD lookup NVARCHAR(MAX) NOT NULL CONSTRAINT mv_exported_lookup_default DEFAULT N'{}';
ALTER TABLE mv_exported ADD create_started_at BIGINT NOT NULL CONSTRAINT mv_exported_create_started_at_default DEFAULT 0;
ALTER TABLE mv_exported ADD recorded BIGINT NOT NULL CONSTRAINT mv_exported_recorded_default DEFAULT 0;

UPDATE mv_exported SET recorded = 1;

UPDATE mv_exported SET
    cloud_id = COALESCE((SELECT NULLIF(e.cloud_id, N'') FROM export_objects e WHERE e.object_key = mv_exported.mv_key), cloud_id),
    lookup = COALESCE((SELECT e.lookup FROM export_objects e WHERE e.object_key = mv_exported.mv_key), N'{}'),
    create_started_at = COALESCE((SELECT e.create_started_at FROM export_objects e WHERE e.object_key = mv_exported.mv_key), 0),
    exported_at = COALESCE((SELECT e.exported_at FROM export_objects e WHERE e.object_key = mv_exported.mv_key AND e.exported_at > mv_exported.exported_at), exported_at);

-- export_objects' columns are wider than mv_exported's: keys NVARCHAR(450)
-- against 200 (a longer key was never in the metaverse: mv_objects holds the
-- same 200), kinds 32 against 16 (user, group, contact, device) and cloud
-- ids 450 against 64 (Graph's ids are GUIDs, 36 characters).
INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
    SELECT e.object_key, e.kind, e.cloud_id, N'', e.attrs, e.exported_at, e.lookup, e.create_started_at, 0
    FROM export_objects e
    WHERE NOT EXISTS (SELECT 1 FROM mv_exported m WHERE m.mv_key = e.object_key);

DROP TABLE export_objects;
