-- Accounts can be disabled, SQL Server dialect: the same column as
-- sqlite/012_account_disabled.sql (a test compares them). Differences, and why:
--   BIGINT for the Unix-millisecond time;
--   a named default constraint, so that a later migration can drop it.
ALTER TABLE accounts ADD disabled_at BIGINT NOT NULL CONSTRAINT accounts_disabled_at_default DEFAULT 0;
