package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// The SQLite file's companions: SQLite makes each with the database file's
// mode, which is why the database file is made 0600 before SQLite sees it.
var sqliteSuffixes = []string{"", "-wal", "-shm", "-journal"}

// lockDown prepares a SQLite file for writing: its folder exists (0700 when
// o.Private, tightened if it was looser), and the database and its companions
// are 0600 — made so before SQLite creates the file with 0644, tightened if an
// earlier version left them readable.
func lockDown(o Options) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	dir := filepath.Dir(o.DSN)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: unable to create the data directory: %w", err)
	}
	if o.Private {
		if err := tighten(dir, 0o700, log, "data directory"); err != nil {
			return err
		}
	}
	// O_CREATE without O_TRUNC: an existing database is left as it is; a new,
	// empty file is a valid empty SQLite database.
	f, err := os.OpenFile(o.DSN, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: unable to create %s: %w", o.DSN, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: unable to create %s: %w", o.DSN, err)
	}
	for _, suffix := range sqliteSuffixes {
		err := tighten(o.DSN+suffix, 0o600, log, "database file")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// tighten removes every permission beyond want from path, saying so in the log.
func tighten(path string, want fs.FileMode, log *slog.Logger, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: unable to check %s: %w", path, err)
	}
	have := fi.Mode().Perm()
	if have&^want == 0 {
		return nil
	}
	if err := os.Chmod(path, have&want); err != nil {
		return fmt.Errorf("store: unable to make %s private (chmod %o): %w", path, have&want, err)
	}
	log.Info("store: tightened the permissions of the "+what, "path", path, "from", fmt.Sprintf("%04o", have), "to", fmt.Sprintf("%04o", have&want))
	return nil
}
