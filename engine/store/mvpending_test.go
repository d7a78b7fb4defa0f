package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// A pending export written with its object (MVObject.Pending) is stored
// and read back as one written in Pending: the export order is the ord
// column, not the order of the writes. The sequences reuse their buffers
// and slices from one row to the next, as the engine's do; the rows are
// more than one statement's.
func TestPendingWithTheirObjects(t *testing.T) {
	ctx := context.Background()
	type key struct {
		obj     MVObject
		pending []MVPending
	}
	// 250 objects, users and groups; every third has no pending export,
	// every fifth changed kind (a delete, then an add); 20 keys have no
	// object (deletes).
	var keys []key
	var gone []MVPending
	for i := range 250 {
		k := fmt.Sprintf("k%03d", i)
		kind := []string{"user", "group"}[i%2]
		o := MVObject{Key: k, Kind: kind, UPN: strings.ToUpper(k) + "@example.test", DisplayName: "Object " + k,
			Source: "corp: CN=" + k, Attrs: map[string][]string{"displayName": {"Object " + k}, "proxyAddresses": {"SMTP:" + k, "smtp:" + k + "@b"}},
			Sources: []MVSource{{Connector: "corp", Anchor: "a" + k}}}
		if kind == "group" {
			o.Members = []string{"k001", "k003"}
		}
		var ps []MVPending
		switch {
		case i%3 == 0:
		case i%5 == 0:
			ps = append(ps, pendingOf(k, "delete", "contact", 5, 0, 0), pendingOf(k, "add", kind, ordOf("add", kind), 2, len(o.Members)))
		default:
			op := []string{"add", "update"}[i%4/2]
			ps = append(ps, pendingOf(k, op, kind, ordOf(op, kind), 1+i%3, len(o.Members)))
		}
		keys = append(keys, key{o, ps})
	}
	for i := range 20 {
		gone = append(gone, pendingOf(fmt.Sprintf("g%03d", i), "delete", []string{"user", "group"}[i%2], 5-i%2, 0, 0))
	}
	var want []MVPending
	for _, k := range keys {
		want = append(want, k.pending...)
	}
	want = append(want, gone...)
	slices.SortFunc(want, func(a, b MVPending) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.Key, b.Key), strings.Compare(a.Op, b.Op))
	})

	// reused copies p into the one buffer the sequence reuses, after the
	// buffer's first keep bytes (the rows of one object share it).
	var buf []byte
	reused := func(p MVPending, keep int) MVPending {
		buf = append(buf[:keep], p.Change...)
		p.Change = buf[keep:]
		return p
	}
	tests := []struct {
		name string
		full bool
		with bool // each object's pending exports come with it
	}{
		{"full, in Pending in export order", true, false},
		{"full, with their objects", true, true},
		{"delta, with their objects", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openTestStore(t)
			w := MVWrite{Full: tt.full}
			if !tt.full {
				for _, k := range keys {
					w.ObjectKeys = append(w.ObjectKeys, k.obj.Key)
				}
				w.PendingKeys = w.ObjectKeys
			}
			w.Objects = func(yield func(MVObject, error) bool) {
				var rows []MVPending
				for _, k := range keys {
					o := k.obj
					if tt.with {
						rows, buf = rows[:0], buf[:0]
						for _, p := range k.pending {
							rows = append(rows, reused(p, len(buf)))
						}
						o.Pending = rows
					}
					if !yield(o, nil) {
						return
					}
				}
			}
			w.Pending = func(yield func(MVPending, error) bool) {
				for _, p := range want {
					if (!tt.with || strings.HasPrefix(p.Key, "g")) && !yield(reused(p, 0), nil) {
						return
					}
				}
			}
			if err := st.SaveMetaverse(ctx, w); err != nil {
				t.Fatal(err)
			}
			got, err := st.PendingExports(ctx, PendingFilter{Limit: 10_000})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].ComputedAt = got[i].ComputedAt.UTC().Truncate(0)
				if got[i].ComputedAt.IsZero() {
					t.Fatalf("pending export %s has no time", got[i].Key)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d pending exports, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				g.ComputedAt = w.ComputedAt
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Fatalf("pending export %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
			tally, err := st.PendingTally(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantTally := map[PendingKind]int{}
			for _, p := range want {
				wantTally[PendingKind{p.Op, p.Kind}]++
			}
			if !maps.Equal(tally, wantTally) {
				t.Errorf("tally %v, want %v", tally, wantTally)
			}
			for _, k := range []key{keys[0], keys[1], keys[249]} {
				o, err := st.MetaverseObject(ctx, k.obj.Key)
				if err != nil {
					t.Fatal(err)
				}
				w := k.obj
				if fmt.Sprint(o.Attrs, o.Members, o.Sources, o.Kind, o.DisplayName, o.Source) !=
					fmt.Sprint(w.Attrs, w.Members, w.Sources, w.Kind, w.DisplayName, w.Source) {
					t.Errorf("object %s:\n got %+v\nwant %+v", k.obj.Key, o, k.obj)
				}
			}
		})
	}
}

func pendingOf(key, op, kind string, ord, attrs, members int) MVPending {
	return MVPending{Key: key, Op: op, Kind: kind, Source: "corp: CN=" + key, Order: ord, AttrCount: attrs, MemberCount: members,
		Change: []byte(`{"key":"` + key + `","kind":"` + kind + `","op":"` + op + `","source":"corp: CN=` + key + `"}`)}
}

// ordOf is metaverse.orderOf for an add or an update.
func ordOf(op, kind string) int {
	n := 0
	if op == "update" {
		n = 2
	}
	if kind == "group" {
		n++
	}
	return n
}

// A row that breaks a key fails the write (SQLite's INSERT OR FAIL keeps
// no statement journal) and leaves the store as it was: the transaction
// is rolled back whole.
func TestSaveMetaverseDuplicateFails(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	objects := func(keys ...string) func(yield func(MVObject, error) bool) {
		return func(yield func(MVObject, error) bool) {
			for _, k := range keys {
				if !yield(MVObject{Key: k, Kind: "user", Sources: []MVSource{{Connector: "corp", Anchor: k}}}, nil) {
					return
				}
			}
		}
	}
	if err := st.SaveMetaverse(ctx, MVWrite{Full: true, Objects: objects("k1", "k2")}); err != nil {
		t.Fatal(err)
	}
	many := make([]string, 0, 300)
	for i := range 300 {
		many = append(many, fmt.Sprintf("n%03d", i))
	}
	for _, keys := range [][]string{
		{"n1", "n2", "n1"},                       // within a statement of 3 rows
		append(slices.Clone(many[:99]), "n005"),  // within a full statement
		append(slices.Clone(many[:150]), "n010"), // of an earlier statement
		append(many, many[150]),                  // in the last statement, of 1 row
	} {
		if err := st.SaveMetaverse(ctx, MVWrite{Full: true, Objects: objects(keys...)}); err == nil {
			t.Fatalf("a write of %d rows with a duplicate succeeded", len(keys))
		}
		for _, k := range []string{"k1", "k2"} {
			if _, err := st.MetaverseObject(ctx, k); err != nil {
				t.Errorf("after a failed write, %s: %v", k, err)
			}
		}
		if _, err := st.MetaverseObject(ctx, "n001"); err == nil {
			t.Error("a failed write left rows")
		}
	}
}
