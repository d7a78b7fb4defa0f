-- The scheduler's lookups of the newest job of a kind in some states, as in
-- sqlite/007_jobs_by_kind.sql (kind and status are short NVARCHARs, so they
-- can be index keys).
CREATE INDEX jobs_kind_status ON jobs(kind, status, id);
