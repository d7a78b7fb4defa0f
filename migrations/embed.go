// Package migrations holds the store's schema: one numbered set of SQL files per
// dialect, embedded into the binary. A file is never edited once released; a change
// is a new file with the next number in both dialects (see the schema test in
// engine/store).
package migrations

import "embed"

// FS holds sqlite/NNN_description.sql and sqlserver/NNN_description.sql.
//
//go:embed sqlite/*.sql sqlserver/*.sql
var FS embed.FS
