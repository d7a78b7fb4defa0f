package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTestStore opens and migrates a LocalDB in a fresh temporary directory.
func openTestStore(t *testing.T) *Store {
	t.Helper()
	return openAt(t, SQLitePath(t.TempDir()))
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestQPlaceholders(t *testing.T) {
	tests := []struct {
		dialect Dialect
		in      string
		want    string
	}{
		{SQLite, "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = ? AND c = ?"},
		{SQLServer, "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = @p1 AND c = @p2"},
		{SQLServer, "SELECT 1", "SELECT 1"},
		{SQLServer, "VALUES (?,?,?,?,?,?,?,?,?,?,?)", "VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7,@p8,@p9,@p10,@p11)"},
		{SQLServer, "SELECT N'é' WHERE x = ?", "SELECT N'é' WHERE x = @p1"},
	}
	for _, tt := range tests {
		s := &Store{dialect: tt.dialect}
		if got := s.q(tt.in); got != tt.want {
			t.Errorf("%s q(%q) = %q, want %q", tt.dialect, tt.in, got, tt.want)
		}
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		dialect   Dialect
		n         int
		top, tail string
	}{
		{SQLite, 5, "", " LIMIT 5"},
		{SQLServer, 5, "TOP 5 ", ""},
		{SQLServer, 1000, "TOP 1000 ", ""},
	}
	for _, tt := range tests {
		s := &Store{dialect: tt.dialect}
		top, tail := s.limit(tt.n)
		if top != tt.top || tail != tt.tail {
			t.Errorf("%s limit(%d) = %q, %q; want %q, %q", tt.dialect, tt.n, top, tail, tt.top, tt.tail)
		}
	}
}

func TestInsertSQL(t *testing.T) {
	tests := []struct {
		dialect Dialect
		want    string
	}{
		{SQLite, "INSERT INTO jobs (a, b, c) VALUES (?,?,?) RETURNING id"},
		{SQLServer, "INSERT INTO jobs (a, b, c) OUTPUT INSERTED.id VALUES (?,?,?)"},
	}
	for _, tt := range tests {
		if got := insertSQL(tt.dialect, "jobs", "a, b, c", 3); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.dialect, got, tt.want)
		}
	}
	// And rewritten for go-mssqldb:
	s := &Store{dialect: SQLServer}
	if got, want := s.q(insertSQL(SQLServer, "t", "a, b", 2)), "INSERT INTO t (a, b) OUTPUT INSERTED.id VALUES (@p1,@p2)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOpenUnknownDialect(t *testing.T) {
	if _, err := Open(context.Background(), Options{Dialect: "oracle", DSN: "x"}); err == nil {
		t.Fatal("Open accepted an unknown dialect")
	}
}

