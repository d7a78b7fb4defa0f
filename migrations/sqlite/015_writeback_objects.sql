-- What group and device writeback hold of each object they write into Active
-- Directory (engine/store/writebackobjects.go, engine/writeback): one row per
-- kind ("group" for a Microsoft 365 group, "device") and Graph object id.
--
-- The tenant's side, kept from the delta rounds (a round of changes only
-- tells what changed, so the whole state lives here):
--   tenant (JSON) the object's properties as Graph last reported them (a
--     device with its registered owners);
--   members (JSON object, member id → @odata.type) a group's members;
--   removed 1 once the tenant no longer has it (or it left writeback's
--     scope): its AD object is deleted by the next writeback that may write.
-- The directory's side, what hybridsync wrote:
--   forest the forest written into; dn the AD object ('' until its add was
--     confirmed, or it was found there by its anchor);
--   written (JSON object) the attribute values written; written_members
--     (JSON array) the member DNs written, so that a membership change writes
--     one value;
--   create_started_at when an add was about to be sent (0 when none is in
--     flight): a restart looks the object up by its anchor (adminDescription,
--     msDS-DeviceID) before it adds anything, so a kill between the add and
--     its record creates nothing twice;
--   written_at, updated_at: Unix milliseconds.
CREATE TABLE writeback_objects (
    kind              TEXT NOT NULL,
    cloud_id          TEXT NOT NULL,
    forest            TEXT NOT NULL,
    tenant            TEXT NOT NULL,
    members           TEXT NOT NULL,
    removed           INTEGER NOT NULL,
    dn                TEXT NOT NULL,
    written           TEXT NOT NULL,
    written_members   TEXT NOT NULL,
    create_started_at INTEGER NOT NULL,
    written_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (kind, cloud_id)
);
