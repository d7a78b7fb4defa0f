-- A running export's last progress (see sqlite/010_export_progress.sql);
-- BIGINT, the default a named constraint (see 008).
ALTER TABLE export_runs ADD progress_at BIGINT NOT NULL CONSTRAINT export_runs_progress_at_default DEFAULT 0;
