package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// migrateTo applies the migrations up to and including version v, as
// Migrate does (each in its own transaction with its schema_migrations row).
func migrateTo(t *testing.T, s *Store, v int) {
	t.Helper()
	ctx := context.Background()
	if err := s.createVersionTable(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := Migrations(s.dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:v] {
		err := s.tx(ctx, func(tx *Tx) error {
			for _, stmt := range splitStatements(m.SQL) {
				if _, err := tx.exec(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, 0)`, m.Version, m.Description)
			return err
		})
		if err != nil {
			t.Fatalf("migration %03d: %v", m.Version, err)
		}
	}
}

// oneRecordVersion is the migration that folds export_objects into
// mv_exported.
func oneRecordVersion(t *testing.T) int {
	t.Helper()
	ms, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Description == "one export record" {
			return m.Version
		}
	}
	t.Fatal("no migration folds export_objects into mv_exported")
	return 0
}

// TestMigrateFoldsExportObjectsIntoExported upgrades a store that holds rows
// in both export_objects and mv_exported, as a server killed mid-export
// leaves them, and checks what each kind of row became.
func TestMigrateFoldsExportObjectsIntoExported(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dialect: SQLite, DSN: SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	v := oneRecordVersion(t)
	migrateTo(t, s, v-1)

	const t1, t2 = int64(1_700_000_000_000), int64(1_700_000_500_000)
	// The metaverse's exported state: what it recorded.
	for _, r := range []struct{ key, kind, cloud, source, attrs string }{
		{"both", "user", "id-old", "corp: CN=Both", `{"displayName":["Both"],"proxyAddresses":["SMTP:both@x"]}`},
		{"both-recreating", "group", "id-g", "corp: CN=Sales", `{"displayName":["Sales"]}`},
		{"gone", "user", "id-gone", "corp: CN=Gone", `{"displayName":["Gone"]}`},
	} {
		if _, err := s.w.Exec(`INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.key, r.kind, r.cloud, r.source, r.attrs, t1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Exec(`INSERT INTO mv_exported_members (group_key, member_key) VALUES ('both-recreating', 'both')`); err != nil {
		t.Fatal(err)
	}
	// The export's record of the tenant.
	for _, r := range []struct {
		key, kind, cloud, attrs, lookup string
		started, exported               int64
	}{
		// Confirmed by both; the export's cloud id is the newer one.
		{"both", "user", "id-new", `{"displayName":["Both"]}`, `{}`, 0, t2},
		// A create in flight for a key the metaverse recorded.
		{"both-recreating", "group", "", `{}`, `{"mailNickname":"sales"}`, t2, 0},
		// A create sent, not confirmed: the server was killed mid-export.
		{"flight", "group", "", `{}`, `{"mailNickname":"eng","displayName":"Engineering"}`, t2, 0},
		// Created (or matched) and confirmed by Graph, not yet recorded by
		// the metaverse.
		{"created", "user", "id-created", `{"accountEnabled":["true"],"displayName":["Cat"]}`, `{}`, 0, t2},
	} {
		if _, err := s.w.Exec(`INSERT INTO export_objects (object_key, kind, cloud_id, attrs, lookup, create_started_at, exported_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.key, r.kind, r.cloud, r.attrs, r.lookup, r.started, r.exported); err != nil {
			t.Fatal(err)
		}
	}

	if n, err := s.Migrate(ctx); err != nil || n == 0 {
		t.Fatalf("Migrate = %d, %v", n, err)
	}
	if got := queryStrings(t, s, `SELECT name FROM sqlite_master WHERE name LIKE 'export_objects%'`); len(got) != 0 {
		t.Errorf("export_objects left behind: %v", got)
	}

	objs, err := s.ExportObjects(ctx, []string{"both", "both-recreating", "flight", "created", "gone", "never"})
	if err != nil {
		t.Fatal(err)
	}
	ms := time.UnixMilli
	tests := []struct {
		key  string
		want ExportObject
	}{
		{"both", ExportObject{Key: "both", Kind: "user", CloudID: "id-new",
			Attrs:  map[string][]string{"displayName": {"Both"}, "proxyAddresses": {"SMTP:both@x"}},
			Lookup: map[string]string{}, ExportedAt: ms(t2), Recorded: true}},
		{"both-recreating", ExportObject{Key: "both-recreating", Kind: "group", CloudID: "id-g",
			Attrs: map[string][]string{"displayName": {"Sales"}}, Lookup: map[string]string{"mailNickname": "sales"},
			CreateStartedAt: ms(t2), ExportedAt: ms(t1), Recorded: true}},
		{"flight", ExportObject{Key: "flight", Kind: "group", Attrs: map[string][]string{},
			Lookup: map[string]string{"mailNickname": "eng", "displayName": "Engineering"}, CreateStartedAt: ms(t2)}},
		{"created", ExportObject{Key: "created", Kind: "user", CloudID: "id-created",
			Attrs: map[string][]string{"accountEnabled": {"true"}, "displayName": {"Cat"}}, Lookup: map[string]string{}, ExportedAt: ms(t2)}},
		{"gone", ExportObject{Key: "gone", Kind: "user", CloudID: "id-gone", Attrs: map[string][]string{"displayName": {"Gone"}},
			Lookup: map[string]string{}, ExportedAt: ms(t1), Recorded: true}},
	}
	for _, tt := range tests {
		got := objs[tt.key]
		if !got.CreateStartedAt.Equal(tt.want.CreateStartedAt) || !got.ExportedAt.Equal(tt.want.ExportedAt) {
			t.Errorf("%s: started %v exported %v, want %v %v", tt.key, got.CreateStartedAt, got.ExportedAt, tt.want.CreateStartedAt, tt.want.ExportedAt)
		}
		got.CreateStartedAt, got.ExportedAt, tt.want.CreateStartedAt, tt.want.ExportedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s after the migration:\n got  %+v\n want %+v", tt.key, got, tt.want)
		}
	}
	if len(objs) != len(tests) {
		t.Errorf("ExportObjects returned %d objects, want %d", len(objs), len(tests))
	}

	// The metaverse sees what it recorded, and the unrecorded create with
	// its cloud id, flagged (an add again while it holds the object, a
	// delete once it doesn't); the create in flight, with no cloud id, not.
	exp, err := s.MetaverseExported(ctx, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 4 || exp["both"].CloudID != "id-new" || exp["both"].Source != "corp: CN=Both" || !exp["both"].Recorded ||
		!reflect.DeepEqual(exp["both-recreating"].Members, []string{"both"}) || exp["gone"].CloudID != "id-gone" ||
		exp["created"].Recorded || exp["created"].CloudID != "id-created" {
		t.Errorf("MetaverseExported = %+v", exp)
	}
	if byKey, err := s.MetaverseExported(ctx, []string{"flight", "created", "both"}, false); err != nil || len(byKey) != 2 || byKey["both"].Key != "both" || byKey["created"].Recorded {
		t.Errorf("MetaverseExported(flight, created, both) = %+v, %v", byKey, err)
	}
	// In the tenant: everything with a cloud id, recorded or not.
	if n, err := s.CountExportObjects(ctx); err != nil || n != 4 {
		t.Errorf("CountExportObjects = %d, %v; want 4 (both, both-recreating, created, gone)", n, err)
	}
}
