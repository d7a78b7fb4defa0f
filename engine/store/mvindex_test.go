package store

import (
	"context"
	"slices"
	"testing"
)

// A full sync's write drops the metaverse tables' secondary indexes and
// builds them again: the schema is the same after it, whether the write
// succeeds or fails half-way, and the lookups still find the rows.
func TestSaveMetaverseKeepsIndexes(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	indexes := func() []string {
		rows, err := st.r.QueryContext(ctx, `SELECT name || ': ' || sql FROM sqlite_master
			WHERE type = 'index' AND sql IS NOT NULL AND tbl_name LIKE 'mv_%' ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	before := indexes()
	if len(before) < 5 {
		t.Fatalf("the metaverse tables have %d indexes: %v", len(before), before)
	}
	objects := func(yield func(MVObject, error) bool) {
		yield(MVObject{Key: "k1", Kind: "user", UPN: "Ann@Example.test", Attrs: map[string][]string{"userPrincipalName": {"Ann@Example.test"}}}, nil)
	}
	joins := func(yield func(MVJoin, error) bool) {
		yield(MVJoin{Connector: "corp", Anchor: "a1", DN: "CN=Ann,DC=corp", Key: "k1", Synced: true, Trace: []byte("{}")}, nil)
	}
	tests := []struct {
		name    string
		pending func(yield func(MVPending, error) bool)
		wantErr bool
	}{
		{"written", func(yield func(MVPending, error) bool) {
			yield(MVPending{Key: "k1", Op: "add", Kind: "user", Change: []byte("{}")}, nil)
		}, false},
		{"failed half-way", func(yield func(MVPending, error) bool) {
			yield(MVPending{}, context.Canceled)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.SaveMetaverse(ctx, MVWrite{Full: true, Objects: objects, Joins: joins, Pending: tt.pending})
			if (err != nil) != tt.wantErr {
				t.Fatalf("SaveMetaverse: %v, want error %v", err, tt.wantErr)
			}
			if after := indexes(); !slices.Equal(after, before) {
				t.Fatalf("indexes after the write:\n%v\nwant\n%v", after, before)
			}
			objs, err := st.FindMetaverse(ctx, "ann@example.test")
			if err != nil || len(objs) != 1 || objs[0].Key != "k1" {
				t.Fatalf("lookup by UPN: %v %v", objs, err)
			}
			js, err := st.MetaverseJoinsByDN(ctx, "cn=ann,dc=corp")
			if err != nil || len(js) != 1 {
				t.Fatalf("lookup by DN: %v %v", js, err)
			}
		})
	}
}
