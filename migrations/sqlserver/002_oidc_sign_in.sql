-- Sign-in with OpenID Connect, SQL Server dialect: the same tables and columns
-- as sqlite/002_oidc_sign_in.sql (a test compares them). Differences, and why:
--   NVARCHAR(MAX) for the provider's free text and JSON (never indexed);
--   issuer NVARCHAR(512) and subject NVARCHAR(255) (OIDC Core caps sub at 255
--     ASCII characters): together 1,534 bytes, within the 1,700-byte key of a
--     nonclustered index (SQL Server 2016 and later);
--   BIGINT for ids and Unix-millisecond times.

CREATE TABLE oidc_provider (
    id            BIGINT NOT NULL PRIMARY KEY,
    enabled       BIGINT NOT NULL,
    issuer        NVARCHAR(MAX) NOT NULL,
    client_id     NVARCHAR(MAX) NOT NULL,
    client_secret NVARCHAR(MAX) NOT NULL,
    display_name  NVARCHAR(MAX) NOT NULL,
    groups_claim  NVARCHAR(MAX) NOT NULL,
    role_groups   NVARCHAR(MAX) NOT NULL,
    updated_at    BIGINT NOT NULL,
    updated_by    NVARCHAR(256) NOT NULL
);

CREATE TABLE oidc_identities (
    account_id   BIGINT NOT NULL PRIMARY KEY REFERENCES accounts(id),
    issuer       NVARCHAR(512) NOT NULL,
    subject      NVARCHAR(255) NOT NULL,
    created_at   BIGINT NOT NULL,
    signed_in_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX oidc_identities_subject ON oidc_identities(issuer, subject);
