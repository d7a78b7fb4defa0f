package secret

import "strings"

// The purposes of the sealed fields: each is bound to its own, so that a sealed
// value copied from one field into another does not open there.
const (
	// PurposeSessionKeys is the setting session_keys: the cookie hash and block keys.
	PurposeSessionKeys = "settings.session_keys"
	// PurposeOIDCClientSecret is the OpenID Connect sign-in's client secret.
	PurposeOIDCClientSecret = "oidc.client_secret"
	// PurposeSyncPassword is the Entra sync service account's password
	// (answers.connectEntra.syncPassword).
	PurposeSyncPassword = "connect_entra.sync_password"
	// PurposeSQLPassword is the SQL Server login's password
	// (answers.components.sqlPassword).
	PurposeSQLPassword = "components.sql_password"
	// PurposeServiceAccountPassword is the service account's password
	// (answers.components.serviceAccountPassword).
	PurposeServiceAccountPassword = "components.service_account_password"
)

// ForestConnectorPassword is the purpose of one forest's AD DS connector
// password (answers.directories.forests[].connectorPassword): bound to the
// forest, so that two forests' passwords can't be swapped either.
func ForestConnectorPassword(forest string) string {
	return "directories.forest." + strings.ToLower(strings.TrimSuffix(forest, ".")) + ".connector_password"
}
