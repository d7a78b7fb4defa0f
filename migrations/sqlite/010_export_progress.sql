-- A running export's last progress: when it last wrote its counts so far
-- (Unix milliseconds; 0: not yet). A running export writes the counts that
-- reached the tenant after its batches, at most about once a second
-- (store.UpdateExportRunProgress), so that a run the server never finished
-- (killed) keeps them; at the next start it is ended as interrupted
-- (store.EndInterruptedExportRuns), finished at its last progress — or at its
-- start when it made none. SQLite adds a NOT NULL column with a default
-- (see 008).
ALTER TABLE export_runs ADD progress_at INTEGER NOT NULL DEFAULT 0;
