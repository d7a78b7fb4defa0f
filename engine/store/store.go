// Package store is hybridsync's one concrete SQL store: hand-written SQL over
// database/sql, for two dialects. SQLite (modernc.org/sqlite, pure Go) is the
// embedded default, our "LocalDB"; SQL Server (github.com/microsoft/go-mssqldb) is
// the "use an existing SQL Server" option. Where the SQL differs, the branch says why.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/microsoft/go-mssqldb" // registers "sqlserver"
	_ "modernc.org/sqlite"              // registers "sqlite"
)

// Dialect names a SQL dialect the store speaks.
type Dialect string

const (
	SQLite    Dialect = "sqlite"
	SQLServer Dialect = "sqlserver"
)

// FileName is the LocalDB file inside a data directory.
const FileName = "hybridsync.db"

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// Store is the console's database. Writes go through w; reads through r. On SQLite
// w holds a single connection (SQLite allows one writer at a time; queueing in Go is
// kinder than "database is locked"), r is a pool. On SQL Server both are one pool.
type Store struct {
	dialect Dialect
	w, r    *sql.DB
	now     func() time.Time
	// stmts caches the read statements, prepared once on r: parsing SQL was the
	// largest cost of a page view. The set of queries is fixed, so it is bounded.
	stmts sync.Map // query text -> *sql.Stmt
	// tally is the pending exports' last counts (pending.go).
	tally pendingTally
	// ckpt checkpoints after the transactions that defer it (SQLite,
	// writable); nil otherwise.
	ckpt *checkpointer
}

// Options say where the store is.
type Options struct {
	Dialect Dialect
	// DSN is a SQLite file path, or a go-mssqldb URL (sqlserver://...).
	DSN string
	// ReadOnly opens a SQLite file without changing it (no WAL switch, no
	// writes): for looking into a database that may belong to someone else.
	ReadOnly bool
	// Private says the SQLite file's folder is hybridsync's own data directory:
	// Open makes it 0700, tightening it if it already exists. Set it for the
	// data directory only, never for a folder others share. Whatever it says,
	// the database and its -wal and -shm files are made (and kept) 0600.
	Private bool
	// Log receives a line for each mode Open tightens; nil: slog.Default().
	Log *slog.Logger
}

