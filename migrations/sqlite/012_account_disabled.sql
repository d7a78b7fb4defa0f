-- Accounts can be disabled (hybridsync accounts disable): disabled_at is when,
-- in Unix milliseconds, and 0 while the account is enabled. A disabled account
-- signs in by no means and keeps no session; it no longer counts as an
-- administrator when hybridsync makes sure one is always left.
ALTER TABLE accounts ADD disabled_at INTEGER NOT NULL DEFAULT 0;