func TestMigrateIdempotentAndSchemaVersion(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	s, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, _ := Migrations(SQLite)

	applied, latest, err := s.SchemaVersion(ctx)
	if err != nil || applied != 0 || latest != len(ms) {
		t.Fatalf("fresh: SchemaVersion = %d, %d, %v; want 0, %d", applied, latest, err, len(ms))
	}
	var out ErrSchemaOutOfDate
	if err := s.CheckSchema(ctx); !errors.As(err, &out) || out.Applied != 0 || out.Latest != len(ms) {
		t.Fatalf("fresh: CheckSchema = %v, want ErrSchemaOutOfDate{0, %d}", err, len(ms))
	}
	if !strings.Contains(err2str(s.CheckSchema(ctx)), "hybridsync migrate") {
		t.Errorf("out-of-date message does not say what to run: %v", s.CheckSchema(ctx))
	}

	n, err := s.Migrate(ctx)
	if err != nil || n != len(ms) {
		t.Fatalf("first Migrate = %d, %v; want %d", n, err, len(ms))
	}
	n, err = s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0", n, err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after Migrate: %v", err)
	}
	var rows int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(ms) {
		t.Fatalf("schema_migrations holds %d rows (%v), want %d", rows, err, len(ms))
	}

	// A database a newer hybridsync migrated: refused, never touched.
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, 'from the future', 0)`, len(ms)+1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); !errors.As(err, &out) || out.Applied != len(ms)+1 || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("CheckSchema on a newer schema = %v", err)
	}
	if n, err := s.Migrate(ctx); !errors.As(err, &out) || n != 0 {
		t.Fatalf("Migrate on a newer schema = %d, %v; want ErrSchemaOutOfDate", n, err)
	}
}

func err2str(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMigrateIsAtomic(t *testing.T) {
	// A migration that fails half way leaves neither its tables nor its row.
	ctx := context.Background()
	s := openTestStore(t)
	err := s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `CREATE TABLE half (a INTEGER)`); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `CREATE TABLE settings (a INTEGER)`) // exists: fails
		return err
	})
	if err == nil {
		t.Fatal("the failing transaction succeeded")
	}
	if got := queryStrings(t, s, `SELECT name FROM sqlite_master WHERE name = 'half'`); len(got) != 0 {
		t.Fatal("a failed transaction left a table behind")
	}
}

func TestAccountsAndRoles(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return now })

	if n, err := s.CountAccounts(ctx); err != nil || n != 0 {
		t.Fatalf("CountAccounts = %d, %v", n, err)
	}
	id, err := s.CreateAccount(ctx, Account{Username: "Alice", DisplayName: "Alice A", PasswordHash: "h1", CreatedBy: "admin",
		Roles: []string{"operators", "browse", "operators"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		lookup func() (Account, error)
	}{
		{"by name", func() (Account, error) { return s.AccountByUsername(ctx, "alice") }},
		{"by name, other case", func() (Account, error) { return s.AccountByUsername(ctx, "ALICE") }},
		{"by id", func() (Account, error) { return s.AccountByID(ctx, id) }},
	}
	for _, tt := range tests {
		a, err := tt.lookup()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := Account{ID: id, Username: "Alice", DisplayName: "Alice A", PasswordHash: "h1", CreatedAt: now, CreatedBy: "admin",
			Roles: []string{"browse", "operators"}}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("%s: %+v\nwant %+v", tt.name, a, want)
		}
	}
	if _, err := s.CreateAccount(ctx, Account{Username: "ALICE", PasswordHash: "x"}); !errors.Is(err, ErrUsernameTaken) {
		t.Fatalf("duplicate username (other case): %v, want ErrUsernameTaken", err)
	}
	if _, err := s.AccountByUsername(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.AccountByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}

	bob, err := s.CreateAccount(ctx, Account{Username: "bob", PasswordHash: "h2", CreatedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoles(ctx, bob, []string{"admins"}, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoles(ctx, id, []string{"passwordset"}, "admin"); err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]int{"admins": 1, "operators": 0, "browse": 0, "passwordset": 1} {
		if n, err := s.CountRole(ctx, role); err != nil || n != want {
			t.Errorf("CountRole(%s) = %d, %v; want %d", role, n, err, want)
		}
	}
	carol, err := s.CreateAccount(ctx, Account{Username: "carol", PasswordHash: "h3"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	var order []string
	for _, a := range all {
		got[a.Username] = a.Roles
		order = append(order, a.Username)
		if a.PasswordHash != "" {
			t.Errorf("Accounts lists the password hash of %s", a.Username)
		}
	}
	if want := []string{"Alice", "bob", "carol"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Accounts order %v, want %v", order, want)
	}
	if want := map[string][]string{"Alice": {"passwordset"}, "bob": {"admins"}, "carol": nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("Accounts roles %v, want %v", got, want)
	}
	_ = carol
	if n, _ := s.CountAccounts(ctx); n != 3 {
		t.Errorf("CountAccounts = %d, want 3", n)
	}
}

func TestSyncGroups(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if g, err := s.SyncGroups(ctx); err != nil || len(g) != 0 {
		t.Fatalf("SyncGroups before configure = %v, %v", g, err)
	}
	first := map[string]string{"admins": "HSAdmins", "operators": "HSOps", "browse": "HSBrowse", "passwordset": "HSPw"}
	if err := s.SetSyncGroups(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Replacing swaps two names: only possible because the old rows go first.
	second := map[string]string{"admins": "HSOps", "operators": "HSAdmins"}
	if err := s.SetSyncGroups(ctx, second); err != nil {
		t.Fatal(err)
	}
	if g, err := s.SyncGroups(ctx); err != nil || !reflect.DeepEqual(g, second) {
		t.Fatalf("SyncGroups = %v, %v; want %v", g, err, second)
	}
	if err := s.SetSyncGroups(ctx, map[string]string{"admins": "Same", "browse": "Same"}); err == nil {
		t.Fatal("two groups with one name were accepted")
	}
	if g, _ := s.SyncGroups(ctx); !reflect.DeepEqual(g, second) {
		t.Fatalf("a failed SetSyncGroups changed the groups: %v", g)
	}
}

func TestCreateFirstAdmin(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		setToken  string // "" stores no token
		useToken  string
		preexist  bool
		wantErr   error
		wantCount int
	}{
		{"right token", "tok", "tok", false, nil, 1},
		{"wrong token", "tok", "nope", false, ErrBadSetupToken, 0},
		{"no token stored", "", "tok", false, ErrBadSetupToken, 0},
		{"an account exists", "tok", "tok", true, ErrAlreadySetUp, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			if tt.setToken != "" {
				if err := s.SetSetting(ctx, SettingSetupTokenHash, tt.setToken); err != nil {
					t.Fatal(err)
				}
			}
			if tt.preexist {
				if _, err := s.CreateAccount(ctx, Account{Username: "someone", PasswordHash: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.CreateFirstAdmin(ctx, Account{Username: "admin", PasswordHash: "h", Roles: []string{"admins"}}, tt.useToken)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateFirstAdmin = %v, want %v", err, tt.wantErr)
			}
			if n, _ := s.CountAccounts(ctx); n != tt.wantCount {
				t.Fatalf("%d accounts, want %d", n, tt.wantCount)
			}
			_, terr := s.Setting(ctx, SettingSetupTokenHash)
			if tt.wantErr == nil {
				if !errors.Is(terr, ErrNotFound) {
					t.Error("the setup token was not consumed")
				}
				a, err := s.AccountByUsername(ctx, "admin")
				if err != nil || a.CreatedBy != "setup token" || !reflect.DeepEqual(a.Roles, []string{"admins"}) {
					t.Errorf("first admin = %+v, %v", a, err)
				}
			} else if tt.setToken != "" && terr != nil {
				t.Error("a refused attempt consumed the setup token")
			}
		})
	}

	t.Run("second use", func(t *testing.T) {
		s := openTestStore(t)
		s.SetSetting(ctx, SettingSetupTokenHash, "tok")
		if _, err := s.CreateFirstAdmin(ctx, Account{Username: "a1", PasswordHash: "h"}, "tok"); err != nil {
			t.Fatal(err)
		}
		// Even with the token put back, a second first admin is refused.
		s.SetSetting(ctx, SettingSetupTokenHash, "tok")
		if _, err := s.CreateFirstAdmin(ctx, Account{Username: "a2", PasswordHash: "h"}, "tok"); !errors.Is(err, ErrAlreadySetUp) {
			t.Fatalf("second CreateFirstAdmin = %v, want ErrAlreadySetUp", err)
		}
	})

	t.Run("racing", func(t *testing.T) {
		s := openTestStore(t)
		s.SetSetting(ctx, SettingSetupTokenHash, "tok")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.CreateFirstAdmin(ctx, Account{Username: fmt.Sprintf("a%d", i), PasswordHash: "h"}, "tok"); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if n, _ := s.CountAccounts(ctx); wins != 1 || n != 1 {
			t.Fatalf("%d winners, %d accounts; want exactly one", wins, n)
		}
	})
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return now })
	id, _ := s.CreateAccount(ctx, Account{Username: "u", DisplayName: "U", PasswordHash: "h", CreatedBy: "t", Roles: []string{"browse", "admins"}})

	live := Session{IDHash: "live", AccountID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	old := Session{IDHash: "old", AccountID: id, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Millisecond)}
	edge := Session{IDHash: "edge", AccountID: id, CreatedAt: now, ExpiresAt: now}
	for _, se := range []Session{live, old, edge} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, Session{IDHash: "ghost", AccountID: 999, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err == nil {
		t.Error("a session of a missing account was stored (foreign keys off?)")
	}
	tests := []struct {
		hash string
		ok   bool
	}{{"live", true}, {"old", false}, {"edge", false}, {"unknown", false}}
	for _, tt := range tests {
		se, a, err := s.SessionAccount(ctx, tt.hash)
		if tt.ok && (err != nil || !reflect.DeepEqual(se, live) || a.ID != id || a.Username != "u" || a.DisplayName != "U" ||
			!reflect.DeepEqual(a.Roles, []string{"admins", "browse"})) {
			t.Errorf("SessionAccount(%s) = %+v, %+v, %v; want %+v with account u and roles [admins browse]", tt.hash, se, a, err, live)
		}
		if !tt.ok && !errors.Is(err, ErrNotFound) {
			t.Errorf("SessionAccount(%s) = %v, want ErrNotFound", tt.hash, err)
		}
	}
	if err := s.DeleteExpiredSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if got := queryStrings(t, s, `SELECT id_hash FROM sessions ORDER BY id_hash`); !reflect.DeepEqual(got, []string{"live"}) {
		t.Errorf("after DeleteExpiredSessions: %v", got)
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := s.SessionAccount(ctx, "live"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session past its expiry is still found: %v", err)
	}
	if err := s.DeleteSession(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if got := queryStrings(t, s, `SELECT id_hash FROM sessions`); len(got) != 0 {
		t.Errorf("after DeleteSession: %v", got)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := s.Setting(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing setting: %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.SetSetting(ctx, "x", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Setting(ctx, "x"); err != nil || got != v {
			t.Fatalf("Setting = %q, %v; want %q", got, err, v)
		}
	}
	calls := 0
	mk := func() (string, error) { calls++; return fmt.Sprintf("made-%d", calls), nil }
	for range 3 {
		v, err := s.SettingOrCreate(ctx, SettingSessionKeys, mk)
		if err != nil || v != "made-1" {
			t.Fatalf("SettingOrCreate = %q, %v; want made-1 every time", v, err)
		}
	}
	if calls != 1 {
		t.Fatalf("make called %d times, want 1", calls)
	}
	boom := errors.New("boom")
	if _, err := s.SettingOrCreate(ctx, "y", func() (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("SettingOrCreate passes make's error: %v", err)
	}
	if _, err := s.Setting(ctx, "y"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a failed make stored a value")
	}
	if err := s.DeleteSetting(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSetting(ctx, "x"); err != nil {
		t.Fatalf("deleting a missing setting: %v", err)
	}
	if _, err := s.Setting(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal("DeleteSetting left the setting")
	}
}

func TestWizardState(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return now })
	if _, err := s.WizardState(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before the first save: %v", err)
	}
	for i, w := range []WizardState{
		{Page: "express", Answers: []byte(`{"a":1}`), DonePages: []byte(`{}`), UpdatedBy: "alice"},
		{Page: "components", Answers: []byte(`{"a":2}`), DonePages: []byte(`{"express":true}`), UpdatedBy: "bob"},
	} {
		now = now.Add(time.Minute)
		if err := s.SaveWizardState(ctx, w); err != nil {
			t.Fatal(err)
		}
		got, err := s.WizardState(ctx)
		w.UpdatedAt = now
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("save %d: got %+v, %v; want %+v", i, got, err, w)
		}
	}
	if got := queryStrings(t, s, `SELECT page FROM wizard_state`); len(got) != 1 {
		t.Fatalf("wizard_state holds %d rows, want 1", len(got))
	}
}

func TestConfigurations(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := s.ActiveConfiguration(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before any: %v", err)
	}
	if holds, err := s.HoldsConfigurationOf(ctx, "me"); err != nil || holds {
		t.Fatalf("migrated, empty: HoldsConfigurationOf = %v, %v", holds, err)
	}
	id1, err := s.SaveActiveConfiguration(ctx, Configuration{InstallID: "me", Answers: []byte(`{"v":1}`), AppliedBy: "alice", JobID: 7})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.SaveActiveConfiguration(ctx, Configuration{InstallID: "me", Answers: []byte(`{"v":2}`), AppliedBy: "bob", JobID: 8})
	if err != nil || id2 <= id1 {
		t.Fatalf("second save: %d, %v", id2, err)
	}
	c, err := s.ActiveConfiguration(ctx)
	if err != nil || c.ID != id2 || string(c.Answers) != `{"v":2}` || c.AppliedBy != "bob" || c.JobID != 8 || !c.Active || c.InstallID != "me" {
		t.Fatalf("ActiveConfiguration = %+v, %v", c, err)
	}
	if got := queryStrings(t, s, `SELECT id FROM configurations WHERE active = 1`); len(got) != 1 {
		t.Fatalf("%d active configurations, want 1", len(got))
	}
	tests := []struct {
		install string
		holds   bool
	}{{"me", false}, {"someone-else", true}}
	for _, tt := range tests {
		if holds, err := s.HoldsConfigurationOf(ctx, tt.install); err != nil || holds != tt.holds {
			t.Errorf("HoldsConfigurationOf(%s) = %v, %v; want %v", tt.install, holds, err, tt.holds)
		}
	}
}

func TestHoldsConfigurationOfForeignDatabases(t *testing.T) {
	ctx := context.Background()
	t.Run("empty database", func(t *testing.T) {
		s, err := Open(ctx, Options{Dialect: SQLite, DSN: SQLitePath(t.TempDir())})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.HoldsConfigurationOf(ctx, "me"); !errors.Is(err, ErrNoSchema) {
			t.Fatalf("empty database: %v, want ErrNoSchema", err)
		}
	})
	t.Run("another application's database", func(t *testing.T) {
		path := SQLitePath(t.TempDir())
		s, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.w.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)`); err != nil {
			t.Fatal(err)
		}
		holds, err := s.HoldsConfigurationOf(ctx, "me")
		if err == nil || errors.Is(err, ErrNoSchema) || holds {
			t.Fatalf("foreign database: %v, %v; want an error that is not ErrNoSchema", holds, err)
		}
	})
}