// SQLitePath is the LocalDB file of a data directory.
func SQLitePath(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Open opens the store without touching its schema; call Migrate or CheckSchema next.
func Open(ctx context.Context, o Options) (*Store, error) {
	s := &Store{dialect: o.Dialect, now: time.Now}
	switch o.Dialect {
	case SQLite:
		if o.ReadOnly {
			if _, err := os.Stat(o.DSN); err != nil {
				return nil, fmt.Errorf("store: unable to open %s: %w", o.DSN, err)
			}
		} else if err := lockDown(o); err != nil {
			return nil, err
		} else if err := formatNew(ctx, o.DSN); err != nil {
			return nil, err
		}
		// busy_timeout first so that the pragmas after it wait rather than fail;
		// _txlock=immediate takes the write lock at BEGIN, so a transaction never
		// fails half way with SQLITE_BUSY on its first write.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		if o.ReadOnly {
			q.Set("mode", "ro")
			// A read-only connection to a WAL database creates the -wal and
			// -shm files beside it (and cannot remove them). When neither they
			// nor a rollback journal are there, nobody is writing and the file
			// holds all of it: immutable reads it without creating anything.
			if !exists(o.DSN+"-wal") && !exists(o.DSN+"-shm") && !exists(o.DSN+"-journal") {
				q.Set("immutable", "1")
			}
		} else {
			q.Add("_pragma", "journal_mode(WAL)")
		}
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		dsn := "file:" + uriPath(o.DSN) + "?" + q.Encode()
		var err error
		if s.w, err = sql.Open("sqlite", dsn); err != nil {
			return nil, fmt.Errorf("store: unable to open %s: %w", o.DSN, err)
		}
		s.w.SetMaxOpenConns(1)
		if s.r, err = sql.Open("sqlite", dsn); err != nil {
			s.w.Close()
			return nil, fmt.Errorf("store: unable to open %s: %w", o.DSN, err)
		}
		s.r.SetMaxOpenConns(4)
		// Keep every reader open: database/sql keeps only 2 idle by default, and a
		// new connection must open the file and prepare its statements again.
		s.r.SetMaxIdleConns(4)
		if !o.ReadOnly {
			log := o.Log
			if log == nil {
				log = slog.Default()
			}
			s.ckpt = newCheckpointer(s, log)
		}
	case SQLServer:
		db, err := sql.Open("sqlserver", o.DSN)
		if err != nil {
			return nil, fmt.Errorf("store: unable to open SQL Server: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		s.w, s.r = db, db
	default:
		return nil, fmt.Errorf("store: unknown dialect %q", o.Dialect)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.w.PingContext(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: unable to connect: %w", err)
	}
	return s, nil
}

// PageSize is the page size of a SQLite database the store creates. Its
// 4 KiB default made a full sync of a million objects write 1.1 million
// pages to the WAL and copy each again into the file, a system call a page
// (a full sync of 300,000 objects: 29 s at 4 KiB, 20 s at 16 KiB); a
// delta's scattered rows still dirty pages small enough (ADR 0010). A
// database created before keeps its page size.
const PageSize = 16384

// formatNew gives a new, empty database file its page size and WAL mode
// before anything else opens it. SQLite fixes the page size when it first
// writes the file, and switching to WAL writes it: the DSN's pragmas run in
// lexicographic order, journal_mode before page_size, so they cannot.
func formatNew(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	if fi.Size() != 0 {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+uriPath(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: unable to create %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA page_size = " + strconv.Itoa(PageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: unable to create %s: %s: %w", path, q, err)
		}
	}
	return db.Close()
}

// uriPath escapes what a SQLite URI would read as syntax in a file path: % starts
// an escape, ? the parameters and # a fragment.
func uriPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Dialect reports which SQL dialect the store speaks.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes every connection.
func (s *Store) Close() error {
	if s.ckpt != nil {
		s.ckpt.stop()
	}
	var err error
	s.stmts.Range(func(_, v any) bool {
		err = errors.Join(err, v.(*sql.Stmt).Close())
		return true
	})
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

func (s *Store) millis() int64 { return s.now().UnixMilli() }

// q rewrites the ? placeholders of a query for the dialect. go-mssqldb's
// "sqlserver" driver only takes @p1, @p2, ...; SQLite takes ?. No query in this
// package has a ? inside a string literal.
func (s *Store) q(query string) string {
	if s.dialect != SQLServer {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("@p" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.w.ExecContext(ctx, s.q(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, s.q(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, s.q(query), args...)
}

// stmt returns the prepared read statement for a query, or nil when it can't be
// prepared (the caller then runs the query unprepared, which reports the error).
func (s *Store) stmt(ctx context.Context, query string) *sql.Stmt {
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt)
	}
	st, err := s.r.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil
	}
	if v, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt)
	}
	return st
}

// tx runs fn in a write transaction.
func (s *Store) tx(ctx context.Context, fn func(*Tx) error) error {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: unable to begin a transaction: %w", err)
	}
	tx := &Tx{s: s, tx: t}
	if err := fn(tx); err != nil {
		_ = t.Rollback()
		return err
	}
	if tx.checkpointAfter && s.ckpt != nil {
		err = s.commitDeferred(ctx, tx)
	} else {
		err = t.Commit()
	}
	if err != nil {
		return fmt.Errorf("store: unable to commit: %w", err)
	}
	return nil
}

// Tx is a write transaction with the store's placeholder rewriting.
type Tx struct {
	s  *Store
	tx *sql.Tx
	// checkpointAfter: a transaction of many pages (a sync's) leaves
	// copying them into the database file to the checkpointer, after its
	// commit (SQLite).
	checkpointAfter bool
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.s.q(query), args...)
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.s.q(query), args...)
}

// insertID inserts one row and returns its generated id. SQLite (3.35+) and SQL
// Server both return the new id from the INSERT itself, but spell it differently:
// SQLite appends RETURNING, SQL Server puts OUTPUT INSERTED.id before VALUES.
func (t *Tx) insertID(ctx context.Context, table, cols string, args ...any) (int64, error) {
	var id int64
	if err := t.queryRow(ctx, insertSQL(t.s.dialect, table, cols, len(args)), args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: unable to insert into %s: %w", table, err)
	}
	return id, nil
}

// insertSQL is insertID's statement for n values, with ? placeholders.
func insertSQL(d Dialect, table, cols string, n int) string {
	marks := strings.TrimSuffix(strings.Repeat("?,", n), ",")
	if d == SQLServer {
		return "INSERT INTO " + table + " (" + cols + ") OUTPUT INSERTED.id VALUES (" + marks + ")"
	}
	return "INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ") RETURNING id"
}

// limit returns the dialect's way to take the first n rows: SQLite has LIMIT at
// the end, SQL Server has TOP after SELECT. Callers write "SELECT %s ... %s".
func (s *Store) limit(n int) (top, tail string) {
	if s.dialect == SQLServer {
		return "TOP " + strconv.Itoa(n) + " ", ""
	}
	return "", " LIMIT " + strconv.Itoa(n)
}
