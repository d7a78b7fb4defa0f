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
