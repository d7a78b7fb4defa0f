package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestExportObjects(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	// A create about to be sent, then confirmed; a second intent for a
	// confirmed key keeps its cloud id.
	if err := s.BeginExportCreates(ctx, []ExportObject{{Key: "a", Kind: "group", Lookup: map[string]string{"mailNickname": "sales"}}, {Key: "b", Kind: "user"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExportObjects(ctx, []string{"a", "b", "c"})
	if err != nil || len(got) != 2 || got["a"].CloudID != "" || got["a"].CreateStartedAt.IsZero() || got["a"].Lookup["mailNickname"] != "sales" {
		t.Fatalf("after BeginExportCreates: %+v, %v", got, err)
	}
	attrs := map[string][]string{"displayName": {"Sales"}, "proxyAddresses": {"SMTP:a@x", "smtp:b@x"}}
	if err := s.SaveExportObjects(ctx, []ExportObject{{Key: "a", Kind: "group", CloudID: "id-a", Attrs: attrs}}); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginExportCreates(ctx, []ExportObject{{Key: "a", Kind: "group"}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ExportObjects(ctx, []string{"a"})
	if a := got["a"]; a.CloudID != "id-a" || !reflect.DeepEqual(a.Attrs, attrs) || a.ExportedAt.IsZero() {
		t.Fatalf("confirmed object %+v", a)
	}
	if n, err := s.CountExportObjects(ctx); err != nil || n != 1 {
		t.Errorf("CountExportObjects = %d, %v", n, err)
	}
	if err := s.DeleteExportObjects(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ExportObjects(ctx, []string{"a", "b"}); len(got) != 0 {
		t.Errorf("after delete: %+v", got)
	}
	// More keys than one IN list holds.
	var many []ExportObject
	var keys []string
	for i := range 1200 {
		k := "k" + time.Duration(i).String()
		many = append(many, ExportObject{Key: k, Kind: "user", CloudID: "c" + k})
		keys = append(keys, k)
	}
	if err := s.SaveExportObjects(ctx, many); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ExportObjects(ctx, keys); err != nil || len(got) != 1200 {
		t.Errorf("1,200 keys: %d, %v", len(got), err)
	}
}

func TestSyncErrors(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	at := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return at })
	e := SyncError{Key: "k1", Kind: "user", Source: "corp: CN=A", Attribute: "userPrincipalName", Value: "a@x", HolderID: "h1", Holder: "a@x", Message: "dup"}
	if err := s.RecordSyncErrors(ctx, []SyncError{e, {Key: "k2", Kind: "user", Attribute: "proxyAddresses", Value: "smtp:b@x"}}); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Minute)
	e.HolderID = "h2"
	if err := s.RecordSyncErrors(ctx, []SyncError{e}); err != nil {
		t.Fatal(err)
	}
	open, err := s.SyncErrors(ctx, true, 10)
	if err != nil || len(open) != 2 || open[0].Key != "k1" || open[0].HolderID != "h2" || !open[0].LastSeen.Equal(at) || open[0].FirstSeen.Equal(at) {
		t.Fatalf("open errors %+v, %v", open, err)
	}
	if err := s.ResolveSyncErrors(ctx, "k1", []string{"userPrincipalName"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveSyncErrors(ctx, "k2", nil); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.SyncErrors(ctx, true, 10); len(open) != 0 {
		t.Errorf("still open: %+v", open)
	}
	all, _ := s.SyncErrors(ctx, false, 10)
	if len(all) != 2 || all[0].ResolvedAt.IsZero() {
		t.Errorf("all errors %+v", all)
	}
	// Seen again after it was resolved: a new open row.
	if err := s.RecordSyncErrors(ctx, []SyncError{e}); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.SyncErrors(ctx, true, 10); len(open) != 1 {
		t.Errorf("reopened: %+v", open)
	}
}

func TestDeletionGuardSettings(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	g, err := s.DeletionGuard(ctx)
	if err != nil || !g.Enabled || g.Threshold != DefaultDeletionThreshold || g.Percent != 0 || g.AllowDeletes != 0 {
		t.Fatalf("default guard %+v, %v", g, err)
	}
	if err := s.AllowDeletesOnce(ctx, 700, "ann"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDeletionGuard(ctx, DeletionGuard{Enabled: true, Threshold: 100, Percent: 20}, "ben"); err != nil {
		t.Fatal(err)
	}
	g, _ = s.DeletionGuard(ctx)
	if !g.Enabled || g.Threshold != 100 || g.Percent != 20 || g.AllowDeletes != 700 || g.AllowBy != "ann" || g.UpdatedBy != "ben" || g.AllowAt.IsZero() {
		t.Fatalf("guard %+v", g)
	}
	if err := s.UseDeleteAllowance(ctx); err != nil {
		t.Fatal(err)
	}
	if g, _ = s.DeletionGuard(ctx); g.AllowDeletes != 0 || g.Threshold != 100 {
		t.Errorf("after use: %+v", g)
	}
	for _, bad := range []DeletionGuard{{Threshold: -1}, {Percent: 101}} {
		if err := s.SetDeletionGuard(ctx, bad, "x"); err == nil {
			t.Errorf("SetDeletionGuard(%+v) accepted", bad)
		}
	}
}

func TestExportRuns(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	id, err := s.StartExportRun(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	r := ExportRun{ID: id, Status: "stopped-deletion-threshold-exceeded", Adds: 1, Updates: 2, Deletes: 3, Memberships: 4, Errors: 5, Writes: 6,
		Throttled: 1500 * time.Millisecond, PendingDeletes: []PendingDelete{{Key: "k", Kind: "user", Object: "a@x", Source: "corp"}}, Message: "stopped"}
	if err := s.FinishExportRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartExportRun(ctx, true); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ExportRuns(ctx, 10)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	got := runs[1]
	if runs[0].Status != "running" || !runs[0].Staging || got.FinishedAt.IsZero() {
		t.Fatalf("runs %+v", runs)
	}
	got.StartedAt, got.FinishedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("run read back as\n %+v\nwant\n %+v", got, r)
	}
}

// TestExportAndMetaverseShareOneRecord follows one object through the
// export's writes and the metaverse's records of the one row they share.
func TestExportAndMetaverseShareOneRecord(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	exported := func(key string) (MVExported, bool) {
		t.Helper()
		m, err := s.MetaverseExported(ctx, []string{key}, false)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := m[key]
		return e, ok
	}
	// attrs are an exported object's attributes, read as a sync reads them.
	attrs := func(e MVExported) map[string][]string {
		t.Helper()
		m, err := ParseAttrs(e.Attrs, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	object := func(key string) ExportObject {
		t.Helper()
		m, err := s.ExportObjects(ctx, []string{key})
		if err != nil {
			t.Fatal(err)
		}
		return m[key]
	}
	count := func() int {
		t.Helper()
		n, err := s.CountExportObjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A create sent: the export knows of it, the metaverse does not, and
	// it is not in the tenant yet.
	if err := s.BeginExportCreates(ctx, []ExportObject{{Key: "g", Kind: "group", Lookup: map[string]string{"mailNickname": "sales"}}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := exported("g"); ok {
		t.Error("a create in flight is exported for the metaverse: its add would become an update")
	}
	if n := count(); n != 0 {
		t.Errorf("a create in flight is counted in the tenant: %d", n)
	}
	// Graph confirmed it: in the tenant, still not recorded.
	graphAttrs := map[string][]string{"displayName": {"Sales"}, "mailNickname": {"sales"}, "securityEnabled": {"true"}}
	if err := s.SaveExportObjects(ctx, []ExportObject{{Key: "g", Kind: "group", CloudID: "id-g", Attrs: graphAttrs}}); err != nil {
		t.Fatal(err)
	}
	if x, ok := exported("g"); !ok || x.Recorded || x.CloudID != "id-g" {
		t.Errorf("a create the metaverse has not recorded: %+v (%v), want it with its cloud id, unrecorded", x, ok)
	}
	if o := object("g"); o.CloudID != "id-g" || o.Recorded || !o.CreateStartedAt.IsZero() || len(o.Lookup) != 0 || !reflect.DeepEqual(o.Attrs, graphAttrs) {
		t.Errorf("after Graph confirmed the create: %+v", o)
	}
	if n := count(); n != 1 {
		t.Errorf("CountExportObjects = %d, want 1", n)
	}
	// The metaverse records the add: its attributes replace Graph's.
	add := MVConfirmed{Key: "g", Kind: "group", Op: "add", CloudID: "id-g", Source: "corp: CN=Sales",
		Attrs: []MVAttrChange{{Name: "displayName", New: []string{"Sales"}}, {Name: "mail", New: []string{"sales@x"}}}, AddMembers: []string{"u"}}
	if err := s.RecordExported(ctx, []MVConfirmed{add}); err != nil {
		t.Fatal(err)
	}
	mvAttrs := map[string][]string{"displayName": {"Sales"}, "mail": {"sales@x"}}
	if e, ok := exported("g"); !ok || e.CloudID != "id-g" || e.Source != "corp: CN=Sales" || !reflect.DeepEqual(attrs(e), mvAttrs) || !reflect.DeepEqual(e.Members, []string{"u"}) {
		t.Errorf("after RecordExported: %+v, %v", e, ok)
	}
	// The export's later writes keep the metaverse's kind and attributes;
	// a new cloud id is taken.
	if err := s.SaveExportObjects(ctx, []ExportObject{{Key: "g", Kind: "user", CloudID: "id-g2", Attrs: map[string][]string{"displayName": {"Other"}}}}); err != nil {
		t.Fatal(err)
	}
	if o := object("g"); o.CloudID != "id-g2" || o.Kind != "group" || !o.Recorded || !reflect.DeepEqual(o.Attrs, mvAttrs) {
		t.Errorf("a recorded object after SaveExportObjects: %+v", o)
	}
	// A create begun again keeps the recorded state.
	if err := s.BeginExportCreates(ctx, []ExportObject{{Key: "g", Kind: "group", Lookup: map[string]string{"mailNickname": "x"}}}); err != nil {
		t.Fatal(err)
	}
	if e, ok := exported("g"); !ok || e.CloudID != "id-g2" || !reflect.DeepEqual(attrs(e), mvAttrs) {
		t.Errorf("a recorded object after BeginExportCreates: %+v, %v", e, ok)
	}
	// An update recorded over a row the metaverse never recorded starts
	// from nothing, not from Graph's attributes.
	if err := s.SaveExportObjects(ctx, []ExportObject{{Key: "u", Kind: "user", CloudID: "id-u", Attrs: map[string][]string{"accountEnabled": {"true"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordExported(ctx, []MVConfirmed{{Key: "u", Kind: "user", Op: "update", Attrs: []MVAttrChange{{Name: "jobTitle", New: []string{"Clerk"}}}}}); err != nil {
		t.Fatal(err)
	}
	if e, ok := exported("u"); !ok || e.CloudID != "id-u" || !reflect.DeepEqual(attrs(e), map[string][]string{"jobTitle": {"Clerk"}}) {
		t.Errorf("an update recorded over an unrecorded row: %+v, %v", e, ok)
	}
	// The export deletes the group: its row and memberships go; the
	// metaverse, told later, has nothing left to forget.
	if err := s.DeleteExportObjects(ctx, []string{"g"}); err != nil {
		t.Fatal(err)
	}
	if got := queryStrings(t, s, `SELECT member_key FROM mv_exported_members WHERE group_key = 'g'`); len(got) != 0 {
		t.Errorf("memberships of a deleted group kept: %v", got)
	}
	if err := s.RecordExported(ctx, []MVConfirmed{{Key: "g", Kind: "group", Op: "delete"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := exported("g"); ok || count() != 1 {
		t.Errorf("after the delete: exported %v, %d in the tenant", ok, count())
	}
}

// TestExportRunsInterrupted: a run killed while it ran (never finished)
// keeps the counts its progress recorded and is ended as interrupted at the
// next start; finished runs are left alone, and a progress written after a
// run finished does not change it.
func TestExportRunsInterrupted(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	progress := ExportRun{Adds: 20, Updates: 3, Deletes: 1, Memberships: 7, Errors: 2, Writes: 31, Throttled: 250 * time.Millisecond}
	tests := []struct {
		name     string
		staging  bool
		progress bool // the run recorded its progress
		finish   *ExportRun
		want     ExportRun // ID, times and pending deletes aside
	}{
		{name: "killed after progress", progress: true,
			want: ExportRun{Status: "interrupted", Adds: 20, Updates: 3, Deletes: 1, Memberships: 7, Errors: 2, Writes: 31, Throttled: 250 * time.Millisecond,
				Message: MsgExportInterrupted}},
		{name: "killed before any progress", want: ExportRun{Status: "interrupted", Message: MsgExportInterrupted}},
		{name: "staging run killed", staging: true, want: ExportRun{Status: "interrupted", Staging: true, Message: MsgReviewInterrupted}},
		{name: "finished, then a late progress", progress: true, finish: &ExportRun{Status: "completed-with-errors", Adds: 25, Errors: 2, Writes: 40, Message: "done"},
			want: ExportRun{Status: "completed-with-errors", Adds: 25, Errors: 2, Writes: 40, Message: "done"}},
	}
	ids := make([]int64, len(tests))
	for i, tt := range tests {
		id, err := s.StartExportRun(ctx, tt.staging)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		if tt.finish != nil {
			f := *tt.finish
			f.ID = id
			if err := s.FinishExportRun(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		if tt.progress {
			p := progress
			p.ID = id
			if err := s.UpdateExportRunProgress(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	// While killed runs wait for the next start, they show their progress.
	runs, err := s.ExportRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r := runs[len(runs)-1]; r.Status != "running" || r.Adds != 20 || r.Writes != 31 || !r.FinishedAt.IsZero() {
		t.Fatalf("killed run before the restart: %+v", r)
	}
	if n, err := s.EndInterruptedExportRuns(ctx); err != nil || n != 3 {
		t.Fatalf("EndInterruptedExportRuns = %d, %v; want 3", n, err)
	}
	if n, err := s.EndInterruptedExportRuns(ctx); err != nil || n != 0 {
		t.Fatalf("EndInterruptedExportRuns again = %d, %v; want 0", n, err)
	}
	runs, err = s.ExportRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]ExportRun{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := byID[ids[i]]
			if got.FinishedAt.IsZero() || got.FinishedAt.Before(got.StartedAt) {
				t.Errorf("finished at %v, started at %v", got.FinishedAt, got.StartedAt)
			}
			got.ID, got.StartedAt, got.FinishedAt, got.PendingDeletes = 0, time.Time{}, time.Time{}, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("run\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}
