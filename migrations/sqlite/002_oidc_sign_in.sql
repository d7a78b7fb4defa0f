-- Sign-in with OpenID Connect: the one identity provider's settings, and which
-- console account each of its identities (issuer + subject) signs in as.

-- One row (id 1) or none. client_secret is sealed (engine/secret); role_groups
-- is JSON: for each role key, the groups-claim values that grant it.
CREATE TABLE oidc_provider (
    id            INTEGER NOT NULL PRIMARY KEY,
    enabled       INTEGER NOT NULL,
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    groups_claim  TEXT NOT NULL,
    role_groups   TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT NOT NULL
);

-- An account made by an OIDC sign-in has an empty password_hash (no local
-- password) and exactly one row here.
CREATE TABLE oidc_identities (
    account_id   INTEGER NOT NULL PRIMARY KEY REFERENCES accounts(id),
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    signed_in_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX oidc_identities_subject ON oidc_identities(issuer, subject);
