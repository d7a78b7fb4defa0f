package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SQL Server administration the SA path of "use an existing SQL Server" needs:
// look for the database and create it. The DBO path never calls these: there the
// SQL administrator made the database beforehand.

// OpenServer connects to a SQL Server database (usually master) for administration.
func OpenServer(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("sqlserver", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: unable to open SQL Server: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// DatabaseExists reports whether a database of that name exists on the server.
func DatabaseExists(ctx context.Context, master *sql.DB, name string) (bool, error) {
	var id sql.NullInt64
	if err := master.QueryRowContext(ctx, `SELECT DB_ID(@p1)`, name).Scan(&id); err != nil {
		return false, fmt.Errorf("store: unable to look for database %s: %w", name, err)
	}
	return id.Valid, nil
}

// CreateDatabase creates an empty database. CREATE DATABASE takes no parameters,
// so the name is quoted as an identifier (the wizard allows only [A-Za-z0-9_@$#]).
func CreateDatabase(ctx context.Context, master *sql.DB, name string) error {
	if _, err := master.ExecContext(ctx, "CREATE DATABASE "+QuoteIdent(name)); err != nil {
		return fmt.Errorf("store: unable to create database %s: %w", name, err)
	}
	return nil
}

// QuoteIdent quotes a SQL Server identifier with brackets.
func QuoteIdent(name string) string { return "[" + strings.ReplaceAll(name, "]", "]]") + "]" }
