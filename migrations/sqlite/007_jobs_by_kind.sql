-- The scheduler asks, every minute, for the newest job of a kind in some
-- states (the last cycle started, completed or running; a running
-- Configure): an index on kind and status, newest id first within them.
CREATE INDEX jobs_kind_status ON jobs(kind, status, id);
