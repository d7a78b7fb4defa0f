package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// The open sync errors, a page at a time, by attribute and text; their
// holders found among the exported objects by cloud id.
func TestSyncErrorPage(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	var errs []SyncError
	for i := range 5 {
		attr := "userPrincipalName"
		if i%2 == 1 {
			attr = "proxyAddresses"
		}
		errs = append(errs, SyncError{Key: fmt.Sprintf("k%d", i), Kind: "user", Source: fmt.Sprintf("corp: CN=User %d", i), Attribute: attr,
			Value: fmt.Sprintf("u%d@corp.example.test", i), HolderID: fmt.Sprintf("h%d", i), Holder: fmt.Sprintf("holder%d@contoso.test", i)})
	}
	if err := s.RecordSyncErrors(ctx, errs); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveSyncErrors(ctx, "k4", []string{"userPrincipalName"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountSyncErrors(ctx); err != nil || n != 4 {
		t.Fatalf("%d open (%v), want 4", n, err)
	}
	tests := []struct {
		name  string
		f     SyncErrorFilter
		keys  int
		total int
	}{
		{"first page", SyncErrorFilter{Limit: 3}, 3, 4},
		{"second page", SyncErrorFilter{Limit: 3, Offset: 3}, 1, 4},
		{"by attribute", SyncErrorFilter{Attribute: "proxyAddresses"}, 2, 2},
		{"by value", SyncErrorFilter{Text: "u2@"}, 1, 1},
		{"by holder", SyncErrorFilter{Text: "HOLDER3"}, 1, 1},
		{"a wildcard is a letter", SyncErrorFilter{Text: "%"}, 0, 0},
		{"resolved ones are left out", SyncErrorFilter{Text: "u4@"}, 0, 0},
	}
	for _, tt := range tests {
		got, total, err := s.SyncErrorPage(ctx, tt.f)
		if err != nil || len(got) != tt.keys || total != tt.total {
			t.Errorf("%s: %d of %d (%v), want %d of %d", tt.name, len(got), total, err, tt.keys, tt.total)
		}
	}
	for _, tt := range []struct {
		keys []string
		want int
	}{{[]string{"k1", "k3"}, 2}, {[]string{"k4"}, 0}, {[]string{"k0", "nobody"}, 1}, {nil, 0}} {
		got, err := s.OpenSyncErrorsOf(ctx, tt.keys)
		if err != nil || len(got) != tt.want {
			t.Errorf("open errors of %v: %d (%v), want %d", tt.keys, len(got), err, tt.want)
		}
		for i, e := range got {
			if !slices.Contains(tt.keys, e.Key) {
				t.Errorf("open errors of %v: %s's", tt.keys, e.Key)
			}
			if i > 0 && (e.LastSeen.After(got[i-1].LastSeen) || e.LastSeen.Equal(got[i-1].LastSeen) && e.ID > got[i-1].ID) {
				t.Errorf("open errors of %v: not newest first: %s after %s", tt.keys, e.Key, got[i-1].Key)
			}
		}
	}
	if _, err := s.exec(ctx, `INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
		VALUES ('holder-key', 'user', 'h1', 'corp: CN=Holder', '{}', 1, '{}', 0, 1)`); err != nil {
		t.Fatal(err)
	}
	refs, err := s.ExportedByCloudID(ctx, []string{"h1", "h2", ""})
	if err != nil || len(refs) != 1 || refs["h1"].Key != "holder-key" || refs["h1"].Source != "corp: CN=Holder" {
		t.Errorf("holders by cloud id: %+v %v", refs, err)
	}
}
