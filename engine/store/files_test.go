package store

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// The data directory and the database files are private, whoever made the
// directory and whatever the umask: the finding was a 0644 database (with the
// password hashes) in a 0755 folder.
func TestOpenLocksDownFiles(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	tests := []struct {
		name     string
		dirMode  os.FileMode // 0: the directory does not exist yet
		dbMode   os.FileMode // 0: no database yet
		private  bool
		wantDir  os.FileMode
		wantLogs []string
	}{
		{"new directory", 0, 0, true, 0o700, nil},
		{"existing 0755 directory", 0o755, 0, true, 0o700, []string{"data directory", "from=0755 to=0700"}},
		{"earlier 0644 database", 0o755, 0o644, true, 0o700, []string{"data directory", "database file", "from=0644 to=0600"}},
		{"a folder not ours is left as it is", 0o755, 0, false, 0o755, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "data")
			path := SQLitePath(dir)
			if tt.dirMode != 0 {
				if err := os.Mkdir(dir, tt.dirMode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(dir, tt.dirMode)
			}
			if tt.dbMode != 0 {
				st, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				os.Chmod(path, tt.dbMode)
			}
			var logs bytes.Buffer
			st, err := Open(ctx, Options{Dialect: SQLite, DSN: path, Private: tt.private, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// A write, so that the -wal and -shm files exist.
			if err := st.SetSetting(ctx, "x", "y"); err != nil {
				t.Fatal(err)
			}
			if got := modeOf(t, dir); got != tt.wantDir {
				t.Errorf("directory mode %04o; want %04o", got, tt.wantDir)
			}
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if got := modeOf(t, path+suffix); got != 0o600 {
					t.Errorf("%s mode %04o; want 0600", filepath.Base(path+suffix), got)
				}
			}
			for _, want := range tt.wantLogs {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs %q lack %q", logs.String(), want)
				}
			}
			if tt.wantLogs == nil && logs.Len() > 0 {
				t.Errorf("unexpected logs %q", logs.String())
			}
		})
	}
}

// Leftover -wal and -shm files of an earlier version are tightened too.
func TestOpenTightensLeftoverWAL(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	st, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Chmod(path+suffix, 0o644)
	}
	st2, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if got := modeOf(t, path+suffix); got != 0o600 {
			t.Errorf("%s mode %04o; want 0600", filepath.Base(path+suffix), got)
		}
	}
}

// TestOpenPageSize: a database the store creates has PageSize pages and is
// in WAL mode from its first write; one created before (SQLite's 4 KiB
// default) keeps its pages and opens as it was.
func TestOpenPageSize(t *testing.T) {
	tests := []struct {
		name     string
		existing int // page size of a database there before; 0: none
		want     int
	}{
		{"new", 0, PageSize},
		{"existing", 4096, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), FileName)
			if tt.existing != 0 {
				db, err := sql.Open("sqlite", "file:"+path)
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range []string{"PRAGMA page_size = " + strconv.Itoa(tt.existing), "CREATE TABLE before (x)", "INSERT INTO before VALUES (1)"} {
					if _, err := db.Exec(q); err != nil {
						t.Fatal(q, err)
					}
				}
				db.Close()
			}
			s, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var size int
			var mode string
			if err := s.w.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
				t.Fatal(err)
			}
			if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if size != tt.want || mode != "wal" {
				t.Errorf("page size %d, journal mode %s; want %d, wal", size, mode, tt.want)
			}
			if tt.existing != 0 {
				var x int
				if err := s.w.QueryRowContext(ctx, "SELECT x FROM before").Scan(&x); err != nil || x != 1 {
					t.Errorf("the existing row: %d, %v", x, err)
				}
			}
		})
	}
}
