package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestUpgradeMidExportCreatesNothingTwice: a server killed after Graph
// created objects but before the export recorded them leaves creates in
// flight in export_objects; the database is then upgraded (export_objects
// folds into mv_exported) and the re-run finds the objects it created
// instead of creating them again. Hard match is blocked, so a user is taken
// over only because its create in flight survived the upgrade.
func TestUpgradeMidExportCreatesNothingTwice(t *testing.T) {
	ctx := context.Background()
	match := &MatchSettings{BlockHardMatch: true, BlockSoftMatch: true}
	e := newEnv(t, tenant.Options{}, Options{Concurrency: 1, Match: match})
	changes := []metaverse.Change{
		userAdd("up1", "up1@"+domain), userAdd("up2", "up2@"+domain),
		{Key: "upg", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{attr("displayName", "Upgrade")}},
	}
	// The lookups go first (one $batch), then the creates (the second):
	// the server dies once Graph answered them.
	calls := 0
	e.exp.afterGraph = func() error {
		if calls++; calls == 2 {
			return errors.New("killed")
		}
		return nil
	}
	if res, err := e.exp.Run(ctx, changes); err == nil || res.Status != StatusFailed {
		t.Fatalf("killed run: %+v, %v", res, err)
	}
	inFlight, err := e.st.ExportObjects(ctx, []string{"up1", "up2", "upg"})
	if err != nil || len(inFlight) != 3 {
		t.Fatalf("creates in flight: %+v, %v", inFlight, err)
	}
	for k, o := range inFlight {
		if o.CloudID != "" || o.CreateStartedAt.IsZero() {
			t.Fatalf("%s is not a create in flight: %+v", k, o)
		}
	}

	// The same state in a database of the version before the upgrade.
	path := filepath.Join(t.TempDir(), "old.db")
	upgrade := oldDatabase(t, path)
	for _, o := range inFlight {
		lookup := `{}`
		if len(o.Lookup) > 0 {
			lookup = mustJSON(t, o.Lookup)
		}
		if _, err := upgrade.Exec(`INSERT INTO export_objects (object_key, kind, cloud_id, attrs, lookup, create_started_at, exported_at) VALUES (?, ?, '', '{}', ?, ?, 0)`,
			o.Key, o.Kind, lookup, o.CreateStartedAt.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	if err := upgrade.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	e.st, e.exp = st, New(e.sync, st, Options{Concurrency: 1, Match: match, Logger: e.exp.log})
	res := e.run(t, changes)
	if res.Status != StatusSuccess || res.Matched != 3 || res.Adds != 0 || len(res.Confirmed) != 3 {
		t.Fatalf("re-run after the upgrade: %+v", res)
	}
	for _, k := range []string{"up1", "up2"} {
		if us := e.usersWithAnchor(t, k); len(us) != 1 {
			t.Errorf("%s: %d users in the tenant", k, len(us))
		}
	}
	if gs, err := e.admin.FindGroups(ctx, "displayName eq "+cloud.Quote("Upgrade")); err != nil || len(gs) != 1 {
		t.Errorf("group Upgrade: %d in the tenant, %v", len(gs), err)
	}
	if n, err := st.CountExportObjects(ctx); err != nil || n != 3 {
		t.Errorf("CountExportObjects = %d, %v", n, err)
	}
}

// oldDatabase makes a SQLite database of the schema version before
// export_objects folded into mv_exported, as an older hybridsync left it.
func oldDatabase(t *testing.T, path string) *sql.DB {
	t.Helper()
	ms, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Description == "one export record" {
			return db
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("migration %03d: %v", m.Version, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, 0)`, m.Version, m.Description); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no migration folds export_objects into mv_exported")
	return nil
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