func TestJobsStepsEvents(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return now })

	j1, err := s.CreateJob(ctx, Job{Kind: "configure", Status: "queued", Params: []byte(`{"p":1}`), CreatedBy: "alice",
		Steps: []Step{{Name: "one", Status: "pending"}, {Name: "two", Status: "pending"}}})
	if err != nil {
		t.Fatal(err)
	}
	j2, err := s.CreateJob(ctx, Job{Kind: "configure", Status: "running", Params: []byte(`{}`), CreatedBy: "bob", RetryOf: j1})
	if err != nil {
		t.Fatal(err)
	}
	j3, _ := s.CreateJob(ctx, Job{Kind: "x", Status: "queued", Params: []byte(`{}`)})

	got, err := s.Job(ctx, j1)
	if err != nil {
		t.Fatal(err)
	}
	want := Job{ID: j1, Kind: "configure", Status: "queued", Params: []byte(`{"p":1}`), CreatedBy: "alice", CreatedAt: now,
		Steps: []Step{{Position: 1, Name: "one", Status: "pending"}, {Position: 2, Name: "two", Status: "pending"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Job = %+v\nwant %+v", got, want)
	}
	if _, err := s.Job(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}

	// Events are numbered per job, from 1, whichever call appends them.
	start := now.Add(time.Second)
	seqs := map[int64][]int64{}
	add := func(job int64) func(int64, error) {
		return func(seq int64, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			seqs[job] = append(seqs[job], seq)
		}
	}
	add(j1)(s.AppendEvent(ctx, Event{JobID: j1, Kind: "job", Level: "info", Message: "queued"}))
	add(j2)(s.AppendEvent(ctx, Event{JobID: j2, Kind: "job", Level: "info", Message: "queued"}))
	add(j1)(s.UpdateJob(ctx, Job{ID: j1, Status: "running", StartedAt: start}, Event{JobID: j1, Kind: "job", Level: "info", Message: "started"}))
	add(j1)(s.UpdateStep(ctx, j1, Step{Position: 1, Name: "one", Status: "succeeded", StartedAt: start, FinishedAt: start.Add(time.Second), Detail: "ok"},
		Event{JobID: j1, Kind: "step", Step: 1, Level: "info", Message: "one done"}))
	add(j1)(s.AppendEvent(ctx, Event{JobID: j1, Kind: "log", Step: 2, Level: "warn", Message: "hmm", At: start.Add(2 * time.Second)}))
	add(j1)(s.UpdateJob(ctx, Job{ID: j1, Status: "failed", StartedAt: start, FinishedAt: start.Add(3 * time.Second), Error: "two: broke"},
		Event{JobID: j1, Kind: "job", Level: "error", Message: "failed"}))
	if want := map[int64][]int64{j1: {1, 2, 3, 4, 5}, j2: {1}}; !reflect.DeepEqual(seqs, want) {
		t.Fatalf("sequence numbers %v, want %v", seqs, want)
	}

	got, _ = s.Job(ctx, j1)
	if got.Status != "failed" || got.Error != "two: broke" || !got.StartedAt.Equal(start) || !got.FinishedAt.Equal(start.Add(3*time.Second)) {
		t.Errorf("job after updates: %+v", got)
	}
	if st := got.Steps[0]; st.Status != "succeeded" || st.Detail != "ok" || !st.FinishedAt.Equal(start.Add(time.Second)) {
		t.Errorf("step after update: %+v", st)
	}
	if st := got.Steps[1]; !st.StartedAt.IsZero() || !st.FinishedAt.IsZero() {
		t.Errorf("an untouched step has times: %+v", st)
	}

	evTests := []struct {
		after int64
		limit int
		want  []int64
	}{{0, 100, []int64{1, 2, 3, 4, 5}}, {2, 100, []int64{3, 4, 5}}, {0, 2, []int64{1, 2}}, {3, 1, []int64{4}}, {5, 10, nil}}
	for _, tt := range evTests {
		evs, err := s.Events(ctx, j1, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range evs {
			got = append(got, e.Seq)
			if e.JobID != j1 {
				t.Errorf("event of job %d in job %d's list", e.JobID, j1)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Events(after %d, limit %d) = %v, want %v", tt.after, tt.limit, got, tt.want)
		}
	}
	evs, _ := s.Events(ctx, j1, 3, 1)
	if e := evs[0]; e.Kind != "log" || e.Step != 2 || e.Level != "warn" || e.Message != "hmm" || !e.At.Equal(start.Add(2*time.Second)) {
		t.Errorf("event 4 = %+v", e)
	}
	evs, _ = s.Events(ctx, j1, 0, 1)
	if !evs[0].At.Equal(now) {
		t.Errorf("an event without a time gets the store's clock: %v, want %v", evs[0].At, now)
	}

	list, err := s.Jobs(ctx, 2)
	if err != nil || len(list) != 2 || list[0].ID != j3 || list[1].ID != j2 || list[1].RetryOf != j1 {
		t.Fatalf("Jobs(2) = %+v, %v", list, err)
	}

	statusTests := []struct {
		statuses []string
		want     []int64
	}{
		{[]string{"queued"}, []int64{j3}},
		{[]string{"queued", "running"}, []int64{j2, j3}}, // oldest first, whatever the order asked
		{[]string{"running", "queued"}, []int64{j2, j3}},
		{[]string{"succeeded"}, nil},
		{nil, nil},
	}
	for _, tt := range statusTests {
		js, err := s.JobsWithStatus(ctx, tt.statuses...)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, j := range js {
			ids = append(ids, j.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("JobsWithStatus(%v) = %v, want %v", tt.statuses, ids, tt.want)
		}
	}
}

func TestOpenReadOnlyChangesNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"hybridsync database", func(t *testing.T, path string) {
			s := openAt(t, path)
			s.SaveActiveConfiguration(ctx, Configuration{InstallID: "other", Answers: []byte(`{}`)})
			s.Close()
		}},
		{"foreign rollback-journal database", func(t *testing.T, path string) {
			s, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
			if err != nil {
				t.Fatal(err)
			}
			s.w.Exec(`PRAGMA journal_mode=DELETE`)
			s.w.Exec(`CREATE TABLE notes (body TEXT)`)
			s.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := SQLitePath(dir)
			tt.setup(t, path)
			before := snapshot(t, dir)

			ro, err := Open(ctx, Options{Dialect: SQLite, DSN: path, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			holds, herr := ro.HoldsConfigurationOf(ctx, "me")
			if _, err := ro.exec(ctx, `CREATE TABLE x (a INTEGER)`); err == nil {
				t.Error("a read-only store accepted a write")
			}
			if err := ro.Close(); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
				t.Errorf("the folder changed:\nbefore %v\nafter  %v", keys(before), keys(after))
			}
			if tt.name == "hybridsync database" && (herr != nil || !holds) {
				t.Errorf("read-only HoldsConfigurationOf = %v, %v; want true", holds, herr)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Open(ctx, Options{Dialect: SQLite, DSN: SQLitePath(dir), ReadOnly: true}); err == nil {
			t.Fatal("a read-only open of a missing file succeeded")
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Fatalf("a read-only open created %d files", len(es))
		}
	})
	t.Run("sees what a live writer has only in its WAL", func(t *testing.T) {
		path := SQLitePath(t.TempDir())
		s := openAt(t, path)
		if _, err := s.w.Exec(`PRAGMA wal_autocheckpoint=0`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveActiveConfiguration(ctx, Configuration{InstallID: "other", Answers: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		ro, err := Open(ctx, Options{Dialect: SQLite, DSN: path, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if holds, err := ro.HoldsConfigurationOf(ctx, "me"); err != nil || !holds {
			t.Fatalf("HoldsConfigurationOf = %v, %v; want true", holds, err)
		}
	})
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s(%d bytes, %x…)", k, len(v), firstBytes(v)))
	}
	return out
}

func firstBytes(b []byte) []byte {
	if len(b) > 4 {
		return b[:4]
	}
	return b
}

// TestOpenOddPaths: the wizard accepts any absolute folder; a path that looks
// like URI syntax must still open that very file.
func TestOpenOddPaths(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"with space", "hash#1", "q?mark", "pct%41", "amp&mode=ro"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			path := SQLitePath(dir)
			s := openAt(t, path)
			if err := s.SetSetting(ctx, "k", "v"); err != nil {
				t.Fatal(err)
			}
			s.Close()
			b, err := os.ReadFile(path)
			if err != nil || !bytes.HasPrefix(b, []byte("SQLite format 3")) {
				t.Fatalf("no database at %s: %v", path, err)
			}
			es, _ := os.ReadDir(filepath.Dir(dir))
			if len(es) != 1 {
				var names []string
				for _, e := range es {
					names = append(names, e.Name())
				}
				t.Fatalf("files made beside %s: %v", dir, names)
			}
			ro, err := Open(ctx, Options{Dialect: SQLite, DSN: path, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			if v, err := ro.Setting(ctx, "k"); err != nil || v != "v" {
				t.Fatalf("read back %q, %v", v, err)
			}
		})
	}
}

// TestConcurrentWritesNeverLock: writers on one store, and on a second store
// over the same file (another process), never see "database is locked".
func TestConcurrentWritesNeverLock(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	a := openAt(t, path)
	b, err := Open(ctx, Options{Dialect: SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	jobs := make([]int64, 4)
	for i := range jobs {
		if jobs[i], err = a.CreateJob(ctx, Job{Kind: "k", Status: "running", Params: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				job := jobs[(w+i)%len(jobs)]
				if _, err := st.AppendEvent(ctx, Event{JobID: job, Kind: "log", Level: "info", Message: "m"}); err != nil {
					errs <- err
				}
				if err := st.SetSetting(ctx, fmt.Sprintf("s%d", w%3), fmt.Sprint(i)); err != nil {
					errs <- err
				}
				if _, err := st.SettingOrCreate(ctx, "once", func() (string, error) { return fmt.Sprint(w), nil }); err != nil {
					errs <- err
				}
				if _, err := st.Events(ctx, job, 0, 10); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	total := 0
	for _, j := range jobs {
		evs, err := a.Events(ctx, j, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("job %d: event %d has seq %d; sequence numbers must be 1..n without gaps", j, i, e.Seq)
			}
		}
		total += len(evs)
	}
	if total != workers*each {
		t.Fatalf("%d events stored, want %d", total, workers*each)
	}
}

func TestServerHelpers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HybridSync", "[HybridSync]"},
		{"a]b", "[a]]b]"},
		{"", "[]"},
	}
	for _, tt := range tests {
		if got := QuoteIdent(tt.in); got != tt.want {
			t.Errorf("QuoteIdent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
